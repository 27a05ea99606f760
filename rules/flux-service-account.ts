import { describeRef } from "../src/core/fleet.js";
import type { Rule } from "../src/core/types.js";
import { findingOn } from "./lib/objects.js";
import { setSpecFieldFix, specValue, tenantDeployers } from "./lib/tenancy.js";

export const fluxServiceAccount: Rule = {
  meta: {
    id: "flux-service-account",
    defaultSeverity: "error",
    summary: "A tenant's Flux Kustomization or HelmRelease impersonates the tenant's service account.",
    rationale:
      "Without spec.serviceAccountName, kustomize-controller and helm-controller apply a tenant's manifests with their own cluster-admin account (or the --default-service-account fallback), so a tenant could create anything anywhere in the cluster.",
  },
  check(context) {
    return tenantDeployers(context).flatMap(({ target, tenant, isPatch }) => {
      const account = specValue(target.object, "serviceAccountName");
      const expected = tenant.serviceAccount;
      // Without a known account there is nothing to enforce; a patch without the field leaves it as it was.
      if (expected === undefined || account === expected || (isPatch && account === undefined)) return [];
      const name = describeRef(target.ref);
      const fix = setSpecFieldFix(target, "serviceAccountName", expected, `Impersonate the tenant's service account ${expected}`);
      const message =
        account === undefined
          ? `${name} deploys for tenant ${tenant.name} without spec.serviceAccountName: Flux would apply it with the controller's own account (or the --default-service-account) instead of ${expected}.`
          : `${name} deploys for tenant ${tenant.name} as service account ${String(account)}, not the tenant's account ${expected}.`;
      return [findingOn(target, account === undefined ? ["spec"] : ["spec", "serviceAccountName"], message, fix ? { fix } : {})];
    });
  },
};
