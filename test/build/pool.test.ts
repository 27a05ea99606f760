// The build task pool: at most `limit` at once, and a failure leaves nothing running behind it (in a reused
// evaluation worker, a build still running after the verdict would run inside the next evaluation).
import { describe, expect, it } from "vitest";
import { pool } from "../../src/core/build/index.js";

const later = <T>(value: T, settle: () => Promise<void>) => settle().then(() => value);

describe("pool", () => {
  it("runs at most `limit` tasks at once and keeps the results in order", async () => {
    let running = 0;
    let most = 0;
    const task = (value: number) => async () => {
      most = Math.max(most, ++running);
      await new Promise((resolve) => setImmediate(resolve));
      running--;
      return value;
    };
    expect(await pool([1, 2, 3, 4, 5].map(task), 2)).toEqual([1, 2, 3, 4, 5]);
    expect(most).toBe(2);
  });

  it("on a failure starts no more tasks, and waits for the running ones before it fails", async () => {
    const events: string[] = [];
    let release!: () => void;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const tasks = [
      () => later("slow", () => slow).finally(() => events.push("slow ended")),
      () => Promise.reject(new Error("broken")).finally(() => events.push("failed")),
      async () => void events.push("started after the failure"),
    ];
    const outcome = pool(tasks, 2).catch((error: Error) => void events.push(`pool failed: ${error.message}`));
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual(["failed"]);
    release();
    await outcome;
    expect(events).toEqual(["failed", "slow ended", "pool failed: broken"]);
  });
});
