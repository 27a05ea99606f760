// GitHub's rate limits as fleet-warden's Octokit obeys them, whatever words the answer uses: a 403 or 429 that
// carries retry-after is waited out that long (longer at each repeat, within bounds), a 429 without it a minute,
// and a 403 without it (a missing permission) fails at once. Real retry and throttling plugins, fake timers.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { EvaluationOutcome } from "../src/app/evaluate-pull-request.js";
import { FakeGitHub, type Fault, type TestApp } from "./helpers/github.js";
import { webDeployment } from "./helpers/manifests.js";
import { deliverSettled, productionApp } from "./helpers/production-app.js";

const SECONDARY_LIMIT = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.";
const ABUSE_DETECTION = "You have triggered an abuse detection mechanism. Please wait a few minutes before you try again.";
const REVIEWS = /\/pulls\/7\/reviews$/;

let github: FakeGitHub;
let outcomes: EvaluationOutcome[];
let target: TestApp;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"] });
  outcomes = [];
  // A pull request that passes: an image bump.
  github = new FakeGitHub({ base: { "apps/web.yaml": webDeployment("nginx:1.27") }, head: { "apps/web.yaml": webDeployment("nginx:1.28") } });
  target = productionApp(outcomes);
});

afterEach(() => {
  github.done();
  vi.useRealTimers();
});

/** Evaluates the pull request with `fault` on the approvals read (GET …/reviews, while the facts are gathered). */
async function evaluateWith(fault: Omit<Fault, "method" | "path">): Promise<void> {
  github.faults.push({ method: "GET", path: /\/pulls\/7\/reviews\?/, ...fault });
  await deliverSettled(target, github, "pull_request", "opened");
}

/** Seconds between successive reads of the approvals. */
function gaps(): number[] {
  const times = github.calls.flatMap((call, i) => (call.method === "GET" && REVIEWS.test(call.path) ? [github.callTimes[i]!] : []));
  return times.slice(1).map((time, i) => (time - times[i]!) / 1000);
}
/** The waits were `seconds` long each: never less, and not twice that (fake time runs on a little while real I/O is awaited). */
function expectWaits(...seconds: number[]): void {
  const measured = gaps();
  expect(measured.map((gap, i) => gap >= seconds[i]! && gap < seconds[i]! * 2), `waits of ${measured.join(", ")} s`).toEqual(seconds.map(() => true));
}
const reads = () => github.calls.filter((call) => call.method === "GET" && REVIEWS.test(call.path)).length;

function expectPassed(): void {
  expect(github.runsFor()).toEqual([expect.objectContaining({ status: "completed", conclusion: "success" })]);
  expect(outcomes.map((outcome) => outcome.status)).toEqual(["completed"]);
}

function expectFailedWith(detail: string): void {
  const runs = github.runsFor();
  expect(runs).toHaveLength(1);
  expect(runs[0]).toMatchObject({ status: "completed", conclusion: "failure", output: { title: "Evaluation failed" } });
  expect(runs[0]!.output.summary).toContain(detail);
}

describe("a 403 or 429 with retry-after, in words plugin-throttling does not recognise", () => {
  it("waits the 30 s a 429 'Too Many Requests' asks for, then succeeds", async () => {
    await evaluateWith({ status: 429, times: 1, message: "Too Many Requests", headers: { "retry-after": "30" } });
    expectPassed();
    expect(reads()).toBe(2);
    expectWaits(30);
  });

  it("waits out a 403 in GitHub's older 'abuse detection' wording, then succeeds", async () => {
    await evaluateWith({ status: 403, times: 1, message: ABUSE_DETECTION, headers: { "retry-after": "30", "x-ratelimit-remaining": "4999" } });
    expectPassed();
    expect(reads()).toBe(2);
    expectWaits(30);
  });

  it("waits twice as long at each repeat and gives up after three retries", async () => {
    await evaluateWith({ status: 403, times: 100, message: ABUSE_DETECTION, headers: { "retry-after": "30" } });
    expectFailedWith(`GitHub answered 403: ${ABUSE_DETECTION}`);
    expect(reads()).toBe(4);
    expectWaits(30, 60, 120);
  });

  it("fails at once when GitHub asks for a longer wait than an evaluation may take, and says when to re-run", async () => {
    await evaluateWith({ status: 429, times: 1, message: "Too Many Requests", headers: { "retry-after": "3600" } });
    expectFailedWith("GitHub answered 429: Too Many Requests\n\nGitHub's rate limit asks to wait 60 min: re-run the check after that.");
    expect(reads()).toBe(1);
  });
});

describe("other rate limits and refusals", () => {
  it("waits a minute on a 429 without retry-after, as GitHub prescribes", async () => {
    await evaluateWith({ status: 429, times: 1, message: "Too Many Requests" });
    expectPassed();
    expect(reads()).toBe(2);
    expectWaits(60);
  });

  it("bounds the waits of one request in all, not each: a 429 repeated waits 1 and 2 min, not 4 more", async () => {
    await evaluateWith({ status: 429, times: 100, message: "Too Many Requests" });
    expectFailedWith("GitHub answered 429: Too Many Requests");
    expect(reads()).toBe(3);
    expectWaits(60, 120);
  });

  it("waits a recognised secondary limit once (plugin-throttling's wait), not a second time", async () => {
    await evaluateWith({ status: 403, times: 1, message: SECONDARY_LIMIT, headers: { "retry-after": "30" } });
    expectPassed();
    expect(reads()).toBe(2);
    expectWaits(30);
  });

  it("does not wait an hour for a recognised secondary limit either", async () => {
    await evaluateWith({ status: 403, times: 1, message: SECONDARY_LIMIT, headers: { "retry-after": "3600" } });
    expectFailedWith(`GitHub answered 403: ${SECONDARY_LIMIT}`);
    expect(reads()).toBe(1);
  });

  it("fails a 403 without retry-after (a missing permission) at once, rate-limit headers and all", async () => {
    await evaluateWith({ status: 403, times: 1, message: "Resource not accessible by integration", headers: { "x-ratelimit-remaining": "4999", "x-ratelimit-reset": "1900000000" } });
    expectFailedWith("GitHub answered 403: Resource not accessible by integration");
    expect(reads()).toBe(1);
  });
});
