// One evaluation of one pull request: check run in progress, facts, verdict, head confirmed, results written.
import type { Logger } from "probot";
import { evaluate } from "../core/evaluate.js";
import type { Verdict } from "../core/types.js";
import { errorMessage } from "../core/yaml.js";
import { reviewComments } from "../report/review.js";
import { completeCheckRun, failCheckRun, startCheckRun, supersedeCheckRun, type CheckRunRef } from "../github/checks.js";
import { gatherFacts, NotEvaluable, pullRequestInfo, type PullRequestInfo } from "../github/facts.js";
import type { Octokit, RepoRef } from "../github/octokit.js";
import { syncReview } from "../github/review.js";

export interface EvaluationRequest {
  octokit: Octokit;
  repo: RepoRef;
  pullNumber: number;
  log: Logger;
  /** Start a new check run even if one is in progress for the sha (GitHub's "Re-run"). */
  fresh?: boolean;
  /** Our GitHub App id: only our own check runs are ever reused. */
  appId?: number;
  deadlineMs: number;
}

export type EvaluationOutcome =
  | { status: "closed" }
  | { status: "superseded"; headSha: string }
  | { status: "failed"; headSha: string; reason: string }
  | { status: "completed"; headSha: string; verdict: Verdict; pull: PullRequestInfo };

export class DeadlineExceeded extends Error {}

export async function evaluatePullRequest(request: EvaluationRequest): Promise<EvaluationOutcome> {
  const { octokit, repo, pullNumber, log } = request;
  const started = Date.now();
  const pull = await currentPull(octokit, repo, pullNumber);
  if (!pull) return { status: "closed" };
  const run = await startCheckRun(octokit, repo, pull.headSha, { ...(request.fresh ? { fresh: true } : {}), ...(request.appId ? { appId: request.appId } : {}) });
  const logFields = { pull: pullNumber, sha: pull.headSha, checkRun: run.id };

  let verdict: Verdict;
  let changedFiles;
  try {
    const result = await withDeadline(
      (async () => {
        const gathered = await gatherFacts(octokit, repo, pull);
        try {
          return { verdict: await evaluate(gathered.facts), changedFiles: gathered.facts.changedFiles };
        } finally {
          await gathered.dispose();
        }
      })(),
      request.deadlineMs,
    );
    verdict = result.verdict;
    changedFiles = result.changedFiles;
  } catch (error) {
    const reason = failureReason(error, request.deadlineMs);
    log.warn({ ...logFields, err: error }, `evaluation failed: ${reason.detail}`);
    await failCheckRun(octokit, repo, run, reason.title, reason.detail);
    return { status: "failed", headSha: pull.headSha, reason: reason.detail };
  }

  // A result for a superseded sha is dropped, never posted on the new one.
  const latest = await currentPull(octokit, repo, pullNumber);
  if (!latest || latest.headSha !== pull.headSha) {
    await supersedeCheckRun(octokit, repo, run, latest?.headSha ?? "(closed)");
    log.info(logFields, "head moved during evaluation; result dropped");
    return { status: "superseded", headSha: pull.headSha };
  }

  await writeResults(request, run, verdict, changedFiles);
  log.info({ ...logFields, conclusion: verdict.conclusion, findings: verdict.findings.length, durationMs: Date.now() - started }, "evaluation completed");
  return { status: "completed", headSha: pull.headSha, verdict, pull: latest };
}

async function writeResults(request: EvaluationRequest, run: CheckRunRef, verdict: Verdict, changedFiles: Parameters<typeof reviewComments>[1]) {
  const { octokit, repo, pullNumber } = request;
  try {
    await completeCheckRun(octokit, repo, run, verdict);
  } catch (error) {
    // Whatever went wrong with the full report, the run must not stay in progress.
    await failCheckRun(octokit, repo, run, "Could not write the report", `GitHub refused the report: ${errorMessage(error)}`);
    throw error;
  }
  const botLogin = run.appSlug ? `${run.appSlug}[bot]` : undefined;
  await syncReview(octokit, repo, pullNumber, run.headSha, reviewComments(verdict, changedFiles), botLogin);
}

async function currentPull(octokit: Octokit, repo: RepoRef, pullNumber: number): Promise<PullRequestInfo | undefined> {
  const { data } = await octokit.rest.pulls.get({ ...repo, pull_number: pullNumber });
  return data.state === "open" ? pullRequestInfo(data) : undefined;
}

function failureReason(error: unknown, deadlineMs: number): { title: string; detail: string } {
  if (error instanceof NotEvaluable) return { title: "Pull request too large to evaluate", detail: error.message };
  if (error instanceof DeadlineExceeded) {
    return { title: "Evaluation timed out", detail: `The evaluation did not finish within ${Math.round(deadlineMs / 1000)} s and was stopped. Re-run the check; if it keeps timing out, the change is too large to evaluate in one go.` };
  }
  const status = (error as { status?: number }).status;
  const detail = status ? `GitHub answered ${status}: ${errorMessage(error)}` : errorMessage(error);
  return { title: "Evaluation failed", detail: `${detail}\n\nRe-run the check to try again.` };
}

export function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceeded(`deadline of ${ms} ms exceeded`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
