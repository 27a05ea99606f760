import { minimatch } from "minimatch";
import { asRecord, valueAt } from "../src/core/values.js";
import { describeRef } from "../src/core/fleet.js";
import type { Rule, RuleFinding } from "../src/core/types.js";
import { changedFluxObjects, findingOnSpec, fluxGraph, insertUnderFix, replaceSpecValueFix, type ClusterObject, type FluxGraph } from "./lib/flux-graph.js";

const DEFAULT_BRANCH = "flux-image-updates";
const FIX_DESCRIPTION = "Push image updates to a branch of their own";

/** The branch a push refspec writes to: `HEAD:refs/heads/x` or `refs/heads/x` -> `x`. */
function refspecBranch(refspec: string): string {
  return refspec.slice(refspec.lastIndexOf(":") + 1).replace(/^\+/, "").replace(/^refs\/heads\//, "");
}

/** The branch the automation checks out: its own checkout ref, else the branch of the GitRepository it reads. */
function checkoutBranch(graph: FluxGraph, automation: ClusterObject): string | undefined {
  const checkout = valueAt(automation.spec, ["git", "checkout", "ref", "branch"]);
  if (typeof checkout === "string") return checkout;
  const branch = valueAt(graph.sourceOf(automation)?.spec, ["ref", "branch"]);
  return typeof branch === "string" ? branch : undefined;
}

export const imageUpdateBranch: Rule = {
  meta: {
    id: "image-update-branch",
    defaultSeverity: "error",
    summary: "An ImageUpdateAutomation pushes to a branch of its own, never to the branch Flux reconciles.",
    rationale:
      "Pushing straight to the reconciled branch deploys every new image the policy admits with no pull request, no review and no check: a compromised or broken image reaches the cluster within one interval. On its own branch, fleet-warden reviews the update and only auto-merges tag bumps that pass.",
  },
  check(context) {
    const suggested = context.config.imageUpdates.branches.find((branch) => !/[*?[\]{}]/.test(branch)) ?? DEFAULT_BRANCH;
    const graph = fluxGraph(context.head);
    const findings: RuleFinding[] = [];
    for (const automation of changedFluxObjects(context)) {
      if (automation.ref.kind !== "ImageUpdateAutomation" || !automation.ref.apiVersion.startsWith("image.toolkit.fluxcd.io/")) continue;
      const name = describeRef(automation.ref);
      const push = asRecord(valueAt(automation.spec, ["git", "push"]));
      const reconciled = checkoutBranch(graph, automation);
      const pushBranch = typeof push.branch === "string" ? push.branch : typeof push.refspec === "string" ? refspecBranch(push.refspec) : undefined;
      if (pushBranch === undefined) {
        const fix = insertUnderFix(automation.doc, ["spec", "git"], ["push:", `  branch: ${suggested}`], FIX_DESCRIPTION);
        findings.push(
          findingOnSpec(
            context,
            automation,
            ["git", "push"],
            `${name} sets no git.push branch, so it pushes to the branch it checks out${reconciled ? ` (${reconciled})` : ""}, which Flux reconciles: updates skip review. Push to ${suggested}.`,
            fix ? { fix } : {},
          ),
        );
      } else if (pushBranch === reconciled) {
        const field = typeof push.branch === "string" ? "branch" : "refspec";
        const fix = field === "branch" ? replaceSpecValueFix(automation, ["git", "push", "branch"], suggested, FIX_DESCRIPTION) : undefined;
        findings.push(findingOnSpec(context, automation, ["git", "push", field], `${name} pushes to ${pushBranch}, the branch Flux reconciles: updates skip review. Push to ${suggested}.`, fix ? { fix } : {}));
      } else if (!context.config.imageUpdates.branches.some((pattern) => minimatch(pushBranch, pattern))) {
        findings.push(
          findingOnSpec(context, automation, ["git", "push"], `${name} pushes to ${pushBranch}, which imageUpdates.branches in .github/fleet-warden.yml does not list: its pull requests are never auto-merged.`, {
            severity: "notice",
          }),
        );
      }
    }
    return findings;
  },
};
