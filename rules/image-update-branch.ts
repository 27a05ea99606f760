import { minimatch } from "minimatch";
import { asRecord, escapeRegExp, valueAt } from "../src/core/values.js";
import { describeRef } from "../src/core/fleet.js";
import type { Rule, RuleFinding } from "../src/core/types.js";
import { canonicalGitUrl } from "../src/core/flux.js";
import { changedFluxObjects, findingOnSpec, fluxGraph, insertUnderFix, prepareFluxGraph, replaceSpecValueFix, type ClusterObject, type FluxGraph } from "./lib/flux-graph.js";

const DEFAULT_BRANCH = "flux-image-updates";
/** The branch source-controller follows when a GitRepository's ref names none (fluxcd/pkg git.DefaultBranch). */
const GIT_DEFAULT_BRANCH = "master";
const FIX_DESCRIPTION = "Push image updates to a branch of their own";

const nonEmpty = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined);

/**
 * The branch (or `*` pattern) a push refspec `[+]<src>[:<dst>]` writes: `refs/heads/x` and `x` -> `x`, `HEAD` -> the
 * branch pushed; undefined for other refs (`refs/tags/…`, Gerrit's `refs/for/…`). Without `:`, git updates `<src>`.
 */
function refspecDestination(refspec: string, pushedBranch: string | undefined): string | undefined {
  const spec = refspec.trim().replace(/^\+/, "");
  const colon = spec.indexOf(":");
  const destination = colon === -1 ? spec : spec.slice(colon + 1);
  if (destination === "HEAD") return pushedBranch;
  if (destination.startsWith("refs/heads/")) return nonEmpty(destination.slice("refs/heads/".length));
  return destination.startsWith("refs/") ? undefined : nonEmpty(destination);
}

function matchesBranch(pattern: string, branch: string): boolean {
  return new RegExp(`^${pattern.split("*").map(escapeRegExp).join(".*")}$`).test(branch);
}

/**
 * The branch image-automation-controller checks out: `spec.git.checkout.ref.branch` when the automation has a
 * checkout, else the `ref.branch` of its GitRepository. It pushes there when `push.branch` is not set.
 */
function checkoutBranch(graph: FluxGraph, automation: ClusterObject): string | undefined {
  const checkout = valueAt(automation.spec, ["git", "checkout"]);
  const ref = checkout === undefined ? valueAt(graph.sourceOf(automation)?.spec, ["ref"]) : valueAt(checkout, ["ref"]);
  return nonEmpty(valueAt(ref, ["branch"]));
}

/** The branch a GitRepository follows (source-controller: commit > name > semver > tag > branch); none when pinned. */
function followedBranch(spec: Record<string, unknown>): string | undefined {
  const ref = asRecord(spec.ref);
  if (nonEmpty(ref.commit)) return undefined;
  const name = nonEmpty(ref.name);
  if (name) return name.startsWith("refs/heads/") ? nonEmpty(name.slice("refs/heads/".length)) : undefined;
  if (nonEmpty(ref.semver) || nonEmpty(ref.tag)) return undefined;
  return nonEmpty(ref.branch) ?? GIT_DEFAULT_BRANCH;
}

/**
 * The branches Flux deploys from the repository the automation pushes to: those that the fleet's GitRepositories
 * of that URL follow, in any cluster. When the automation's source is not in this repository (or has no URL),
 * every GitRepository's branch counts, and so does the branch the automation checks out.
 */
function reconciledBranches(graph: FluxGraph, automation: ClusterObject, checkout: string | undefined): Set<string> {
  const sourceUrl = nonEmpty(graph.sourceOf(automation)?.spec.url);
  const url = sourceUrl === undefined ? undefined : canonicalGitUrl(sourceUrl);
  const branches = new Set<string>();
  for (const object of graph.objects) {
    if (object.ref.kind !== "GitRepository" || !object.ref.apiVersion.startsWith("source.toolkit.fluxcd.io/")) continue;
    const objectUrl = nonEmpty(object.spec.url);
    if (url !== undefined && (objectUrl === undefined || canonicalGitUrl(objectUrl) !== url)) continue;
    const branch = followedBranch(object.spec);
    if (branch !== undefined) branches.add(branch);
  }
  if (url === undefined && checkout !== undefined) branches.add(checkout);
  return branches;
}

