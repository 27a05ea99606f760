// Coalesces work per key (a pull request): while one job runs, later ones collapse into a single pending job,
// the newest winning. Ten pushes in a burst give at most two evaluations.

export interface SchedulerOptions<T> {
  run(job: T): Promise<void>;
  /** Combines a newer job with the one already pending for its key (default: the newer replaces it). */
  merge?(newer: T, pending: T): T;
  onError?(error: unknown, job: T): void;
}

export class Scheduler<T extends { key: string }> {
  private readonly running = new Map<string, Promise<void>>();
  private readonly pending = new Map<string, T>();
  private accepting = true;

  constructor(private readonly options: SchedulerOptions<T>) {}

  /** Returns at once: the webhook is acknowledged before the work runs. False once draining. */
  schedule(job: T): boolean {
    if (!this.accepting) return false;
    if (this.running.has(job.key)) {
      const pending = this.pending.get(job.key);
      this.pending.set(job.key, pending && this.options.merge ? this.options.merge(job, pending) : job);
      return true;
    }
    this.start(job);
    return true;
  }

  /** Resolves when nothing runs and nothing is pending. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }

  /**
   * Stops taking work and resolves when what runs and what is pending is done. Pending work still runs: its
   * pull request's head has moved, and only its evaluation can leave a check run on the new head.
   */
  async drain(): Promise<void> {
    this.accepting = false;
    await this.idle();
  }

  get busy(): number {
    return this.running.size + this.pending.size;
  }

  private start(job: T): void {
    const done = this.options
      .run(job)
      .catch((error: unknown) => this.options.onError?.(error, job))
      .finally(() => {
        this.running.delete(job.key);
        const next = this.pending.get(job.key);
        if (next) {
          this.pending.delete(job.key);
          this.start(next);
        }
      });
    this.running.set(job.key, done);
  }
}
