// GitHub faults, redeliveries, bursts and crashes, with Probot's real retry and throttling plugins (fleet-warden's
// Octokit, as `npm start` runs it) on fake timers. Each test asserts what GitHub ends up showing.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { EvaluationOutcome } from "../src/app/evaluate-pull-request.js";
import type * as CoreEvaluate from "../src/core/evaluate.js";
import type * as ReportReview from "../src/report/review.js";
import { fleetWardenOctokit } from "../src/github/octokit.js";
import { FakeGitHub, type TestApp, type TestAppOptions } from "./helpers/github.js";
import { deliverSettled, productionApp, realSetImmediate, settle } from "./helpers/production-app.js";
import { checkSuiteCompleted } from "./helpers/image-update.js";
import { webDeployment } from "./helpers/manifests.js";

// A bug in the evaluation, switched on per test: the pipeline throws as a real defect would.
const crash = vi.hoisted(() => ({ next: undefined as Error | undefined }));
vi.mock("../src/core/evaluate.js", async (importOriginal) => {
  const original = await importOriginal<typeof CoreEvaluate>();
  return {
    ...original,
    evaluate: async (...args: Parameters<typeof original.evaluate>) => {
      const error = crash.next;
      crash.next = undefined;
      if (error) throw error;
      return original.evaluate(...args);
    },
  };
});

// A bug in rendering the report, switched on per test.
const reportCrash = vi.hoisted(() => ({ next: undefined as Error | undefined }));
vi.mock("../src/report/review.js", async (importOriginal) => {
  const original = await importOriginal<typeof ReportReview>();
  return {
    ...original,
    reviewComments: (...args: Parameters<typeof original.reviewComments>) => {
      const error = reportCrash.next;
      reportCrash.next = undefined;
      if (error) throw error;
      return original.reviewComments(...args);
    },
  };
});

const SECONDARY_LIMIT = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.";

let github: FakeGitHub;
let outcomes: EvaluationOutcome[];

// The fake clock never goes back between tests, as a real one does not: plugin-throttling's limiters are shared by
// every client in the process, and a clock set back would hold the next test's requests until it caught up.
let clock = 0;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"] });
  vi.setSystemTime(Math.max(Date.now(), clock));
  outcomes = [];
  crash.next = undefined;
  reportCrash.next = undefined;
});

afterEach(() => {
  github.done();
  clock = Date.now();
  vi.useRealTimers();
});

const app = (options: TestAppOptions = {}): TestApp => productionApp(outcomes, options);
const deliver = (target: TestApp, event: string, action: string, id?: string) => deliverSettled(target, github, event, action, id);

/** Seconds between successive calls matching `pattern`. */
function gaps(pattern: RegExp, method = "GET"): number[] {
  const times = github.calls.flatMap((call, i) => (call.method === method && pattern.test(call.path) ? [github.callTimes[i]!] : []));
  return times.slice(1).map((time, i) => (time - times[i]!) / 1000);
}

const count = (method: string, pattern: RegExp) => github.calls.filter((call) => call.method === method && pattern.test(call.path)).length;

/** The App after one evaluation, half an hour later: its cached token revoked, so the next event meets a 401. */
async function appWithRevokedToken(): Promise<TestApp> {
  const target = app();
  await deliver(target, "pull_request", "opened");
  vi.setSystemTime(Date.now() + 30 * 60 * 1000);
  github.tokens[0]!.revoked = true;
  return target;
}

/** A pull request that passes: an image bump. */
const clean = () => new FakeGitHub({ base: { "apps/web.yaml": webDeployment("nginx:1.27") }, head: { "apps/web.yaml": webDeployment("nginx:1.28") } });

