import { describeRef } from "../src/core/fleet.js";
import type { Rule } from "../src/core/types.js";
import { findingOn } from "./lib/objects.js";
import { replaceValueFix } from "./lib/flux-graph.js";
import { isClusterScoped, tenantObjects } from "./lib/tenancy.js";

export const tenantNamespace: Rule = {
  meta: {
    id: "tenant-namespace",
    defaultSeverity: "error",
    summary: "Objects rendered from tenant territory stay in the tenant's namespaces.",
    rationale:
      "An object placed in another namespace reaches into another team's (or the platform's) space: a Deployment in kube-system, a Secret or ConfigMap that overrides another team's, a NetworkPolicy that opens another namespace.",
  },
  check(context) {
    return tenantObjects(context).flatMap(({ target, tenant }) => {
      const namespace = target.ref.namespace;
      // No namespace: the Kustomization's targetNamespace decides, which flux-target-namespace judges.
      if (isClusterScoped(target.ref, context.head) || !namespace || tenant.namespaces.length === 0 || tenant.namespaces.includes(namespace)) return [];
      const only = tenant.namespaces.length === 1 ? tenant.namespaces[0]! : undefined;
      // Only a namespace written in the object's own file can be fixed there (a kustomization's `namespace:` may have set it).
      const fix =
        only && target.doc?.ref?.namespace === namespace ? replaceValueFix(target.doc, ["metadata", "namespace"], only, `Move it into the tenant's namespace ${only}`) : undefined;
      const message = `${describeRef(target.ref)} is in namespace ${namespace}, outside tenant ${tenant.name}'s namespaces (${tenant.namespaces.join(", ")}).`;
      return [findingOn(target, ["metadata", "namespace"], message, fix ? { fix } : {})];
    });
  },
};
