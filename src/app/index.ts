// Thin webhook handlers: which pull request, what to do. Evaluation runs after the webhook is acknowledged.
import { availableParallelism } from "node:os";
import type { Context, Probot } from "probot";
import { CHECK_NAME, failureOutput, markHead } from "../github/checks.js";
import type { Octokit } from "../github/octokit.js";
import { openPullsHeadedBy } from "../github/pull-heads.js";
import { kustomizeIsolationWarning } from "../core/build/engine.js";
import { AutoMerger, type FollowUp } from "./auto-merge.js";
import { RecentDeliveries } from "./deliveries.js";
import { evaluatePullRequest, type EvaluationOutcome } from "./evaluate-pull-request.js";
import { DEFAULT_EVALUATION_MEMORY_MB, isolatedEvaluator, type Evaluator } from "./isolation.js";
import { SnapshotCache } from "../snapshot.js";
import { Scheduler } from "./scheduler.js";

export interface EvaluationJob {
  key: string;
  context: Context;
  pullNumber: number;
  /**
   * Heads for which a new check run was asked (GitHub's "Re-run", a new base): one is started, rather than a run
   * reused, only if the pull request's head is still one of them; a re-run of an older commit leaves the head's run.
   */
  freshFor: string[];
  /** Checks or statuses finished: only the auto-merge gate is looked at again, unless this head needs evaluating. */
  recheck?: boolean;
  /** Queued again after GitHub failed the auto-merge step: if it fails again, it is not queued again. */
  autoMergeRetry?: boolean;
}

export interface AppOptions {
  /** Every evaluation ends by then, with a clear failure if need be. */
  deadlineMs?: number;
  /** Called after every evaluation (auto-merge hooks in here). */
  afterEvaluation?: (outcome: EvaluationOutcome, job: EvaluationJob) => Promise<void>;
  /** Receives the scheduler, so that tests and shutdown can wait for in-flight work. */
  onScheduler?: (scheduler: Scheduler<EvaluationJob>) => void;
  /** Aborted when shutdown outlasts its grace period: evaluations still running fail their check runs and end. */
  signal?: AbortSignal;
  /** Snapshots shared by the evaluations (default: SNAPSHOT_CACHE_MB of memory, 256 MiB; 0 turns it off). */
  snapshots?: SnapshotCache;
  /** Runs the evaluation proper (default: a worker thread per evaluation, EVALUATION_MEMORY_MB of heap, 1024). */
  evaluator?: Evaluator;
  /** Calls `retry` after `delayMs` (default: an unref'd timer); tests call it themselves. */
  deferRetry?: (retry: () => void, delayMs: number) => void;
}

const DEFAULT_DEADLINE_MS = 5 * 60 * 1000;
/** After GitHub failed the auto-merge gate or the lookup of an event's pull requests (plugin-retry's retries spent), it is tried again once, this much later. */
export const AUTO_MERGE_RETRY_MS = 60 * 1000;
const DEFAULT_SNAPSHOT_CACHE_MIB = 256;
/** Evaluations running at once across pull requests (EVALUATION_CONCURRENCY); each runs its builds in parallel too. */
const DEFAULT_CONCURRENCY = Math.max(2, availableParallelism());

const PULL_REQUEST_EVENTS = ["pull_request.opened", "pull_request.synchronize", "pull_request.reopened", "pull_request.ready_for_review"] as const;
const REVIEW_EVENTS = ["pull_request_review.submitted", "pull_request_review.dismissed", "pull_request_review.edited"] as const;

interface ScheduleOptions {
  freshFor?: string[];
  recheck?: boolean;
  /** Found by a lookup whose webhook was answered before shutdown began: still taken while draining. */
  admitted?: boolean;
}

