import { describeRef } from "../src/core/fleet.js";
import type { Rule } from "../src/core/types.js";
import { findingOn } from "./lib/objects.js";
import { isClusterScoped, tenantObjects } from "./lib/tenancy.js";

export const tenantClusterScoped: Rule = {
  meta: {
    id: "tenant-cluster-scoped",
    defaultSeverity: "error",
    summary: "Tenant territory renders no cluster-scoped objects (Namespace, ClusterRole, ClusterRoleBinding, CRD, webhook configuration, …).",
    rationale:
      "A cluster-scoped object is not confined to the tenant's namespaces: a ClusterRoleBinding grants rights everywhere, a webhook configuration sees every other tenant's requests, a CRD or StorageClass changes the cluster for all. Only the platform team may create them.",
  },
  check(context) {
    return tenantObjects(context).flatMap(({ target, tenant }) => {
      if (!isClusterScoped(target.ref, context.head)) return [];
      // Named without a namespace: kustomize gives kinds it does not know the build's namespace, which a cluster-scoped object has not.
      const name = describeRef({ ...target.ref, namespace: undefined });
      return [findingOn(target, ["kind"], `${name} is cluster-scoped: tenant ${tenant.name} may only create objects in its own namespaces; ask the platform team to add it under platform territory.`)];
    });
  },
};
