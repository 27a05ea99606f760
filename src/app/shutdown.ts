// Graceful shutdown: stop taking work, let in-flight evaluations finish within a grace period, interrupt the
// rest (their check runs fail and say why, never stay in progress), then stop.
import type { Logger } from "probot";
import { Interrupted } from "./evaluate-pull-request.js";

export const DEFAULT_SHUTDOWN_GRACE_MS = 25_000;
/** The last part of the grace period, kept for interrupted evaluations to write their failed check runs. */
const INTERRUPT_RESERVE_MS = 5_000;

export interface ShutdownOptions {
  scheduler: { drain(): Promise<void>; busy: number };
  /** The App's signal (AppOptions.signal): aborting it interrupts the evaluations still running. */
  abort: AbortController;
  graceMs: number;
  log: Logger;
}

/** Resolves "drained" when everything finished in time, "interrupted" when evaluations had to be cut short. */
export async function shutDown({ scheduler, abort, graceMs, log }: ShutdownOptions): Promise<"drained" | "interrupted"> {
  log.info({ inFlight: scheduler.busy, graceMs }, "shutting down: no new work; finishing the evaluations in flight");
  const drained = scheduler.drain();
  const reserveMs = Math.min(INTERRUPT_RESERVE_MS, graceMs / 5);
  if (await settlesWithin(drained, graceMs - reserveMs)) {
    log.info("shutdown: every evaluation finished");
    return "drained";
  }
  log.warn({ inFlight: scheduler.busy }, "shutdown: grace period over; interrupting the evaluations still running");
  abort.abort(new Interrupted("fleet-warden was stopped (a restart or a deployment) before it finished."));
  if (!(await settlesWithin(drained, reserveMs))) log.error({ inFlight: scheduler.busy }, "shutdown: evaluations still running at exit");
  return "interrupted";
}

export interface TerminationOptions extends ShutdownOptions {
  /** Stops the HTTP server. */
  stop(): Promise<void>;
  exit(code: number): void;
}

/** On SIGTERM (what Kubernetes and `docker stop` send): shut down gracefully, stop the server, exit 0. */
export function exitGracefullyOnSigterm(options: TerminationOptions): void {
  process.once("SIGTERM", () => {
    void shutDown(options)
      .then(() => options.stop())
      .then(
        () => options.exit(0),
        (error: unknown) => {
          options.log.error({ err: error }, "shutdown failed");
          options.exit(1);
        },
      );
  });
}

function settlesWithin(work: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  return Promise.race([work.then(() => true), late]).finally(() => clearTimeout(timer));
}
