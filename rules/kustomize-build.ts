import type { Rule } from "../src/core/types.js";
import { buildIssueFindings } from "../src/core/build/findings.js";

export const kustomizeBuild: Rule = {
  meta: {
    id: "kustomize-build",
    defaultSeverity: "error",
    summary: "Every affected kustomization builds as Flux's kustomize-controller would build it, without remote bases, Helm charts, plugins or paths outside the repository.",
    rationale:
      "A Kustomization that fails to build stops Flux from reconciling everything it manages, and a build that fetches remote bases, inflates charts or runs plugins pulls unreviewed code and manifests into the cluster.",
  },
  check(context) {
    return buildIssueFindings(context.builds, "kustomize-build");
  },
};