export function createApp(options: AppOptions = {}) {
  return (app: Probot): void => {
    const setting = (name: string, fallback: number) => positiveSetting(name, fallback, (message) => app.log.warn(message));
    const deadlineMs = options.deadlineMs ?? setting("EVALUATION_DEADLINE_MS", DEFAULT_DEADLINE_MS);
    const appId = process.env.APP_ID ? Number(process.env.APP_ID) : undefined;
    const autoMerger = new AutoMerger(appId);
    const cacheMiB = Number(process.env.SNAPSHOT_CACHE_MB ?? DEFAULT_SNAPSHOT_CACHE_MIB);
    const snapshots = options.snapshots ?? (cacheMiB > 0 ? new SnapshotCache(cacheMiB * 1024 * 1024) : undefined);
    const concurrency = setting("EVALUATION_CONCURRENCY", DEFAULT_CONCURRENCY);
    const evaluator = options.evaluator ?? isolatedEvaluator({ memoryMb: setting("EVALUATION_MEMORY_MB", DEFAULT_EVALUATION_MEMORY_MB), poolSize: concurrency });
    if (!options.evaluator && [...process.execArgv, process.env.NODE_OPTIONS ?? ""].some((arg) => arg.includes("--max-old-space-size"))) {
      app.log.warn("EVALUATION_MEMORY_MB has no effect: --max-old-space-size is set for the process, and Node gives every worker thread that heap limit instead");
    }
    const unwalled = options.evaluator ? undefined : kustomizeIsolationWarning();
    if (unwalled) app.log.warn(unwalled);

    const scheduler = new Scheduler<EvaluationJob>({
      async run(job) {
        const repo = job.context.repo();
        const log = job.context.log.child({ delivery: job.context.id, event: job.context.name, repository: `${repo.owner}/${repo.repo}`, pull: job.pullNumber });
        const octokit = job.context.octokit as Octokit;
        const autoMerge = (step: () => Promise<FollowUp>) => autoMergeStep(job, log, step);
        if (job.recheck && (await autoMerge(() => autoMerger.recheck(octokit, repo, job.key, job.pullNumber))) === "none") return;
        const outcome = await evaluatePullRequest({
          octokit,
          repo,
          pullNumber: job.pullNumber,
          log,
          freshFor: job.freshFor,
          deadlineMs,
          evaluator,
          ...(appId ? { appId } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
          ...(snapshots ? { snapshots } : {}),
        });
        const followUp = await autoMerge(() => autoMerger.afterEvaluation(octokit, repo, job.key, outcome));
        await options.afterEvaluation?.(outcome, job);
        // The head moved under the merge (409): the new head is evaluated, never merged blindly.
        if (followUp === "evaluate") schedule(job.context, job.pullNumber);
      },
      // The newest event's installation token is used; a pending "Re-run" still gets its new check run, and a
      // pending evaluation is never reduced to a recheck.
      merge: (newer, pending) => ({
        ...newer,
        freshFor: [...new Set([...pending.freshFor, ...newer.freshFor])],
        recheck: Boolean(newer.recheck && pending.recheck),
        autoMergeRetry: Boolean(newer.autoMergeRetry && pending.autoMergeRetry),
      }),
      onError: (error, job) => app.log.error({ err: error, delivery: job.context.id, pull: job.pullNumber }, "evaluation crashed"),
      concurrency,
      ...(options.signal ? { signal: options.signal } : {}),
      // Shutdown past its grace period: what has not started yet is not evaluated. The webhook was answered, so
      // GitHub sends nothing again: a head without a run of ours gets one completed run saying so, with its Re-run.
      onDropped: async (job) => {
        const repo = job.context.repo();
        const log = app.log.child({ delivery: job.context.id, repository: `${repo.owner}/${repo.repo}`, pull: job.pullNumber });
        log.warn("shutdown: evaluation dropped before it started");
        if (job.recheck) return;
        try {
          const { data: pull } = await job.context.octokit.rest.pulls.get({ ...repo, pull_number: job.pullNumber });
          if (pull.state !== "open") return;
          const detail = "fleet-warden was stopped before it could evaluate this commit. Re-run the check to evaluate it.";
          if (await markHead(job.context.octokit, repo, pull.head.sha, failureOutput("Evaluation interrupted", detail), appId)) log.info({ sha: pull.head.sha }, "shutdown: head marked not evaluated");
        } catch (error) {
          log.warn({ err: error }, "shutdown: the dropped head could not be marked");
        }
      },
    });
    options.onScheduler?.(scheduler);

    // No event may come again for a head whose checks are all done: when GitHub fails the auto-merge step (the gate's
    // reads, the pull request's state), one recheck is queued a while later; a second failure waits for the next event.
    const deferRetry = options.deferRetry ?? ((retry: () => void, delayMs: number) => void setTimeout(retry, delayMs).unref());
    const autoMergeStep = async (job: EvaluationJob, log: Context["log"], step: () => Promise<FollowUp>): Promise<FollowUp> => {
      try {
        return await step();
      } catch (error) {
        if (job.autoMergeRetry) {
          log.error({ err: error }, "auto-merge failed again; the next check, status or review event tries again");
          return "none";
        }
        log.warn({ err: error }, `auto-merge failed; tried again in ${AUTO_MERGE_RETRY_MS / 1000} s`);
        const retry: EvaluationJob = { key: job.key, context: job.context, pullNumber: job.pullNumber, freshFor: [], recheck: true, autoMergeRetry: true };
        deferRetry(() => {
          if (!scheduler.schedule(retry)) log.warn("auto-merge retry dropped: fleet-warden is shutting down");
        }, AUTO_MERGE_RETRY_MS);
        return "none";
      }
    };

    const deliveries = new RecentDeliveries<Context>();
    const firstDelivery = (context: Context, pullNumber?: number) => {
      if (deliveries.take(context.id, context)) return true;
      context.log.info({ delivery: context.id, ...(pullNumber === undefined ? {} : { pull: pullNumber }) }, "webhook delivered again; already handled");
      return false;
    };
    const schedule = (context: Context, pullNumber: number, { freshFor = [], recheck = false, admitted = false }: ScheduleOptions = {}) => {
      const repo = context.repo();
      if (!firstDelivery(context, pullNumber)) return;
      // Shutting down: the webhook is answered 503, so that GitHub shows it undelivered and it can be redelivered.
      if (!scheduler.schedule({ key: `${repo.owner}/${repo.repo}#${pullNumber}`, context, pullNumber, freshFor, recheck }, admitted)) throw new ShuttingDown();
    };

    // Which pull requests an event concerns can take GitHub's answer (a status names none; a fork's re-run lists
    // none): that question is asked after the webhook is answered, as evaluations are, so that neither a GitHub
    // failure nor a rate-limit wait fails or outlasts the delivery. A failed lookup is asked once more a minute later.
    const scheduleFound = (context: Context, find: () => Promise<number[]>, options: ScheduleOptions, retried = false): void => {
      if (!firstDelivery(context)) return;
      const lookup = async () => {
        for (const pullNumber of await find()) schedule(context, pullNumber, { ...options, admitted: true });
      };
      const failed = (error: unknown) => {
        if (error instanceof ShuttingDown) context.log.warn({ delivery: context.id }, "event dropped: fleet-warden is shutting down");
        else if (retried) context.log.error({ err: error, delivery: context.id }, "could not find the pull requests of this event, again; the next event tries again");
        else {
          context.log.warn({ err: error, delivery: context.id }, `could not find the pull requests of this event; asked again in ${AUTO_MERGE_RETRY_MS / 1000} s`);
          deferRetry(() => {
            try {
              scheduleFound(context, find, options, true);
            } catch (shutdown) {
              failed(shutdown);
            }
          }, AUTO_MERGE_RETRY_MS);
        }
      };
      if (!scheduler.track(lookup, failed)) throw new ShuttingDown();
    };

    const isOurs = (checkApp: { id: number | null } | null | undefined) => appId === undefined || checkApp?.id === appId;

    app.on([...PULL_REQUEST_EVENTS], async (context) => schedule(context, context.payload.pull_request.number));

    // Retargeted: the verdict depends on the base's policy, so the head is judged again, in a run of its own.
    app.on("pull_request.edited", async (context) => {
      const pull = context.payload.pull_request;
      if (context.payload.changes.base) schedule(context, pull.number, { freshFor: [pull.head.sha] });
    });

    // An approval can turn the check green without a push: reviews re-evaluate the same head. A comment review
    // (ours included: fleet-warden only comments) decides nothing.
    const ownLogin = ownBotLogin(app);
    app.on([...REVIEW_EVENTS], async (context) => {
      const { review, pull_request: pull } = context.payload;
      if (review.state === "commented") return;
      if (review.user?.type !== "Bot") return schedule(context, pull.number);
      scheduleFound(context, async () => (review.user!.login === (await ownLogin()) ? [] : [pull.number]), {});
    });

    // GitHub's "Re-run" asks for a new check run on `sha`, of each pull request headed by it.
    const rerun = (context: Context<"check_run" | "check_suite">, sha: string, listed: Array<{ number: number }>) => {
      if (listed.length === 0) return scheduleFound(context, async () => (await openPullsHeadedBy(context.octokit as Octokit, context.repo(), sha)).map((pull) => pull.number), { freshFor: [sha] });
      for (const pull of listed) schedule(context, pull.number, { freshFor: [sha] });
    };

    app.on("check_run.rerequested", async (context) => {
      const run = context.payload.check_run;
      if (run.name === CHECK_NAME && isOurs(run.app)) rerun(context, run.head_sha, run.pull_requests);
    });

    app.on("check_suite.rerequested", async (context) => {
      const suite = context.payload.check_suite;
      if (isOurs(suite.app)) rerun(context, suite.head_sha, suite.pull_requests);
    });

    // Auto-merge waits for every other check and status on the head: each one that finishes rechecks the gate.
    app.on("check_suite.completed", async (context) => {
      const suite = context.payload.check_suite;
      if (appId !== undefined && suite.app?.id === appId) return;
      for (const pull of suite.pull_requests) schedule(context, pull.number, { recheck: true });
    });

    app.on("check_run.completed", async (context) => {
      const run = context.payload.check_run;
      if (run.name === CHECK_NAME && (appId === undefined || run.app?.id === appId)) return;
      for (const pull of run.pull_requests) schedule(context, pull.number, { recheck: true });
    });

    // A status names no pull request: the ones waiting on its sha are remembered, or (after a restart) looked up.
    app.on("status", async (context) => {
      if (context.payload.state === "pending") return;
      scheduleFound(context, () => autoMerger.waitingOn(context.octokit as Octokit, context.repo(), context.payload.sha), { recheck: true });
    });
  };
}

/** Answered 503: GitHub shows the delivery failed, and it can be redelivered once fleet-warden runs again. */
class ShuttingDown extends Error {
  readonly status = 503;
  constructor() {
    super("fleet-warden is shutting down");
  }
}

/**
 * Our App's bot login (`<slug>[bot]`), asked of GitHub (`GET /app`) the first time a bot's review needs telling
 * apart; a failed question is asked again next time, and meanwhile no review counts as ours.
 */
function ownBotLogin(app: Probot): () => Promise<string | undefined> {
  let login: string | undefined;
  return async () => {
    if (login) return login;
    try {
      const { data } = await (await app.auth()).rest.apps.getAuthenticated();
      login = data?.slug ? `${data.slug}[bot]` : undefined;
    } catch (error) {
      app.log.warn({ err: error }, "could not learn the App's own login (GET /app)");
    }
    return login;
  };
}

/** A positive number from the environment, or the default (with a warning when the value set is not one). */
export function positiveSetting(name: string, fallback: number, warn: (message: string) => void, env: NodeJS.ProcessEnv = process.env): number {
  const text = env[name];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (Number.isFinite(value) && value > 0) return value;
  warn(`${name}=${JSON.stringify(text)} is not a positive number; using ${fallback}`);
  return fallback;
}
