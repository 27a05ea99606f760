// The rule catalogue. One module per rule; ids are stable (see docs/rules/<id>.md).
import type { Rule } from "../src/core/types.js";
import { controllerLockdown } from "./controller-lockdown.js";
import { fluxCrossNamespaceRef } from "./flux-cross-namespace-ref.js";
import { fluxServiceAccount } from "./flux-service-account.js";
import { fluxTargetNamespace } from "./flux-target-namespace.js";
import { rbacClusterAdmin } from "./rbac-cluster-admin.js";
import { tenantClusterScoped } from "./tenant-cluster-scoped.js";
import { tenantNamespace } from "./tenant-namespace.js";
import { tenantOwnership } from "./tenant-ownership.js";
import { yamlSyntax } from "./yaml-syntax.js";

export const rules: readonly Rule[] = [
  yamlSyntax,
  tenantOwnership,
  fluxServiceAccount,
  fluxTargetNamespace,
  fluxCrossNamespaceRef,
  tenantClusterScoped,
  tenantNamespace,
  rbacClusterAdmin,
  controllerLockdown,
  // (rules are added here, one import and one entry per rule)
];

export function ruleById(id: string): Rule | undefined {
  return rules.find((rule) => rule.meta.id === id);
}
