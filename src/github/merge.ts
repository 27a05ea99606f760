// The auto-merge gate and the merge call: every other check and status on the head sha green, then one
// merge pinned to that sha. Never retried blindly: 405/409 wait for the next event, any other failure is final.
import { minimatch } from "minimatch";
import { CONFIG_PATH, parseConfig } from "../core/config.js";
import type { Verdict } from "../core/types.js";
import { renderSummary, SUMMARY_LIMIT } from "../report/summary.js";
import { CHECK_NAME } from "./checks.js";
import { fileAt } from "./contents.js";
import { statusOf, type Octokit, type RepoRef } from "./octokit.js";
import { openPullsHeadedBy } from "./pull-heads.js";

const GREEN_CONCLUSIONS = new Set(["success", "neutral", "skipped"]);

export type GateResult =
  /** Everything is green; `ownRunId` is our check run on the sha, for the summary. */
  | { state: "ready"; ownRunId: number }
  /** Something has not finished yet (named); the next check or status event tries again. */
  | { state: "waiting"; pending: string[]; ownRunId?: number }
  /** Something finished red (named): no merge until a new evaluation. */
  | { state: "blocked"; failed: string[]; ownRunId?: number };

/**
 * Our own check passed on `sha`, every other check run and commit status on it completed successfully, and no
 * other app's check suite that has check runs is still running (it creates more: a workflow's later jobs). A suite
 * with no check run is not waited for: GitHub creates one for every app with checks:write, and an app that never
 * runs on the commit leaves it queued for ever. A completed suite that failed blocks, with or without check runs.
 * CI that has not started yet is only held off by branch protection.
 */
export async function mergeGate(octokit: Octokit, repo: RepoRef, sha: string, appId?: number): Promise<GateResult> {
  const [runs, combined, suites] = await Promise.all([
    octokit.paginate(octokit.rest.checks.listForRef, { ...repo, ref: sha, filter: "latest", per_page: 100 }),
    octokit.rest.repos.getCombinedStatusForRef({ ...repo, ref: sha, per_page: 100 }),
    octokit.paginate(octokit.rest.checks.listSuitesForRef, { ...repo, ref: sha, per_page: 100 }),
  ]);
  const pending: string[] = [];
  const failed: string[] = [];
  const suitesWithPendingRuns = new Set<number>();
  let ownRunId: number | undefined;
  for (const run of runs) {
    const ours = run.name === CHECK_NAME && (appId === undefined || run.app?.id === appId);
    if (ours) ownRunId = run.id;
    const label = ours ? `${CHECK_NAME} (this check)` : `check run \`${run.name}\``;
    // fleet-warden's own check must have passed outright; other checks may also be neutral or skipped.
    const green = ours ? run.conclusion === "success" : GREEN_CONCLUSIONS.has(run.conclusion ?? "");
    if (run.status !== "completed") {
      pending.push(label);
      if (run.check_suite) suitesWithPendingRuns.add(run.check_suite.id);
    } else if (!green) failed.push(`${label}: ${run.conclusion ?? "no conclusion"}`);
  }
  for (const suite of suites) {
    if (appId !== undefined && suite.app?.id === appId) continue;
    const running = suite.status !== "completed" && suite.latest_check_runs_count > 0 && !suitesWithPendingRuns.has(suite.id);
    if (running) pending.push(`check suite of \`${suite.app?.slug ?? "an app"}\` (more check runs to come)`);
    // A suite can fail with no check run at all (an Actions workflow file that does not parse): that is a red check too.
    // `stale` is GitHub's mark on a suite nothing completed for 14 days, not a result.
    else if (suite.status === "completed" && !GREEN_CONCLUSIONS.has(suite.conclusion ?? "") && suite.conclusion !== "stale")
      failed.push(`check suite of \`${suite.app?.slug ?? "an app"}\`: ${suite.conclusion ?? "no conclusion"}`);
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

/**
 * The open pull requests `sha` heads that may be image updates: from a branch of this repository that matches
 * imageUpdates.branches of the config at their base (the evaluation decides the rest). For a commit status, which
 * names no pull request, when no evaluation of this process remembers one (a restart, or forgotten).
 */
export async function imageUpdatePullsHeadedBy(octokit: Octokit, repo: RepoRef, sha: string): Promise<number[]> {
  const found: number[] = [];
  for (const pull of await openPullsHeadedBy(octokit, repo, sha)) {
    if (pull.fromFork) continue;
    // A broken config judges with the defaults (and fails the check): good enough to pick what to evaluate.
    const { config } = parseConfig(await fileAt(octokit, repo, pull.baseSha, CONFIG_PATH));
    if (config.imageUpdates.branches.some((pattern) => minimatch(pull.headBranch, pattern))) found.push(pull.number);
  }
  return found;
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