describe("GitHub faults, with the real retry and throttling plugins", () => {
  it("retries a 502 twice with growing waits, then completes one check run", async () => {
    github = clean();
    github.faults.push({ method: "GET", path: /\/pulls\/7\/files/, status: 502, times: 2 });
    const target = app();
    await deliver(target, "pull_request", "opened");

    expect(github.runsFor()).toEqual([expect.objectContaining({ status: "completed", conclusion: "success" })]);
    expect(count("GET", /\/pulls\/7\/files$/)).toBe(3);
    const [first, second] = gaps(/\/pulls\/7\/files$/);
    expect(first).toBeGreaterThanOrEqual(1);
    expect(second).toBeGreaterThanOrEqual(4);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(["completed"]);
  });

  it("waits out a secondary rate limit for the retry-after GitHub sends, then succeeds", async () => {
    github = clean();
    github.faults.push({ method: "POST", path: /\/check-runs$/, status: 403, times: 1, message: SECONDARY_LIMIT, headers: { "retry-after": "30" } });
    const target = app();
    await deliver(target, "pull_request", "opened");

    expect(github.runsFor()).toEqual([expect.objectContaining({ status: "completed", conclusion: "success" })]);
    expect(count("POST", /\/check-runs$/)).toBe(2);
    expect(gaps(/\/check-runs$/, "POST")[0]).toBeGreaterThanOrEqual(30);
  });

  it("without retry-after waits a minute, then twice as long, as GitHub prescribes", async () => {
    github = clean();
    github.faults.push({ method: "GET", path: /\/pulls\/7\/reviews/, status: 429, times: 2, message: SECONDARY_LIMIT });
    const target = app();
    await deliver(target, "pull_request", "opened");

    expect(github.runsFor()).toEqual([expect.objectContaining({ status: "completed", conclusion: "success" })]);
    const [first, second] = gaps(/\/pulls\/7\/reviews$/);
    expect(first).toBeGreaterThanOrEqual(60);
    expect(second).toBeGreaterThanOrEqual(120);
    expect(count("GET", /\/pulls\/7\/reviews$/)).toBe(3);
  });

  it("gives up on a secondary rate limit that does not lift, and fails the check run saying so", async () => {
    github = clean();
    github.faults.push({ method: "GET", path: /\/pulls\/7\/reviews/, status: 403, times: 100, message: SECONDARY_LIMIT, headers: { "retry-after": "1" } });
    const target = app();
    await deliver(target, "pull_request", "opened");

    const [run] = github.runsFor();
    expect(github.runsFor()).toHaveLength(1);
    expect(run).toMatchObject({ status: "completed", conclusion: "failure", output: { title: "Evaluation failed" } });
    expect(run!.output.summary).toContain(`GitHub answered 403: ${SECONDARY_LIMIT}`);
    // The first attempt and three retries.
    expect(count("GET", /\/pulls\/7\/reviews$/)).toBe(4);
  });

  it("still leaves a failed check run when finding the sha's run keeps failing after the retries", async () => {
    github = clean();
    github.faults.push({ method: "GET", path: /\/check-runs/, status: 500, times: 4 });
    const target = app();
    await deliver(target, "pull_request", "opened");

    expect(count("GET", /\/check-runs$/)).toBe(4);
    const [run] = github.runsFor();
    expect(github.runsFor()).toHaveLength(1);
    expect(run).toMatchObject({ status: "completed", conclusion: "failure", output: { title: "Evaluation failed" } });
    expect(run!.output.summary).toContain("GitHub answered 500: injected 500");
  });

  it("completes the run with a plain failure when GitHub refuses the report itself", async () => {
    github = clean();
    github.faults.push({ method: "PATCH", path: /\/check-runs\/\d+$/, status: 422, times: 1, message: "Invalid request. Annotation path is not valid." });
    const target = app();
    await deliver(target, "pull_request", "opened");

    const [run] = github.runsFor();
    expect(github.runsFor()).toHaveLength(1);
    expect(run).toMatchObject({ status: "completed", conclusion: "failure", output: { title: "Could not write the report" } });
    expect(run!.output.summary).toContain("GitHub refused the report: Invalid request. Annotation path is not valid.");
  });

  it("times out a call GitHub does not answer and retries it", async () => {
    github = clean();
    github.faults.push({ method: "GET", path: /\/pulls\/7\/reviews/, times: 1, delayMs: 10 * 60 * 1000 });
    const target = app();
    await deliver(target, "pull_request", "opened");

    expect(github.runsFor()).toEqual([expect.objectContaining({ status: "completed", conclusion: "success" })]);
    expect(count("GET", /\/pulls\/7\/reviews$/)).toBe(2);
    const [gap] = gaps(/\/pulls\/7\/reviews$/);
    expect(gap).toBeGreaterThanOrEqual(30);
    expect(gap).toBeLessThan(60);
  });

  it("refreshes an installation token GitHub no longer accepts, once, and carries on", async () => {
    github = clean();
    const target = await appWithRevokedToken();
    expect(github.tokens.map((issued) => issued.token)).toEqual(["ghs_test_1"]);
    github.push({ "apps/web.yaml": webDeployment("nginx:1.29") });
    await deliver(target, "pull_request", "synchronize");

    expect(github.tokens.map((issued) => issued.token)).toEqual(["ghs_test_1", "ghs_test_2"]);
    expect(github.runsFor()).toEqual([expect.objectContaining({ status: "completed", conclusion: "success" })]);
    expect(github.checkRuns).toHaveLength(2);
  });

  it("asks once more for the refreshed token when GitHub fails that request", async () => {
    github = clean();
    const target = await appWithRevokedToken();
    github.faults.push({ method: "POST", path: /\/access_tokens$/, status: 502, times: 1 });
    github.push({ "apps/web.yaml": webDeployment("nginx:1.29") });
    await deliver(target, "pull_request", "synchronize");

    expect(github.tokens.map((issued) => issued.token)).toEqual(["ghs_test_1", "ghs_test_2"]);
    expect(github.runsFor()).toEqual([expect.objectContaining({ status: "completed", conclusion: "success" })]);
  });

  it("fails the check run clearly at the deadline and drops the late result", async () => {
    github = clean();
    let release!: () => void;
    github.faults.push({ method: "GET", path: /\/tarball\//, times: 1, until: new Promise<void>((resolve) => (release = resolve)) });
    const target = app({ deadlineMs: 60_000, Octokit: fleetWardenOctokit(60 * 60 * 1000) });
    await deliver(target, "pull_request", "opened");

    const [run] = github.runsFor();
    expect(run).toMatchObject({ status: "completed", conclusion: "failure", output: { title: "Evaluation timed out" } });
    expect(run!.output.summary).toContain("did not finish within 60 s");
    const writes = github.calls.filter((call) => call.method !== "GET").length;

    // The stuck download finishes after all: nothing more is written.
    release();
    await settle(target, Promise.resolve());
    for (let i = 0; i < 20; i++) await new Promise((resolve) => realSetImmediate(resolve));
    expect(github.calls.filter((call) => call.method !== "GET")).toHaveLength(writes);
    expect(github.runsFor()).toEqual([expect.objectContaining({ conclusion: "failure" })]);
    expect(github.reviewsPosted).toEqual([]);
  });

  it("keeps blaming the rate limit when the run's own follow-up read meets the limit too", async () => {
    github = clean();
    const limited = { status: 403, message: SECONDARY_LIMIT, headers: { "retry-after": "120" } };
    const files = { method: "GET", path: /\/pulls\/7\/files/, times: 1, ...limited };
    // Once the listing has been limited, the next read of the pull request (after the deadline) is limited as well.
    let pullLeft = 1;
    const pull = {
      method: "GET",
      path: /\/pulls\/7$/,
      ...limited,
      get times() {
        return files.times === 0 ? pullLeft : 0;
      },
      set times(left: number) {
        pullLeft = left;
      },
    };
    github.faults.push(files, pull);
    await deliver(app({ deadlineMs: 60_000 }), "pull_request", "opened");
    expect(github.runsFor()).toEqual([expect.objectContaining({ status: "completed", conclusion: "failure", output: expect.objectContaining({ title: "Evaluation timed out on GitHub's rate limit" }) })]);
  });

  it.each([
    ["a 429 plugin-throttling does not recognise", { status: 429, headers: { "retry-after": "120" } }],
    ["a secondary limit plugin-throttling waits out", { status: 403, message: SECONDARY_LIMIT, headers: { "retry-after": "120" } }],
  ])("at the deadline during %s, blames the rate limit, not the change", async (_, fault) => {
    github = clean();
    github.faults.push({ method: "GET", path: /\/pulls\/7\/files/, times: 1, ...fault });
    const target = app({ deadlineMs: 60_000 });
    await deliver(target, "pull_request", "opened");

    const [run] = github.runsFor();
    expect(run).toMatchObject({ status: "completed", conclusion: "failure", output: { title: "Evaluation timed out on GitHub's rate limit" } });
    expect(run!.output.summary).toMatch(/it was waiting for GitHub's rate limit on `GET https:\/\/api\.github\.com\/repos\/acme\/fleet\/pulls\/7\/files\?per_page=100`, which asked for \d+ s more/);
    expect(run!.output.summary).not.toContain("too large");
  });
});

describe("heads that move, redeliveries, bursts and crashes", () => {
  it("drops the result for a head that moved mid-evaluation and evaluates the new head", async () => {
    github = clean();
    const firstSha = github.headSha;
    github.afterCall = (call) => {
      if (call.path.includes("/compare/") && github.headSha === firstSha) github.push({ "apps/web.yaml": webDeployment("nginx:1.29") });
    };
    const target = app();
    await deliver(target, "pull_request", "synchronize");
    await deliver(target, "pull_request", "synchronize");

    expect(github.runsFor(firstSha)).toEqual([expect.objectContaining({ status: "completed", conclusion: "cancelled", output: expect.objectContaining({ title: "Superseded" }) })]);
    expect(github.runsFor()).toEqual([expect.objectContaining({ status: "completed", conclusion: "success" })]);
    expect(github.checkRuns).toHaveLength(2);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(["superseded", "completed"]);
  });

  it("ends quietly when the evaluated sha was force-pushed away (404), cancelling its run", async () => {
    github = clean();
    const firstSha = github.headSha;
    github.afterCall = (call) => {
      if (call.path.includes("/compare/") && github.headSha === firstSha) {
        github.push({ "apps/web.yaml": webDeployment("nginx:1.29") });
        github.faults.push({ method: "GET", path: new RegExp(`/tarball/${firstSha}$`), status: 404, times: 1, message: "No commit found for SHA" });
      }
    };
    const target = app();
    await deliver(target, "pull_request", "synchronize");

    expect(github.runsFor(firstSha)).toEqual([expect.objectContaining({ status: "completed", conclusion: "cancelled" })]);
    expect(github.runsFor(firstSha)[0]!.output.summary).toContain(`moved to ${github.headSha}`);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(["superseded"]);
    // 404 is not retried.
    expect(count("GET", new RegExp(`/tarball/${firstSha}$`))).toBe(1);
  });

  it("does nothing twice for a redelivered webhook, nor for a second event on the same sha", async () => {
    // A privileged container: a failure with a one-click fix, i.e. a review comment.
    const tenants = "tenants:\n  - name: dev-team\n    paths: [\"apps/**\"]\n    namespaces: [apps]\n    serviceAccount: dev-team\n";
    const securityContext = (privileged: boolean) => `${webDeployment("nginx:1.27")}          securityContext:\n            allowPrivilegeEscalation: false\n            privileged: ${privileged}\n`;
    github = new FakeGitHub({
      base: { ".github/fleet-warden.yml": tenants, "apps/web.yaml": securityContext(false) },
      head: { "apps/web.yaml": securityContext(true) },
    });
    const target = app();
    await deliver(target, "pull_request", "opened", "delivery-1");
    const [run] = github.runsFor();
    expect(run).toMatchObject({ status: "completed", conclusion: "failure" });
    const commentsBefore = structuredClone(github.comments);
    expect(commentsBefore.length).toBeGreaterThan(0);
    const callsBefore = github.calls.length;

    await deliver(target, "pull_request", "opened", "delivery-1");
    expect(github.calls).toHaveLength(callsBefore);

    // A different delivery for the same head: evaluated again, same result, nothing new on the pull request.
    await deliver(target, "pull_request", "reopened", "delivery-2");
    expect(github.runsFor()).toEqual([run]);
    expect(github.comments).toEqual(commentsBefore);
    expect(github.reviewsPosted).toHaveLength(1);
    expect(github.calls.slice(callsBefore).filter((call) => call.method !== "GET").map((call) => call.method + " " + call.path)).toEqual([]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(["completed", "completed"]);
  });

  it("a second event on the same sha that changes the result (an approval) gets a new run with the new conclusion", async () => {
    github = new FakeGitHub({
      base: { ".github/CODEOWNERS": "* @acme/platform\n", "apps/web.yaml": webDeployment("nginx:1.27") },
      head: { "apps/web.yaml": webDeployment("nginx:1.28") },
      teams: { "acme/platform": ["plat-bob"] },
    });
    const target = app();
    await deliver(target, "pull_request", "opened");
    expect(github.runsFor()).toEqual([expect.objectContaining({ status: "completed", conclusion: "failure" })]);

    github.reviews.push({ id: 900, user: { login: "plat-bob" }, state: "APPROVED", commit_id: github.headSha, submitted_at: new Date().toISOString() });
    // The approval as GitHub sends it (a comment review decides nothing and is ignored).
    const approval = github.payload("pull_request_review", "submitted");
    approval.review = { ...approval.review, state: "approved", user: { login: "plat-bob", type: "User" } };
    await settle(target, target.probot.receive({ id: "approval-1", name: "pull_request_review", payload: approval } as never));
    expect(github.runsFor().map((run) => [run.status, run.conclusion])).toEqual([
      ["completed", "failure"],
      ["completed", "success"],
    ]);
  });

  it("coalesces ten synchronize events in a burst into at most two evaluations, the last on the latest head", async () => {
    github = clean();
    const target = app();
    const received: Array<Promise<void>> = [];
    for (let i = 0; i < 10; i++) {
      github.push({ "apps/web.yaml": webDeployment(`nginx:1.${30 + i}`) });
      received.push(target.probot.receive({ id: `burst-${i}`, name: "pull_request", payload: github.payload("pull_request", "synchronize") } as never));
    }
    await settle(target, Promise.all(received));

    expect(outcomes.length).toBeLessThanOrEqual(2);
    expect(outcomes.at(-1)).toMatchObject({ status: "completed", headSha: github.headSha });
    expect(github.runsFor()).toEqual([expect.objectContaining({ status: "completed", conclusion: "success" })]);
    expect(github.checkRuns.every((run) => run.status === "completed")).toBe(true);
    expect(github.checkRuns.filter((run) => run.conclusion !== "cancelled")).toHaveLength(1);
  });

  it("completes the check run with the crash's cause, and keeps serving the next event", async () => {
    github = clean();
    const target = app();
    crash.next = new TypeError("Cannot read properties of undefined (reading 'spec')");
    await deliver(target, "pull_request", "opened");

    const [crashed] = github.runsFor();
    expect(crashed).toMatchObject({ status: "completed", conclusion: "failure", output: { title: "Evaluation failed" } });
    expect(crashed!.output.summary).toContain("TypeError: Cannot read properties of undefined (reading 'spec')");
    expect(crashed!.output.summary).toContain("Re-run the check");

    github.push({ "apps/web.yaml": webDeployment("nginx:1.29") });
    await deliver(target, "pull_request", "synchronize");
    expect(github.runsFor()).toEqual([expect.objectContaining({ status: "completed", conclusion: "success" })]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(["failed", "completed"]);
  });

  it("completes the check run when rendering the report crashes, rather than leave it in progress", async () => {
    github = clean();
    reportCrash.next = new RangeError("Invalid string length");
    await deliver(app(), "pull_request", "opened");

    const [run] = github.runsFor();
    expect(github.runsFor()).toHaveLength(1);
    expect(run).toMatchObject({ status: "completed", conclusion: "failure", output: { title: "Evaluation failed" } });
    expect(run!.output.summary).toContain("RangeError: Invalid string length");
    expect(outcomes.map((outcome) => outcome.status)).toEqual(["failed"]);
  });
});

describe("a GitHub that does not answer", () => {
  /** Every `method` call whose path matches fails with a 502, or (`hang`) never answers until the test ends. */
  const down = (path: RegExp, methods = ["GET", "POST", "PATCH"], hang?: Promise<void>) => {
    for (const method of methods) github.faults.push({ method, path, times: 1000, ...(hang ? { until: hang } : { status: 502 }) });
  };

  it("asks for the installation token once per attempt of the request that needs it, not four times", async () => {
    github = clean();
    down(/\/access_tokens$/, ["POST"]);
    await deliver(app(), "pull_request", "opened");

    // The read of the pull request, tried four times; each attempt asks for a token once.
    expect(count("POST", /\/access_tokens$/)).toBe(4);
    expect(github.checkRuns).toEqual([]);
    expect(outcomes).toEqual([{ status: "failed", unwritten: true, reason: expect.stringContaining("the pull request could not be read, so no check run was written: GitHub answered 502") }]);
  });

  it("ends at the deadline when GitHub never answers the first read", async () => {
    github = clean();
    let release!: () => void;
    down(/./, ["GET", "POST"], new Promise<void>((resolve) => (release = resolve)));
    const started = Date.now();
    let endedAfterMs = 0;
    const target = app({ deadlineMs: 60_000, afterEvaluation: async (outcome) => void (outcomes.push(outcome), (endedAfterMs = Date.now() - started)) });
    await deliver(target, "pull_request", "opened");
    release();

    expect(outcomes).toEqual([{ status: "failed", unwritten: true, reason: "the pull request could not be read, so no check run was written: GitHub did not answer within the deadline (60 s)" }]);
    expect(endedAfterMs).toBe(60_000);
    expect(github.checkRuns).toEqual([]);
  });

  it("counts the time the check run took to open against the deadline", async () => {
    github = clean();
    // The run's lookup times out twice (30 s each), then answers: 65 s in, past a 60 s deadline.
    github.faults.push({ method: "GET", path: /\/check-runs/, times: 2, delayMs: 10 * 60 * 1000 });
    await deliver(app({ deadlineMs: 60_000 }), "pull_request", "opened");

    const [run] = github.runsFor();
    expect(github.runsFor()).toHaveLength(1);
    expect(run).toMatchObject({ status: "completed", conclusion: "failure", output: { title: "Evaluation timed out on GitHub" } });
    expect(run!.output.summary).toContain("GitHub took the whole deadline (60 s) to find or open this check run, so nothing was evaluated. The change itself is not the cause");
    expect(count("GET", /\/pulls\/7\/files$/)).toBe(0);
  });

  it("a sha already green keeps its result, and no failure blames the change, when GitHub took the deadline to find its run", async () => {
    github = clean();
    const target = app({ deadlineMs: 60_000 });
    await deliver(target, "pull_request", "opened");
    // A second event on the same sha; the run's lookup times out twice (30 s each), then answers: 65 s in.
    github.faults.push({ method: "GET", path: /\/check-runs/, times: 2, delayMs: 10 * 60 * 1000 });
    await deliver(target, "pull_request", "reopened");

    expect(github.checkRuns).toEqual([expect.objectContaining({ status: "completed", conclusion: "success" })]);
    expect(outcomes.at(-1)).toMatchObject({ status: "failed", unwritten: true, reason: expect.stringContaining("its earlier result stands") });
  });

  it.each([
    ["the pull request could not be read", /\/pulls\/7$/, ["GET"]],
    ["no run could be written", /\/check-runs/, ["GET", "POST", "PATCH"]],
  ])("a head left without a run because %s is evaluated when the next check finishes", async (_, path, methods) => {
    github = clean();
    down(path, methods);
    const target = app();
    await deliver(target, "pull_request", "opened");
    expect(github.checkRuns).toEqual([]);
    expect(outcomes).toEqual([expect.objectContaining({ status: "failed", unwritten: true })]);

    // GitHub is back; another App's CI finishes on the head.
    github.faults.length = 0;
    await settle(target, target.probot.receive({ id: "suite-1", name: "check_suite", payload: checkSuiteCompleted(github) } as never));
    expect(github.runsFor()).toEqual([expect.objectContaining({ status: "completed", conclusion: "success" })]);
  });

  it("gives the token refresh after a 401 the request timeout too", async () => {
    github = clean();
    const target = await appWithRevokedToken();
    let release!: () => void;
    github.faults.push({ method: "POST", path: /\/access_tokens$/, times: 1000, until: new Promise<void>((resolve) => (release = resolve)) });
    const started = Date.now();
    await deliver(target, "pull_request", "synchronize");
    release();

    // The refresh and its one more round, 30 s each; undici alone would wait 5 min for each.
    expect(Date.now() - started).toBeLessThan(2 * 60 * 1000);
    expect(outcomes.at(-1)).toMatchObject({ status: "failed", unwritten: true, reason: expect.stringContaining("GitHub did not answer within 30 s") });
  });

  it("marks the head in a single write when the process is stopped while the pull request is read", async () => {
    github = clean();
    let release!: () => void;
    github.faults.push({ method: "GET", path: /\/pulls\/7$/, times: 1, until: new Promise<void>((resolve) => (release = resolve)) });
    const shutdown = new AbortController();
    const target = app({ signal: shutdown.signal });
    const received = target.probot.receive({ id: "read-at-shutdown", name: "pull_request", payload: github.payload("pull_request", "opened") } as never);
    await vi.advanceTimersByTimeAsync(1000);
    // Past the grace period, while GitHub still has not answered the read.
    shutdown.abort();
    release();
    await settle(target, received);

    expect(github.runsFor()).toEqual([expect.objectContaining({ status: "completed", conclusion: "failure", output: expect.objectContaining({ title: "Evaluation interrupted" }) })]);
    // Created completed: never in progress, however soon the process exits.
    expect(count("POST", /\/check-runs$/)).toBe(1);
    expect(count("PATCH", /\/check-runs\/\d+$/)).toBe(0);
    expect(outcomes).toEqual([expect.objectContaining({ status: "failed", headSha: github.headSha })]);
  });

  it("does not start a run when GitHub has failed the run's lookup and the pull request's read", async () => {
    github = clean();
    github.afterCall = (call) => {
      if (/\/pulls\/7$/.test(call.path) && github.faults.length === 0) down(/\/pulls\/7$|\/check-runs/);
    };
    await deliver(app(), "pull_request", "opened");

    expect(count("GET", /\/check-runs$/)).toBe(4);
    expect(count("GET", /\/pulls\/7$/)).toBe(1 + 4);
    expect(count("POST", /\/check-runs$/)).toBe(0);
    expect(outcomes).toEqual([{ status: "failed", headSha: github.headSha, reason: "no check run could be written: GitHub answered 502: injected 502", unwritten: true }]);
  });

  it("reports, without crashing, a head no run could be written on", async () => {
    github = clean();
    down(/\/check-runs/);
    await deliver(app(), "pull_request", "opened");

    // The lookup, then one fresh run (the pull request could still be read), looked for once it failed.
    expect(count("GET", /\/check-runs$/)).toBe(4 + 4);
    expect(count("POST", /\/check-runs$/)).toBe(1);
    expect(github.checkRuns).toEqual([]);
    expect(outcomes).toEqual([{ status: "failed", headSha: github.headSha, reason: "no check run could be written: GitHub answered 502: injected 502", unwritten: true }]);
  });
});
