// Thin webhook handlers: which pull request, what to do. Evaluation runs after the webhook is acknowledged.
import type { Context, Probot } from "probot";
import { CHECK_NAME } from "../github/checks.js";
import type { Octokit } from "../github/octokit.js";
import { evaluatePullRequest, type EvaluationOutcome } from "./evaluate-pull-request.js";
import { Scheduler } from "./scheduler.js";

export interface EvaluationJob {
  key: string;
  context: Context;
  pullNumber: number;
  /** Start a new check run (GitHub's "Re-run") rather than reuse one in progress. */
  fresh: boolean;
}

export interface AppOptions {
  /** Every evaluation ends by then, with a clear failure if need be. */
  deadlineMs?: number;
  /** Called after every evaluation (auto-merge hooks in here). */
  afterEvaluation?: (outcome: EvaluationOutcome, job: EvaluationJob) => Promise<void>;
  /** Receives the scheduler, so that tests and shutdown can wait for in-flight work. */
  onScheduler?: (scheduler: Scheduler<EvaluationJob>) => void;
}

const DEFAULT_DEADLINE_MS = 5 * 60 * 1000;

const PULL_REQUEST_EVENTS = ["pull_request.opened", "pull_request.synchronize", "pull_request.reopened", "pull_request.ready_for_review"] as const;
const REVIEW_EVENTS = ["pull_request_review.submitted", "pull_request_review.dismissed", "pull_request_review.edited"] as const;

export function createApp(options: AppOptions = {}) {
  return (app: Probot): void => {
    const deadlineMs = options.deadlineMs ?? Number(process.env.EVALUATION_DEADLINE_MS ?? DEFAULT_DEADLINE_MS);
    const appId = process.env.APP_ID ? Number(process.env.APP_ID) : undefined;

    const scheduler = new Scheduler<EvaluationJob>({
      async run(job) {
        const repo = job.context.repo();
        const log = job.context.log.child({ delivery: job.context.id, event: job.context.name, repository: `${repo.owner}/${repo.repo}`, pull: job.pullNumber });
        const outcome = await evaluatePullRequest({
          octokit: job.context.octokit as Octokit,
          repo,
          pullNumber: job.pullNumber,
          log,
          fresh: job.fresh,
          deadlineMs,
          ...(appId ? { appId } : {}),
        });
        await options.afterEvaluation?.(outcome, job);
      },
      // The newest event's installation token is used; a pending "Re-run" still gets its new check run.
      merge: (newer, pending) => ({ ...newer, fresh: newer.fresh || pending.fresh }),
      onError: (error, job) => app.log.error({ err: error, delivery: job.context.id, pull: job.pullNumber }, "evaluation crashed"),
    });
    options.onScheduler?.(scheduler);

    const schedule = (context: Context, pullNumber: number, fresh = false) => {
      const repo = context.repo();
      scheduler.schedule({ key: `${repo.owner}/${repo.repo}#${pullNumber}`, context, pullNumber, fresh });
    };

    app.on([...PULL_REQUEST_EVENTS], async (context) => schedule(context, context.payload.pull_request.number));

    // An approval can turn the check green without a push: reviews re-evaluate the same head.
    app.on([...REVIEW_EVENTS], async (context) => schedule(context, context.payload.pull_request.number));

    app.on("check_run.rerequested", async (context) => {
      const run = context.payload.check_run;
      if (run.name !== CHECK_NAME || (appId !== undefined && run.app?.id !== appId)) return;
      for (const pull of run.pull_requests) schedule(context, pull.number, true);
    });

    app.on("check_suite.rerequested", async (context) => {
      for (const pull of context.payload.check_suite.pull_requests) schedule(context, pull.number, true);
    });
  };
}
