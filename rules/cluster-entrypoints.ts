import { apiGroup, describeRef } from "../src/core/fleet.js";
import { FLUX_SYSTEM } from "../src/core/flux.js";
import type { Rule, RuleFinding } from "../src/core/types.js";
import { locatedDocument } from "./lib/flux-graph.js";
import { findingOn } from "./lib/objects.js";

/** `clusters/<name>/…` outside `clusters/<name>/flux-system/`: the cluster's entrypoint files. */
const ENTRYPOINT_FILE = new RegExp(`^clusters/[^/]+/(?!${FLUX_SYSTEM}/).+`);

/** Flux's own APIs (toolkit and extensions, e.g. ArtifactGenerator) and kustomize's configuration files. */
function pointsElsewhere(apiVersion: string): boolean {
  const group = apiGroup(apiVersion);
  return group.endsWith(".fluxcd.io") || group === "kustomize.config.k8s.io";
}

export const clusterEntrypoints: Rule = {
  meta: {
    id: "cluster-entrypoints",
    defaultSeverity: "warning",
    summary: "Files under clusters/<name>/ (outside flux-system/) hold only Flux objects that point elsewhere, never workloads or RBAC.",
    rationale:
      "The cluster folder is the fleet's table of contents: every object it holds is applied by the cluster's root Kustomization with Flux's own permissions, outside the layers, dependencies and tenant impersonation that infrastructure/ and tenants/ get. A Deployment or RoleBinding placed there escapes those checks and is easy to miss in review.",
  },
  check(context) {
    const findings: RuleFinding[] = [];
    for (const doc of context.changedDocuments) {
      if (!doc.ref || !ENTRYPOINT_FILE.test(doc.path) || pointsElsewhere(doc.ref.apiVersion)) continue;
      const cluster = doc.path.split("/")[1];
      findings.push(
        findingOn(
          locatedDocument(context, doc, doc.ref),
          ["kind"],
          `${describeRef(doc.ref)} is applied directly from the entrypoint of cluster ${cluster}; move it under infrastructure/ or the tenant's folder and point a Flux Kustomization at it.`,
        ),
      );
    }
    return findings;
  },
};