export const imageUpdateBranch: Rule = {
  meta: {
    id: "image-update-branch",
    defaultSeverity: "error",
    summary: "An ImageUpdateAutomation pushes to a branch of its own, never to the branch Flux reconciles.",
    rationale:
      "Pushing straight to the reconciled branch deploys every new image the policy admits with no pull request, no review and no check: a compromised or broken image reaches the cluster within one interval. On its own branch, fleet-warden reviews the update and only auto-merges tag bumps that pass.",
  },
  prepare: prepareFluxGraph,
  check(context) {
    const suggested = context.config.imageUpdates.branches.find((branch) => !/[*?[\]{}]/.test(branch)) ?? DEFAULT_BRANCH;
    const graph = fluxGraph(context.head);
    const findings: RuleFinding[] = [];
    for (const automation of changedFluxObjects(context)) {
      if (automation.ref.kind !== "ImageUpdateAutomation" || !automation.ref.apiVersion.startsWith("image.toolkit.fluxcd.io/")) continue;
      const name = describeRef(automation.ref);
      const push = asRecord(valueAt(automation.spec, ["git", "push"]));
      const checkout = checkoutBranch(graph, automation);
      const reconciled = reconciledBranches(graph, automation, checkout);
      const reconciledBy = (pattern: string | undefined) => (pattern === undefined ? undefined : [...reconciled].find((branch) => matchesBranch(pattern, branch)));
      const skipsReview = (branch: string) => `${branch}, the branch Flux reconciles: updates skip review. Push to ${suggested}.`;
      // The controller pushes to push.branch (else the branch it checks out), then, when set, with push.refspec too.
      const branch = nonEmpty(push.branch);
      const pushedBranch = branch ?? checkout;
      const refspec = nonEmpty(push.refspec);
      const refspecBranch = refspec === undefined ? undefined : reconciledBy(refspecDestination(refspec, pushedBranch));
      if (branch !== undefined && reconciled.has(branch)) {
        const fix = replaceSpecValueFix(automation, ["git", "push", "branch"], suggested, FIX_DESCRIPTION);
        findings.push(findingOnSpec(context, automation, ["git", "push", "branch"], `${name} pushes to ${skipsReview(branch)}`, fix ? { fix } : {}));
      } else if (branch === undefined && (checkout === undefined || (reconciled.has(checkout) && refspecBranch !== checkout))) {
        const fix = push.refspec === undefined ? insertUnderFix(automation.doc, ["spec", "git"], ["push:", `  branch: ${suggested}`], FIX_DESCRIPTION) : insertUnderFix(automation.doc, ["spec", "git", "push"], [`branch: ${suggested}`], FIX_DESCRIPTION);
        findings.push(
          findingOnSpec(
            context,
            automation,
            ["git", "push"],
            `${name} sets no git.push branch, so it pushes to the branch it checks out${checkout ? ` (${checkout})` : ""}${refspec ? ", besides its push.refspec" : ""}, which Flux reconciles: updates skip review. Push to ${suggested}.`,
            fix ? { fix } : {},
          ),
        );
      } else if (pushedBranch !== undefined && !reconciled.has(pushedBranch) && !context.config.imageUpdates.branches.some((pattern) => minimatch(pushedBranch, pattern))) {
        findings.push(
          findingOnSpec(context, automation, ["git", "push"], `${name} pushes to ${pushedBranch}, which imageUpdates.branches in .github/fleet-warden.yml does not list: its pull requests are never auto-merged.`, {
            severity: "notice",
          }),
        );
      }
      // One finding per branch: a refspec writing the branch already reported on push.branch adds nothing.
      if (refspecBranch !== undefined && refspecBranch !== branch) {
        findings.push(findingOnSpec(context, automation, ["git", "push", "refspec"], `${name} pushes to ${skipsReview(refspecBranch)}`));
      }
    }
    return findings;
  },
};
