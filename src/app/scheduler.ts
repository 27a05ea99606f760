// Coalesces work per key (a pull request): while one job runs, later ones collapse into a single pending job,
// the newest winning. Ten pushes in a burst give at most two evaluations. At most `concurrency` jobs run at
// once; the keys waiting for a slot are served first come, first served. Once the signal is aborted (shutdown
// past its grace period), nothing more starts: the jobs still waiting are dropped.

export interface SchedulerOptions<T> {
  run(job: T): Promise<void>;
  /** Combines a newer job with the one already pending for its key (default: the newer replaces it). */
  merge?(newer: T, pending: T): T;
  onError?(error: unknown, job: T): void;
  /** Jobs running at once, across keys (default: no limit). */
  concurrency?: number;
  /**
   * Aborted: the waiting jobs are dropped (each reported to onDropped) and no job is taken or started any more. What
   * onDropped returns is waited for, as running work is.
   */
  signal?: AbortSignal;
  onDropped?(job: T): void | Promise<void>;
}

export class Scheduler<T extends { key: string }> {
  private readonly running = new Map<string, Promise<void>>();
  /** Work outside the queue still going: lookups (track), and what onDropped does for the jobs dropped at shutdown. */
  private readonly background = new Set<Promise<void>>();
  private readonly pending = new Map<string, T>();
  /** Keys whose pending job can start as soon as a slot is free, oldest first. */
  private readonly ready: string[] = [];
  private accepting = true;

  constructor(private readonly options: SchedulerOptions<T>) {
    options.signal?.addEventListener("abort", () => this.dropWaiting(), { once: true });
  }

  /**
   * Returns at once: the webhook is acknowledged before the work runs. False once draining or aborted; `admitted`
   * work (found by a lookup tracked before draining began) is still taken while draining.
   */
  schedule(job: T, admitted = false): boolean {
    if ((!this.accepting && !admitted) || this.options.signal?.aborted) return false;
    const pending = this.pending.get(job.key);
    if (pending || this.running.has(job.key)) {
      this.pending.set(job.key, pending && this.options.merge ? this.options.merge(job, pending) : job);
      return true;
    }
    this.pending.set(job.key, job);
    this.ready.push(job.key);
    this.startReady();
    return true;
  }

  /**
   * Runs `work` at once, outside the queue and its concurrency (a lookup of which keys to schedule); idle() and
   * drain() wait for it, and its failure goes to `onError`. False, and `work` not started, once draining or aborted.
   */
  track(work: () => Promise<void>, onError: (error: unknown) => void): boolean {
    if (!this.accepting || this.options.signal?.aborted) return false;
    this.runInBackground(work().catch(onError));
    return true;
  }

  /** Resolves when nothing runs and nothing is pending. */
  async idle(): Promise<void> {
    while (this.running.size + this.background.size > 0) await Promise.allSettled([...this.running.values(), ...this.background]);
  }

  /**
   * Stops taking work and resolves when what runs and what is pending is done. Pending work still runs (its
   * pull request's head has moved, and only its evaluation can leave a check run on the new head) until the
   * signal is aborted.
   */
  async drain(): Promise<void> {
    this.accepting = false;
    await this.idle();
  }

  get busy(): number {
    return this.running.size + this.pending.size + this.background.size;
  }

  private dropWaiting(): void {
    const dropped = [...this.pending.values()];
    this.pending.clear();
    this.ready.length = 0;
    for (const job of dropped) {
      this.runInBackground(Promise.resolve(this.options.onDropped?.(job)).catch((error: unknown) => this.options.onError?.(error, job)));
    }
  }

  private runInBackground(work: Promise<void>): void {
    const done = work.finally(() => this.background.delete(done));
    this.background.add(done);
  }

  private startReady(): void {
    while (this.running.size < (this.options.concurrency ?? Infinity) && this.ready.length > 0) {
      const key = this.ready.shift()!;
      const job = this.pending.get(key)!;
      this.pending.delete(key);
      this.start(job);
    }
  }

  private start(job: T): void {
    const done = this.options
      .run(job)
      .catch((error: unknown) => this.options.onError?.(error, job))
      .finally(() => {
        this.running.delete(job.key);
        if (this.pending.has(job.key)) this.ready.push(job.key);
        this.startReady();
      });
    this.running.set(job.key, done);
  }
}
