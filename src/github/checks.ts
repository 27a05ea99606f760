// The check run: one per head sha, created early (in progress), completed once with the verdict.
import type { Verdict } from "../core/types.js";
import { annotationsFor, type CheckAnnotation } from "../report/annotations.js";
import { renderSummary, SUMMARY_LIMIT, truncate } from "../report/summary.js";
import type { Octokit, RepoRef } from "./octokit.js";

export const CHECK_NAME = "fleet-warden";
/** GitHub accepts at most 50 annotations per create or update call. */
export const ANNOTATION_BATCH = 50;

export interface CheckRunRef {
  id: number;
  headSha: string;
  /** Our own app's slug, as GitHub reports it on the run: `<slug>[bot]` is the login our comments carry. */
  appSlug?: string;
}

/**
 * Starts the check run for `headSha`. An unfinished run of ours for the same sha is reused (a redelivered
 * webhook, or a review event racing a push) so that there is never a second one; `fresh` forces a new run,
 * as GitHub expects on "Re-run".
 */
export async function startCheckRun(octokit: Octokit, repo: RepoRef, headSha: string, options: { fresh?: boolean; appId?: number } = {}): Promise<CheckRunRef> {
  if (!options.fresh) {
    const { data } = await octokit.rest.checks.listForRef({ ...repo, ref: headSha, check_name: CHECK_NAME, filter: "latest", per_page: 100 });
    const ours = data.check_runs.find((run) => run.head_sha === headSha && run.status !== "completed" && (options.appId === undefined || run.app?.id === options.appId));
    if (ours) return { id: ours.id, headSha, ...(ours.app?.slug ? { appSlug: ours.app.slug } : {}) };
  }
  const { data } = await octokit.rest.checks.create({
    ...repo,
    name: CHECK_NAME,
    head_sha: headSha,
    status: "in_progress",
    started_at: new Date().toISOString(),
    output: { title: "Evaluating", summary: "fleet-warden is evaluating this pull request." },
  });
  return { id: data.id, headSha, ...(data.app?.slug ? { appSlug: data.app.slug } : {}) };
}

/** Completes the run with the verdict; annotations go 50 per call, the last call carries the conclusion. */
export async function completeCheckRun(octokit: Octokit, repo: RepoRef, run: CheckRunRef, verdict: Verdict, extraSummary = ""): Promise<void> {
  const summary = truncate([renderSummary(verdict, SUMMARY_LIMIT), extraSummary].filter(Boolean).join("\n\n"), SUMMARY_LIMIT);
  await writeOutput(octokit, repo, run, { conclusion: verdict.conclusion, title: verdict.title, summary, annotations: annotationsFor(verdict) });
}

/** Completes the run with a failure that says what went wrong: a run never stays in progress. */
export async function failCheckRun(octokit: Octokit, repo: RepoRef, run: CheckRunRef, title: string, detail: string): Promise<void> {
  await writeOutput(octokit, repo, run, {
    conclusion: "failure",
    title: title.slice(0, 255),
    summary: truncate(`❌ **fleet-warden could not evaluate this pull request.**\n\n${detail}`, SUMMARY_LIMIT),
    annotations: [],
  });
}

/** Closes a run whose sha is no longer the pull request's head: its result is dropped, not posted. */
export async function supersedeCheckRun(octokit: Octokit, repo: RepoRef, run: CheckRunRef, newSha: string): Promise<void> {
  await writeOutput(octokit, repo, run, {
    conclusion: "cancelled",
    title: "Superseded",
    summary: `The pull request moved to ${newSha} while this commit was being evaluated; the newer commit is evaluated instead.`,
    annotations: [],
  });
}

async function writeOutput(
  octokit: Octokit,
  repo: RepoRef,
  run: CheckRunRef,
  output: { conclusion: "success" | "failure" | "neutral" | "cancelled"; title: string; summary: string; annotations: CheckAnnotation[] },
): Promise<void> {
  const batches: CheckAnnotation[][] = [];
  for (let i = 0; i < output.annotations.length; i += ANNOTATION_BATCH) batches.push(output.annotations.slice(i, i + ANNOTATION_BATCH));
  const head = batches.slice(0, -1);
  const last = batches.at(-1) ?? [];
  const base = { ...repo, check_run_id: run.id };
  for (const annotations of head) {
    await octokit.rest.checks.update({ ...base, output: { title: output.title, summary: output.summary, annotations } });
  }
  await octokit.rest.checks.update({
    ...base,
    status: "completed",
    conclusion: output.conclusion,
    completed_at: new Date().toISOString(),
    output: { title: output.title, summary: output.summary, ...(last.length > 0 ? { annotations: last } : {}) },
  });
}
