import { minimatch } from "minimatch";
import { describeRef } from "../src/core/fleet.js";
import type { Rule, RuleContext, RuleFinding } from "../src/core/types.js";
import { asRecord, insertUnderFix, replaceValueFix, valueAtPath } from "./lib/flux-graph.js";
import { findingOn, objectsToCheck, type LocatedObject } from "./lib/objects.js";

const DEFAULT_BRANCH = "flux-image-updates";

/** The branch a push refspec writes to: `HEAD:refs/heads/x` or `refs/heads/x` -> `x`. */
function refspecBranch(refspec: string): string {
  return refspec.slice(refspec.lastIndexOf(":") + 1).replace(/^\+/, "").replace(/^refs\/heads\//, "");
}

/** The branch the automation checks out: its own checkout ref, else the branch of the GitRepository it reads. */
function checkoutBranch(context: RuleContext, target: LocatedObject): string | undefined {
  const spec = asRecord(target.object.spec);
  const checkout = valueAtPath(spec, ["git", "checkout", "ref", "branch"]);
  if (typeof checkout === "string") return checkout;
  const sourceRef = asRecord(spec.sourceRef);
  const namespace = typeof sourceRef.namespace === "string" ? sourceRef.namespace : target.ref.namespace;
  const source = context.head
    .fluxObjectsOfKind("GitRepository")
    .find((doc) => doc.ref !== undefined && doc.ref.name === sourceRef.name && (doc.ref.namespace === undefined || doc.ref.namespace === namespace));
  const branch = source ? valueAtPath(source.object, ["spec", "ref", "branch"]) : undefined;
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
    const findings: RuleFinding[] = [];
    for (const target of objectsToCheck(context)) {
      if (target.ref.kind !== "ImageUpdateAutomation" || !target.ref.apiVersion.startsWith("image.toolkit.fluxcd.io/")) continue;
      const name = describeRef(target.ref);
      const spec = asRecord(target.object.spec);
      const push = asRecord(valueAtPath(spec, ["git", "push"]));
      const reconciled = checkoutBranch(context, target);
      const pushBranch = typeof push.branch === "string" ? push.branch : typeof push.refspec === "string" ? refspecBranch(push.refspec) : undefined;
      if (pushBranch === undefined) {
        const fix = target.doc && insertUnderFix(target.doc, ["spec", "git"], ["push:", `  branch: ${suggested}`], "Push image updates to a branch of their own");
        const where = valueAtPath(spec, ["git"]) === undefined ? ["spec"] : ["spec", "git"];
        findings.push(
          findingOn(target, where, `${name} sets no git.push branch, so it pushes to the branch it checks out${reconciled ? ` (${reconciled})` : ""}, which Flux reconciles: updates skip review. Push to ${suggested}.`, fix ? { fix } : {}),
        );
      } else if (pushBranch === reconciled) {
        const path = ["spec", "git", "push", typeof push.branch === "string" ? "branch" : "refspec"];
        const fix = target.doc && typeof push.branch === "string" ? replaceValueFix(target.doc, path, suggested, "Push image updates to a branch of their own") : undefined;
        findings.push(findingOn(target, path, `${name} pushes to ${pushBranch}, the branch Flux reconciles: updates skip review. Push to ${suggested}.`, fix ? { fix } : {}));
      } else if (!context.config.imageUpdates.branches.some((pattern) => minimatch(pushBranch, pattern))) {
        findings.push(
          findingOn(target, ["spec", "git", "push"], `${name} pushes to ${pushBranch}, which imageUpdates.branches in .github/fleet-warden.yml does not list: its pull requests are never auto-merged.`, {
            severity: "notice",
          }),
        );
      }
    }
    return findings;
  },
};
