import { describeRef } from "../src/core/fleet.js";
import type { Rule } from "../src/core/types.js";
import { findingOn } from "./lib/objects.js";
import { setSpecFieldFix, specValue, tenantDeployers } from "./lib/tenancy.js";

export const fluxTargetNamespace: Rule = {
  meta: {
    id: "flux-target-namespace",
    defaultSeverity: "error",
    summary: "A tenant's Flux Kustomization sets spec.targetNamespace (and a HelmRelease installs) into one of the tenant's namespaces.",
    rationale:
      "spec.targetNamespace forces every namespaced object a tenant ships into the tenant's namespace; without it the tenant's manifests choose their own namespace, and a mistake or a malicious commit lands in another team's namespace or in default.",
  },
  check(context) {
    return tenantDeployers(context).flatMap(({ target, tenant, isPatch }) => {
      const targetNamespace = specValue(target.object, "targetNamespace");
      if (tenant.namespaces.length === 0 || (isPatch && targetNamespace === undefined)) return [];
      // A HelmRelease without targetNamespace installs into its own namespace (unknown until a kustomization sets it);
      // a Kustomization leaves it to each manifest.
      const isHelmRelease = target.ref.kind === "HelmRelease";
      if (isHelmRelease && targetNamespace === undefined && target.ref.namespace === undefined) return [];
      const effective = targetNamespace ?? (isHelmRelease ? target.ref.namespace : undefined);
      if (typeof effective === "string" && tenant.namespaces.includes(effective)) return [];
      const allowed = tenant.namespaces.join(", ");
      const name = describeRef(target.ref);
      const replacement = target.ref.namespace && tenant.namespaces.includes(target.ref.namespace) ? target.ref.namespace : tenant.namespaces[0]!;
      const fix = setSpecFieldFix(target, "targetNamespace", replacement, `Deploy into the tenant's namespace ${replacement}`);
      const message =
        targetNamespace === undefined
          ? `${name} deploys for tenant ${tenant.name} without spec.targetNamespace: set it to one of the tenant's namespaces (${allowed}).`
          : `${name} deploys for tenant ${tenant.name} into namespace ${String(effective)}, outside the tenant's namespaces (${allowed}).`;
      return [findingOn(target, targetNamespace === undefined ? ["spec"] : ["spec", "targetNamespace"], message, fix ? { fix } : {})];
    });
  },
};
