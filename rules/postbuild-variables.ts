import type { Rule } from "../src/core/types.js";
import { buildIssueFindings } from "../src/core/build/findings.js";

export const postbuildVariables: Rule = {
  meta: {
    id: "postbuild-variables",
    defaultSeverity: "error",
    summary: "postBuild variable substitution succeeds as in Flux: no syntax Flux rejects, no variable left undefined.",
    rationale:
      "Flux fails the whole Kustomization on a substitution it cannot parse, and silently replaces an undefined ${var} with an empty string, which ships a blank image tag, host name or replica count.",
  },
  check(context) {
    return buildIssueFindings(context.builds, "postbuild-variables");
  },
};
