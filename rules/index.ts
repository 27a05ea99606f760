// The rule catalogue. One module per rule; ids are stable (see docs/rules/<id>.md).
import type { Rule } from "../src/core/types.js";
import { containerResources } from "./container-resources.js";
import { controllerLockdown } from "./controller-lockdown.js";
import { deprecatedApi } from "./deprecated-api.js";
import { fluxCrossNamespaceRef } from "./flux-cross-namespace-ref.js";
import { fluxServiceAccount } from "./flux-service-account.js";
import { fluxTargetNamespace } from "./flux-target-namespace.js";
import { imageTagPinned } from "./image-tag-pinned.js";
import { podHostNamespaces } from "./pod-host-namespaces.js";
import { podPrivilegeEscalation } from "./pod-privilege-escalation.js";
import { podPrivileged } from "./pod-privileged.js";
import { rbacClusterAdmin } from "./rbac-cluster-admin.js";
import { tenantClusterScoped } from "./tenant-cluster-scoped.js";
import { tenantNamespace } from "./tenant-namespace.js";
import { tenantOwnership } from "./tenant-ownership.js";
import { yamlSyntax } from "./yaml-syntax.js";
import { clusterEntrypoints } from "./cluster-entrypoints.js";
import { fluxDependsOn } from "./flux-depends-on.js";
import { fluxSourceExists } from "./flux-source-exists.js";
import { fluxPrune } from "./flux-prune.js";
import { fluxPathExists } from "./flux-path-exists.js";
import { fluxInterval } from "./flux-interval.js";
import { fluxForce } from "./flux-force.js";
import { secretPlaintext } from "./secret-plaintext.js";
import { sopsDecryption } from "./sops-decryption.js";
import { imageUpdateBranch } from "./image-update-branch.js";
import { imagePolicyMajor } from "./image-policy-major.js";
import { imageSetterMarker } from "./image-setter-marker.js";
import { kustomizeBuild } from "./kustomize-build.js";
import { postbuildVariables } from "./postbuild-variables.js";
import { schema } from "./schema.js";

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
  podPrivileged,
  podHostNamespaces,
  podPrivilegeEscalation,
  containerResources,
  imageTagPinned,
  deprecatedApi,
  clusterEntrypoints,
  fluxDependsOn,
  fluxSourceExists,
  fluxPrune,
  fluxPathExists,
  fluxInterval,
  fluxForce,
  secretPlaintext,
  sopsDecryption,
  imageUpdateBranch,
  imagePolicyMajor,
  imageSetterMarker,
  kustomizeBuild,
  postbuildVariables,
  schema,
  // (rules are added here, one import and one entry per rule)
];

export function ruleById(id: string): Rule | undefined {
  return rules.find((rule) => rule.meta.id === id);
}
