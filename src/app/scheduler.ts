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
  /** What onDropped still does for the jobs dropped at shutdown. */
  private readonly dropping = new Set<Promise<void>>();
  private readonly pending = new Map<string, T>();
  /** Keys whose pending job can start as soon as a slot is free, oldest first. */
  private readonly ready: string[] = [];
  private accepting = true;

  constructor(private readonly options: SchedulerOptions<T>) {
    options.signal?.addEventListener("abort", () => this.dropWaiting(), { once: true });
  }

  /** Returns at once: the webhook is acknowledged before the work runs. False once draining or aborted. */
  schedule(job: T): boolean {
    if (!this.accepting || this.options.signal?.aborted) return false;
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

  /** Resolves when nothing runs and nothing is pending. */
  async idle(): Promise<void> {
    while (this.running.size + this.dropping.size > 0) await Promise.allSettled([...this.running.values(), ...this.dropping]);
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
    return this.running.size + this.pending.size;
  }

  private dropWaiting(): void {
    const dropped = [...this.pending.values()];
    this.pending.clear();
    this.ready.length = 0;
    for (const job of dropped) {
      const done = Promise.resolve(this.options.onDropped?.(job))
        .catch((error: unknown) => this.options.onError?.(error, job))
        .finally(() => this.dropping.delete(done));
      this.dropping.add(done);
    }
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
