// One evaluation of one pull request: check run in progress, facts, verdict, head confirmed, results written.
// Whatever happens, the check run ends completed (or, when GitHub fails every write, an error is logged), and one
// log line says what happened and what it cost.
import type { Logger } from "probot";
import type { ChangedFile, Verdict } from "../core/types.js";
import { errorMessage } from "../core/yaml.js";
import { reviewComments, type ReviewComment } from "../report/review.js";
import { cancelCheckRun, failureOutput, markHead, openCheckRun, publishCheckRun, verdictOutput, type CheckOutput, type CheckRunRef, type CheckRunSlot, type PublishedRun } from "../github/checks.js";
import { gatherFacts, NotEvaluable, pullRequestInfo, type PullRequestInfo } from "../github/facts.js";
import { countingCalls, limitWaitInProgress, statusOf, withOneMoreRound, type CallCounter, type Octokit, type RepoRef } from "../github/octokit.js";
import { MAX_REVIEW_SUGGESTIONS, syncReview } from "../github/review.js";
import type { SnapshotCache } from "../snapshot.js";
import { OutOfMemory, type Evaluator } from "./isolation.js";

export interface EvaluationRequest {
  octokit: Octokit;
  repo: RepoRef;
  pullNumber: number;
  log: Logger;
  /**
   * Heads for which a new check run was asked (GitHub's "Re-run", a new base): one is started, rather than a run in
   * progress reused, when the head is one of them; a re-run of an older commit leaves the head's run.
   */
  freshFor?: readonly string[];
  /** Our GitHub App id: only our own check runs are ever reused. */
  appId?: number;
  deadlineMs: number;
  /** Aborted when the process stops past its grace period: the evaluation ends with a failed check run. */
  signal?: AbortSignal;
  /** Snapshots this process already read, reused by sha. */
  snapshots?: SnapshotCache;
  evaluator: Evaluator;
}

export type EvaluationOutcome =
  | { status: "closed" }
  | { status: "superseded"; headSha: string }
  /**
   * `unwritten`: no check run of ours shows this failure (without a head sha: the pull request itself could not be
   * read), so the next event on the pull request evaluates it again.
   */
  | { status: "failed"; headSha?: string; reason: string; unwritten?: true }
  | { status: "completed"; headSha: string; verdict: Verdict; pull: PullRequestInfo };

export class DeadlineExceeded extends Error {}

/** GitHub took the whole deadline to find or open the check run: nothing was evaluated. */
class RunOpenedTooLate extends DeadlineExceeded {}

/** The process is shutting down and could not finish the evaluation in its grace period. */
export class Interrupted extends Error {}

export function evaluatePullRequest(request: EvaluationRequest): Promise<EvaluationOutcome> {
  const started = Date.now();
  return countingCalls(request.octokit, async (counter) => {
    const outcome = await evaluateCounted(request, counter).catch((error: unknown) => {
      request.log.error({ err: error, outcome: "crashed", durationMs: Date.now() - started, githubCalls: counter.calls }, "evaluation crashed");
      throw error;
    });
    const fields = { outcome: outcome.status, ...("headSha" in outcome ? { sha: outcome.headSha } : {}), durationMs: Date.now() - started, githubCalls: counter.calls };
    if (outcome.status === "completed") {
      request.log.info({ ...fields, conclusion: outcome.verdict.conclusion, findings: outcome.verdict.findings.length }, "evaluation completed");
    } else if (outcome.status === "failed") {
      // A head left without a run shows nothing on GitHub: the log is where it is seen.
      request.log[outcome.unwritten ? "error" : "warn"]({ ...fields, reason: outcome.reason }, "evaluation failed");
    } else {
      request.log.info(fields, outcome.status === "closed" ? "pull request closed; nothing to evaluate" : "head moved during evaluation; result dropped");
    }
    return outcome;
  });
}

