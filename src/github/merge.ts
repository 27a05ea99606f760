// The auto-merge gate and the merge call: every other check and status on the head sha green, then one
// merge pinned to that sha. Never retried blindly: 405/409 wait for the next event, any other failure is final.
import type { Verdict } from "../core/types.js";
import { renderSummary, SUMMARY_LIMIT } from "../report/summary.js";
import { CHECK_NAME } from "./checks.js";
import { statusOf, type Octokit, type RepoRef } from "./octokit.js";

const GREEN_CONCLUSIONS = new Set(["success", "neutral", "skipped"]);

export type GateResult =
  /** Everything is green; `ownRunId` is our check run on the sha, for the summary. */
  | { state: "ready"; ownRunId: number }
  /** Something has not finished yet (named); the next check or status event tries again. */
  | { state: "waiting"; pending: string[]; ownRunId?: number }
  /** Something finished red (named): no merge until a new evaluation. */
  | { state: "blocked"; failed: string[]; ownRunId?: number };

/** Our own check passed on `sha`, and every other check run and commit status on it completed successfully. */
export async function mergeGate(octokit: Octokit, repo: RepoRef, sha: string, appId?: number): Promise<GateResult> {
  const [runs, combined] = await Promise.all([
    octokit.paginate(octokit.rest.checks.listForRef, { ...repo, ref: sha, filter: "latest", per_page: 100 }),
    octokit.rest.repos.getCombinedStatusForRef({ ...repo, ref: sha, per_page: 100 }),
  ]);
  const pending: string[] = [];
  const failed: string[] = [];
  let ownRunId: number | undefined;
  for (const run of runs) {
    const ours = run.name === CHECK_NAME && (appId === undefined || run.app?.id === appId);
    if (ours) ownRunId = run.id;
    const label = ours ? `${CHECK_NAME} (this check)` : `check run \`${run.name}\``;
    // fleet-warden's own check must have passed outright; other checks may also be neutral or skipped.
    const green = ours ? run.conclusion === "success" : GREEN_CONCLUSIONS.has(run.conclusion ?? "");
    if (run.status !== "completed") pending.push(label);
    else if (!green) failed.push(`${label}: ${run.conclusion ?? "no conclusion"}`);
  }
  for (const status of combined.data.statuses) {
    if (status.state === "pending") pending.push(`status \`${status.context}\``);
    else if (status.state !== "success") failed.push(`status \`${status.context}\`: ${status.state}`);
  }
  if (ownRunId === undefined) pending.push(`${CHECK_NAME} (this check): no run yet`);
  const own = ownRunId !== undefined ? { ownRunId } : {};
  if (failed.length > 0) return { state: "blocked", failed, ...own };
  if (pending.length > 0 || ownRunId === undefined) return { state: "waiting", pending, ...own };
  return { state: "ready", ownRunId };
}

export type MergeMethod = "merge" | "squash" | "rebase";

export type MergeResult =
  | { state: "merged"; sha: string }
  /** 405 (not mergeable now) or 409 (the head moved): evaluate again later, never retry blindly. */
  | { state: "refused"; status: 405 | 409; message: string }
  /** Anything else (5xx, 403 …): reported once, not retried. */
  | { state: "failed"; status?: number; message: string };

/** One merge, pinned to the evaluated head sha so that a later push can never ride along. */
export async function mergePullRequest(octokit: Octokit, repo: RepoRef, pullNumber: number, sha: string, method: MergeMethod): Promise<MergeResult> {
  try {
    const { data } = await octokit.rest.pulls.merge({
      ...repo,
      pull_number: pullNumber,
      sha,
      merge_method: method,
      // plugin-retry would repeat a 405/409 for about 14 s, and a 5xx too: one attempt, the caller decides.
      request: { retries: 0 },
    });
    return data.merged ? { state: "merged", sha: data.sha } : { state: "failed", status: 200, message: data.message };
  } catch (error) {
    const status = statusOf(error);
    const message = (error as { message?: string }).message ?? String(error);
    if (status === 405 || status === 409) return { state: "refused", status, message };
    return { state: "failed", ...(status !== undefined ? { status } : {}), message };
  }
}

/** Rewrites the summary of our completed check run (title and text only: annotations stay as they are). */
export async function updateCheckSummary(octokit: Octokit, repo: RepoRef, checkRunId: number, verdict: Verdict): Promise<void> {
  await octokit.rest.checks.update({
    ...repo,
    check_run_id: checkRunId,
    output: { title: verdict.title, summary: renderSummary(verdict, SUMMARY_LIMIT) },
  });
}
