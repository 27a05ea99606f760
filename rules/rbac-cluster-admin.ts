import { describeRef } from "../src/core/fleet.js";
import type { Rule } from "../src/core/types.js";
import { findingOn } from "./lib/objects.js";
import { replaceValueFix } from "./lib/flux-graph.js";
import { tenantObjects } from "./lib/tenancy.js";

const BINDINGS = new Set(["RoleBinding", "ClusterRoleBinding"]);

export const rbacClusterAdmin: Rule = {
  meta: {
    id: "rbac-cluster-admin",
    defaultSeverity: "error",
    summary: "No RoleBinding or ClusterRoleBinding to the cluster-admin ClusterRole outside platform territory.",
    rationale:
      "cluster-admin is every permission on every resource: bound cluster-wide it hands a tenant the whole cluster; bound in a namespace it still lets the subject rewrite that namespace's RBAC, quotas and policies. Only the platform team decides who holds it.",
  },
  check(context) {
    return tenantObjects(context).flatMap(({ target, tenant }) => {
      if (!BINDINGS.has(target.ref.kind) || !target.ref.apiVersion.startsWith("rbac.authorization.k8s.io/")) return [];
      const roleRef = (target.object.roleRef ?? {}) as Record<string, unknown>;
      if (roleRef.kind !== "ClusterRole" || roleRef.name !== "cluster-admin") return [];
      // In a RoleBinding, the built-in `admin` role is the namespaced equivalent; a ClusterRoleBinding needs rethinking, not a one-line change.
      const fix =
        target.ref.kind === "RoleBinding" && target.doc ? replaceValueFix(target.doc, ["roleRef", "name"], "admin", "Bind the namespaced admin ClusterRole instead") : undefined;
      const message = `${describeRef(target.ref)} binds cluster-admin in tenant ${tenant.name}'s territory: only the platform team may grant cluster-admin.`;
      return [findingOn(target, ["roleRef", "name"], message, fix ? { fix } : {})];
    });
  },
};