async function evaluateCounted(request: EvaluationRequest, counter: CallCounter): Promise<EvaluationOutcome> {
  const { octokit, repo, pullNumber, log } = request;
  // The deadline runs from the first request. Past it (or the shutdown) the evaluator is stopped and the requests
  // and downloads abandoned; an in-process evaluator may still finish in the background, and its result is dropped.
  const endsAt = Date.now() + request.deadlineMs;
  const stop = new AbortController();
  let pull: PullRequestInfo | undefined;
  try {
    // Abandoned at the deadline, not at the shutdown: an evaluation interrupted later still fails its run.
    pull = await withDeadline(currentPull(octokit, repo, pullNumber, stop.signal), request.deadlineMs);
  } catch (error) {
    stop.abort();
    return unread(request, error);
  }
  if (!pull) return { status: "closed" };
  // Stopped past the grace period before a run was opened: one completed run says so, in a single write.
  if (request.signal?.aborted) return interruptedBeforeRun(request, pull);

  let slot: CheckRunSlot | undefined;
  let result: { verdict: Verdict; changedFiles: ChangedFile[] };
  try {
    // Never abandoned: a run created after the evaluation gave up on it would stay in progress. Its time counts.
    slot = await openCheckRun(octokit, repo, pull.headSha, { ...(request.freshFor?.includes(pull.headSha) ? { fresh: true } : {}), ...(request.appId ? { appId: request.appId } : {}) });
    if (Date.now() >= endsAt) {
      const late = new RunOpenedTooLate("deadline exceeded while the check run was opened");
      // Nothing was evaluated: a sha that shows an earlier evaluation's result keeps it.
      if (slot.state === "evaluated") return { status: "failed", headSha: pull.headSha, reason: `its earlier result stands: ${failureReason(late, request.deadlineMs).detail}`, unwritten: true };
      throw late;
    }
    result = await withDeadline(
      (async () => {
        // The evaluator gets ready (a worker loads) while the facts are gathered.
        const gathered = gatherFacts(octokit, repo, pull, request.snapshots, stop.signal);
        const facts = gathered.then((ready) => ready.facts);
        facts.catch(() => undefined);
        try {
          return { verdict: await request.evaluator(facts, stop.signal), changedFiles: (await facts).changedFiles };
        } finally {
          await gathered.then((ready) => ready.dispose(), () => undefined);
        }
      })(),
      endsAt - Date.now(),
      request.signal,
    );
  } catch (error) {
    return endWithoutResult(request, pull, slot, error, counter);
  } finally {
    stop.abort();
  }

  // A result for a superseded sha is dropped, never posted on the new one. The confirmation gets one more round:
  // failing here would throw away a finished evaluation.
  let latest: PullRequestInfo | undefined;
  try {
    latest = await withOneMoreRound(() => currentPull(octokit, repo, pullNumber));
  } catch (error) {
    return endWithoutResult(request, pull, slot, error, counter);
  }
  // Retargeted meanwhile: another branch's policy judges it now (that evaluation is queued), never this verdict.
  if (!latest || latest.headSha !== pull.headSha || latest.baseBranch !== pull.baseBranch) {
    await cancelOrLog(request, slot, headMoved(pull, latest));
    return { status: "superseded", headSha: pull.headSha };
  }

  let report: Report;
  try {
    report = reportOf(result, log, pull.headSha);
  } catch (error) {
    // A defect in rendering the report: the run still completes, with the cause.
    return endWithoutResult(request, pull, slot, error, counter);
  }
  const { suggestions, output } = report;
  let published: PublishedRun | undefined;
  try {
    published = await publishCheckRun(octokit, repo, slot, output);
  } catch (error) {
    return runNotCompleted(request, pull, slot.run, error);
  }
  if (published?.fallback) {
    log.warn({ sha: pull.headSha, checkRun: published.run.id }, `check run shows a failure instead of the report: ${published.fallback}`);
    return { status: "failed", headSha: pull.headSha, reason: published.fallback };
  }

  // The check run stands whatever happens to the review; what follows (auto-merge) goes on too.
  const appSlug = published?.run.appSlug ?? slot.run.appSlug;
  try {
    const review = await syncReview(octokit, repo, pullNumber, pull.headSha, suggestions, appSlug ? `${appSlug}[bot]` : undefined, {
      // A review never lands on a superseded sha: the head is confirmed again right before the first write.
      stillCurrent: async () => (await withOneMoreRound(() => currentPull(octokit, repo, pullNumber)))?.headSha === pull.headSha,
    });
    if (review.withheld) log.warn({ sha: pull.headSha }, `review suggestions not written: ${review.withheld}`);
  } catch (error) {
    log.error({ err: error, sha: pull.headSha }, "review suggestions could not be synced; the check run stands");
  }
  return { status: "completed", headSha: pull.headSha, verdict: result.verdict, pull: latest };
}

