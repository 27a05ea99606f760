import { describe, expect, it } from "vitest";
import { Scheduler } from "../src/app/scheduler.js";

interface Job {
  key: string;
  sha: string;
  fresh?: boolean;
}

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe("Scheduler", () => {
  it("coalesces a burst for one key into the running job plus one pending, the newest winning", async () => {
    const ran: string[] = [];
    const first = gate();
    const scheduler = new Scheduler<Job>({
      async run(job) {
        ran.push(job.sha);
        if (job.sha === "1") await first.opened;
      },
    });
    for (let i = 1; i <= 10; i++) scheduler.schedule({ key: "acme/fleet#7", sha: String(i) });
    expect(scheduler.busy).toBe(2);
    first.open();
    await scheduler.idle();
    expect(ran).toEqual(["1", "10"]);
  });

  it("runs different keys independently and merges pending jobs as told", async () => {
    const ran: Job[] = [];
    const hold = gate();
    const scheduler = new Scheduler<Job>({
      async run(job) {
        ran.push(job);
        if (job.sha === "a1") await hold.opened;
      },
      merge: (newer, pending) => ({ ...newer, fresh: Boolean(newer.fresh || pending.fresh) }),
    });
    scheduler.schedule({ key: "a", sha: "a1" });
    scheduler.schedule({ key: "b", sha: "b1" });
    scheduler.schedule({ key: "a", sha: "a2", fresh: true });
    scheduler.schedule({ key: "a", sha: "a3" });
    hold.open();
    await scheduler.idle();
    expect(ran.map((job) => `${job.sha}${job.fresh ? "*" : ""}`)).toEqual(["a1", "b1", "a3*"]);
  });

  it("reports a crashing job and keeps serving", async () => {
    const errors: string[] = [];
    const scheduler = new Scheduler<Job>({
      async run(job) {
        if (job.sha === "boom") throw new Error("boom");
      },
      onError: (error) => errors.push((error as Error).message),
    });
    scheduler.schedule({ key: "a", sha: "boom" });
    await scheduler.idle();
    expect(scheduler.schedule({ key: "a", sha: "ok" })).toBe(true);
    await scheduler.idle();
    expect(errors).toEqual(["boom"]);
  });

  it("stops taking work when draining and still runs what is pending", async () => {
    const ran: string[] = [];
    const hold = gate();
    const scheduler = new Scheduler<Job>({
      async run(job) {
        ran.push(job.sha);
        await hold.opened;
      },
    });
    scheduler.schedule({ key: "a", sha: "1" });
    scheduler.schedule({ key: "a", sha: "2" });
    const drained = scheduler.drain();
    expect(scheduler.schedule({ key: "b", sha: "3" })).toBe(false);
    hold.open();
    await drained;
    expect(ran).toEqual(["1", "2"]);
  });
});

describe("Scheduler concurrency", () => {
  it("runs at most `concurrency` jobs at once, serves waiting keys in order, and still coalesces a waiting key", async () => {
    const ran: string[] = [];
    const gates = new Map<string, ReturnType<typeof gate>>();
    let running = 0;
    let most = 0;
    const scheduler = new Scheduler<Job>({
      concurrency: 2,
      async run(job) {
        ran.push(job.sha);
        running++;
        most = Math.max(most, running);
        const hold = gate();
        gates.set(job.sha, hold);
        await hold.opened;
        running--;
      },
    });
    scheduler.schedule({ key: "a", sha: "a1" });
    scheduler.schedule({ key: "b", sha: "b1" });
    scheduler.schedule({ key: "c", sha: "c1" });
    scheduler.schedule({ key: "d", sha: "d1" });
    // c waits for a slot: a newer job for c replaces it there.
    scheduler.schedule({ key: "c", sha: "c2" });
    // a is running: its next job waits behind it and behind the keys already waiting.
    scheduler.schedule({ key: "a", sha: "a2" });
    expect(ran).toEqual(["a1", "b1"]);
    expect(scheduler.busy).toBe(5);

    gates.get("a1")!.open();
    await new Promise((resolve) => setImmediate(resolve));
    expect(ran).toEqual(["a1", "b1", "c2"]);
    gates.get("b1")!.open();
    await new Promise((resolve) => setImmediate(resolve));
    expect(ran).toEqual(["a1", "b1", "c2", "d1"]);
    gates.get("c2")!.open();
    await new Promise((resolve) => setImmediate(resolve));
    expect(ran).toEqual(["a1", "b1", "c2", "d1", "a2"]);
    gates.get("d1")!.open();
    gates.get("a2")!.open();
    await scheduler.idle();
    expect(most).toBe(2);
    expect(scheduler.busy).toBe(0);
  });

  it("tracks a lookup outside the queue: it starts at once, drain waits for it and for what it admits, its failure is reported, none starts once draining", async () => {
    const ran: string[] = [];
    const scheduler = new Scheduler<Job>({ concurrency: 1, run: async (job) => void ran.push(job.sha) });
    const lookup = gate();
    const failures: unknown[] = [];
    const found: boolean[] = [];
    expect(scheduler.track(async () => {
      await lookup.opened;
      found.push(scheduler.schedule({ key: "a", sha: "new" }), scheduler.schedule({ key: "b", sha: "found" }, true));
    }, (error) => failures.push(error))).toBe(true);
    expect(scheduler.track(async () => {
      throw new Error("502");
    }, (error) => failures.push(error))).toBe(true);
    expect(scheduler.busy).toBe(2);

    let drained = false;
    const draining = scheduler.drain().then(() => (drained = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(failures).toEqual([new Error("502")]);
    expect(drained).toBe(false);
    expect(scheduler.track(async () => void ran.push("late"), (error) => failures.push(error))).toBe(false);
    // What a lookup tracked before draining finds is admitted (its webhook was answered); new work is not.
    lookup.open();
    await draining;
    expect(found).toEqual([false, true]);
    expect(ran).toEqual(["found"]);
    expect(scheduler.busy).toBe(0);
  });
});
