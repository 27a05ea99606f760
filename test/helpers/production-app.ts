// The App as `npm start` runs it (fleet-warden's Octokit: Probot's retry and throttling plugins, request timeouts),
// for tests on fake timers. Evaluations run in this thread (a module mock of the test reaches them) and have an
// hour unless a test says otherwise.
import { vi } from "vitest";
import type { EvaluationOutcome } from "../../src/app/evaluate-pull-request.js";
import { evaluateInProcess } from "../../src/app/isolation.js";
import { fleetWardenOctokit } from "../../src/github/octokit.js";
import { testApp, type FakeGitHub, type TestApp, type TestAppOptions } from "./github.js";

export const realSetImmediate = setImmediate;

/** The App; each evaluation's outcome is appended to `outcomes`. */
export function productionApp(outcomes: EvaluationOutcome[], options: TestAppOptions = {}): TestApp {
  return testApp({
    Octokit: fleetWardenOctokit(),
    deadlineMs: 60 * 60 * 1000,
    evaluator: evaluateInProcess,
    afterEvaluation: async (outcome) => void outcomes.push(outcome),
    ...options,
  });
}

/** Lets fake time run (in 20 ms steps, real I/O in between) until `work` and every evaluation it started are done. */
export async function settle(target: TestApp, work: Promise<unknown>): Promise<void> {
  let done = false;
  const finished = work.then(() => target.scheduler.idle()).finally(() => (done = true));
  while (!done) {
    await vi.advanceTimersByTimeAsync(20);
    await new Promise((resolve) => realSetImmediate(resolve));
  }
  await finished;
}

/** Delivers `event.action` for `github`'s pull request and lets fake time run until it is handled. */
export function deliverSettled(target: TestApp, github: FakeGitHub, event: string, action: string, id?: string): Promise<void> {
  return settle(target, target.probot.receive({ id: id ?? `delivery-${Math.random().toString(16).slice(2)}`, name: event, payload: github.payload(event, action) } as never));
}