interface Report {
  suggestions: ReviewComment[];
  output: CheckOutput;
}

function reportOf(result: { verdict: Verdict; changedFiles: ChangedFile[] }, log: Logger, headSha: string): Report {
  const suggestions = reviewComments(result.verdict, result.changedFiles);
  // syncReview keeps at most this many standing, those already posted first.
  const posted = Math.min(suggestions.length, MAX_REVIEW_SUGGESTIONS);
  const leftOut = suggestions.length - posted;
  if (leftOut > 0) log.info({ sha: headSha, suggestions: suggestions.length, posted }, "review suggestions capped");
  const note = leftOut > 0 ? `**Review suggestions:** ${posted} of ${suggestions.length} are posted as review comments; the other ${leftOut} are posted once these are dealt with.` : "";
  return { suggestions, output: verdictOutput(result.verdict, note) };
}

/** The pull request could not be read (GitHub failed, or took the whole deadline): there is no sha to write a run on. */
function unread(request: EvaluationRequest, error: unknown): EvaluationOutcome {
  const cause = error instanceof DeadlineExceeded ? `GitHub did not answer within the deadline (${seconds(request.deadlineMs)} s)` : failureDetail(error);
  return { status: "failed", reason: `the pull request could not be read, so no check run was written: ${cause}`, unwritten: true };
}

async function interruptedBeforeRun(request: EvaluationRequest, pull: PullRequestInfo): Promise<EvaluationOutcome> {
  const reason = failureReason(new Interrupted("fleet-warden was stopped before it could evaluate this commit."), request.deadlineMs);
  const marked = await markHead(request.octokit, request.repo, pull.headSha, failureOutput(reason.title, reason.detail), request.appId).catch(() => false);
  return { status: "failed", headSha: pull.headSha, reason: reason.detail, ...(marked ? {} : { unwritten: true as const }) };
}

/**
 * The evaluation failed. If the head moved meanwhile (a force-push makes the old sha 404) that is moot: the run is
 * cancelled quietly. Otherwise the run completes with a failure that says what went wrong.
 */
async function endWithoutResult(request: EvaluationRequest, pull: PullRequestInfo, slot: CheckRunSlot | undefined, error: unknown, counter: CallCounter): Promise<EvaluationOutcome> {
  const { octokit, repo, pullNumber, log } = request;
  // Taken first: the calls below can wait on the same rate limit, and their own waits would replace this one.
  const limitWait = limitWaitInProgress(counter);
  const latest = await currentPull(octokit, repo, pullNumber).then(
    (current) => ({ known: true as const, current }),
    () => ({ known: false as const }),
  );
  if (latest.known && latest.current?.headSha !== pull.headSha) {
    log.debug({ err: error, sha: pull.headSha }, "evaluation of a superseded head ended early");
    if (slot) await cancelOrLog(request, slot, headMoved(pull, latest.current));
    return { status: "superseded", headSha: pull.headSha };
  }
  // No run could be found or started (GitHub failed there): one more try, so that the head shows the failure, unless
  // GitHub failed the read just now too (a new run would wait as long, and fail as surely).
  const target = slot ?? (latest.known ? await openCheckRun(octokit, repo, pull.headSha, { fresh: true }).catch(() => undefined) : undefined);
  if (!target) return { status: "failed", headSha: pull.headSha, reason: `no check run could be written: ${failureDetail(error)}`, unwritten: true };
  const reason = failureReason(error, request.deadlineMs, limitWait);
  log.warn({ err: error, sha: pull.headSha, checkRun: target.run.id }, `evaluation failed: ${reason.title}`);
  try {
    await publishCheckRun(octokit, repo, target, failureOutput(reason.title, reason.detail));
  } catch (writeError) {
    return runNotCompleted(request, pull, target.run, writeError);
  }
  return { status: "failed", headSha: pull.headSha, reason: reason.detail };
}

async function cancelOrLog(request: EvaluationRequest, slot: CheckRunSlot, reason: string): Promise<void> {
  await cancelCheckRun(request.octokit, request.repo, slot, reason).catch((error: unknown) => {
    request.log.error({ err: error, sha: slot.run.headSha, checkRun: slot.run.id }, "check run left in progress: GitHub failed every attempt to cancel it");
  });
}

/** GitHub failed every write, the plain failure's included: all that is left is to say so, loudly. */
function runNotCompleted(request: EvaluationRequest, pull: PullRequestInfo, run: CheckRunRef, error: unknown): EvaluationOutcome {
  request.log.error({ err: error, sha: pull.headSha, checkRun: run.id }, "check run not completed: GitHub failed every attempt to write it, the plain failure's included");
  return { status: "failed", headSha: pull.headSha, reason: `the check run could not be completed: ${errorMessage(error)}` };
}

function headMoved(pull: PullRequestInfo, latest: PullRequestInfo | undefined): string {
  if (latest && latest.headSha === pull.headSha) return `The pull request was retargeted to ${latest.baseBranch} while this commit was being evaluated against ${pull.baseBranch}.`;
  return `The pull request ${latest ? `moved to ${latest.headSha}` : "was closed"} while this commit was being evaluated.`;
}

async function currentPull(octokit: Octokit, repo: RepoRef, pullNumber: number, signal?: AbortSignal): Promise<PullRequestInfo | undefined> {
  const { data } = await octokit.rest.pulls.get({ ...repo, pull_number: pullNumber, ...(signal ? { request: { signal } } : {}) });
  return data.state === "open" ? pullRequestInfo(data) : undefined;
}

function failureReason(error: unknown, deadlineMs: number, limitWait?: CallCounter["limitWait"]): { title: string; detail: string } {
  if (error instanceof NotEvaluable) return { title: "Pull request too large to evaluate", detail: error.message };
  if (error instanceof RunOpenedTooLate) {
    return {
      title: "Evaluation timed out on GitHub",
      detail: `GitHub took the whole deadline (${seconds(deadlineMs)} s) to find or open this check run, so nothing was evaluated. The change itself is not the cause: re-run the check.`,
    };
  }
  if (error instanceof DeadlineExceeded && limitWait) {
    const left = Math.ceil((limitWait.untilMs - Date.now()) / 1000);
    return {
      title: "Evaluation timed out on GitHub's rate limit",
      detail: `The evaluation did not finish within ${seconds(deadlineMs)} s: it was waiting for GitHub's rate limit on \`${limitWait.request}\`, which asked for ${left} s more. The change itself is not the cause: re-run the check once the limit has passed.`,
    };
  }
  if (error instanceof DeadlineExceeded) {
    return {
      title: "Evaluation timed out",
      detail: `The evaluation did not finish within ${seconds(deadlineMs)} s and was stopped. Re-run the check; if it keeps timing out, the change is too large to evaluate in one go.`,
    };
  }
  if (error instanceof OutOfMemory) return { title: "Evaluation ran out of memory", detail: `${error.message} The change is too large to evaluate in one go, or an input swells in memory; split it, or raise EVALUATION_MEMORY_MB.` };
  if (error instanceof Interrupted) return { title: "Evaluation interrupted", detail: `${error.message} Re-run the check to evaluate this commit.` };
  const status = statusOf(error);
  const detail = failureDetail(error);
  // A rate limit that asked for more than fleet-warden waits: an immediate re-run would only meet it again.
  const retryAfter = Number((error as { response?: { headers?: Record<string, unknown> } }).response?.headers?.["retry-after"]);
  const when = (status === 403 || status === 429) && retryAfter > 0 ? `GitHub's rate limit asks to wait ${Math.ceil(retryAfter / 60)} min: re-run the check after that.` : "Re-run the check to try again.";
  return { title: "Evaluation failed", detail: `${detail}\n\n${when}` };
}

const seconds = (ms: number) => Math.round(ms / 1000);

function failureDetail(error: unknown): string {
  const status = statusOf(error);
  return status ? `GitHub answered ${status}: ${errorMessage(error)}` : `${error instanceof Error ? `${error.name}: ` : ""}${errorMessage(error)}`;
}

/** `work`, or a DeadlineExceeded after `ms`, or the signal's Interrupted, whichever comes first. */
export function withDeadline<T>(work: Promise<T>, ms: number, signal?: AbortSignal): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceeded(`deadline of ${ms} ms exceeded`)), ms);
    onAbort = () => reject(signal?.reason instanceof Error ? signal.reason : new Interrupted("fleet-warden was stopped."));
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });
  });
  return Promise.race([work, stop]).finally(() => {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener("abort", onAbort);
  });
}
