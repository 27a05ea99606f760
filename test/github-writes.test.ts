// What GitHub ends up showing when it fails while fleet-warden writes: a check run that always ends, a passing
// verdict that survives transient 5xx, creations never doubled, reviews never half-synced or posted on a stale head,
// and snapshot downloads that stall or are abandoned never poisoning the cache. (From an App review's repros.)
import { PassThrough, Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import nock from "nock";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { EvaluationOutcome } from "../src/app/evaluate-pull-request.js";
import { extractSnapshot, SnapshotCache, type Snapshot } from "../src/snapshot.js";
import { BOT_LOGIN, FakeGitHub, testApp, type TestApp, type TestAppOptions } from "./helpers/github.js";
import { base, bump, imageUpdate } from "./helpers/image-update.js";
import { webDeployment } from "./helpers/manifests.js";
import { deliverSettled, productionApp } from "./helpers/production-app.js";
import { tarball } from "./helpers/tarball.js";

let github: FakeGitHub;
let outcomes: EvaluationOutcome[];

afterEach(() => github?.done());

/** A pull request that passes: an image bump. */
const clean = () => new FakeGitHub({ base: { "apps/web.yaml": webDeployment("nginx:1.27") }, head: { "apps/web.yaml": webDeployment("nginx:1.28") } });

const tenants = `tenants:
  - name: dev-team
    paths: ["apps/**"]
    namespaces: [apps]
    serviceAccount: dev-team
`;
/** A deployment whose `privileged` flag is a finding with a one-click fix (a review suggestion) when true. */
const guarded = (name: string, privileged: boolean, podLines = "") =>
  `${webDeployment("nginx:1.27").replace("name: web\n  namespace", `name: ${name}\n  namespace`).replace("    spec:\n", `    spec:${podLines}\n`)}          securityContext:\n            allowPrivilegeEscalation: false\n            privileged: ${privileged}\n`;

const count = (method: string, pattern: RegExp) => github.calls.filter((call) => call.method === method && pattern.test(call.path)).length;
const ourComments = () => github.comments.filter((comment) => comment.user.login === BOT_LOGIN);

/** Log lines of the App, as JSON objects. */
function logLines(): { log: pino.Logger; lines: Array<Record<string, any>> } {
  const lines: Array<Record<string, any>> = [];
  return { log: pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) }), lines };
}

describe("with the production Octokit (retries, throttling, timeouts) on fake timers", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"] });
    outcomes = [];
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllEnvs();
  });

  const app = (options: TestAppOptions = {}): TestApp => productionApp(outcomes, options);
  const deliver = (target: TestApp, event: string, action: string) => deliverSettled(target, github, event, action);

  /** The base tarball answers 200 with the start of a gzip stream, then nothing more (once). */
  function stallBaseDownload(): void {
    // Registered before the stand-in (nock answers with the first route that matches), for one download.
    nock("https://codeload.github.com")
      .get((uri) => uri.endsWith(`/legacy.tar.gz/${github.baseSha}`))
      .reply(200, () => {
        const body = new PassThrough();
        body.write(Buffer.from([0x1f, 0x8b, 0x08, 0x00]));
        return body;
      });
  }
  const baseDownloads = () => count("GET", new RegExp(`/tarball/${github.baseSha}$`));

  describe("snapshot downloads", () => {
    it("fails a tarball that stops sending after 30 s of silence, and the next evaluation downloads it again", async () => {
      stallBaseDownload();
      github = clean();
      const target = app();
      await deliver(target, "pull_request", "opened");
      const [run] = github.runsFor();
      expect(run).toMatchObject({ status: "completed", conclusion: "failure", output: { title: "Evaluation failed" } });
      expect(run!.output.summary).toContain(`base snapshot (${github.baseSha.slice(0, 7)}): cannot read the archive: no data for 30 s; the download was abandoned`);

      github.push({ "apps/web.yaml": webDeployment("nginx:1.29") });
      await deliver(target, "pull_request", "synchronize");
      expect({ outcomes: outcomes.map((outcome) => outcome.status), baseDownloads: baseDownloads() }).toEqual({ outcomes: ["failed", "completed"], baseDownloads: 2 });
      expect(github.runsFor()).toEqual([expect.objectContaining({ status: "completed", conclusion: "success" })]);
    });

    it("abandons a download when its evaluation is stopped at the deadline: the next evaluation downloads again", async () => {
      stallBaseDownload();
      github = clean();
      // The deadline comes first: the idle timeout (the request timeout) is an hour here.
      vi.stubEnv("GITHUB_REQUEST_TIMEOUT_MS", String(60 * 60 * 1000));
      const target = app({ deadlineMs: 5 * 60 * 1000 });
      await deliver(target, "pull_request", "opened");
      expect(github.runsFor()[0]).toMatchObject({ status: "completed", conclusion: "failure", output: { title: "Evaluation timed out" } });

      github.push({ "apps/web.yaml": webDeployment("nginx:1.29") });
      await deliver(target, "pull_request", "synchronize");
      expect({ outcomes: outcomes.map((outcome) => outcome.status), baseDownloads: baseDownloads() }).toEqual({ outcomes: ["failed", "completed"], baseDownloads: 2 });
      expect(github.runsFor()).toEqual([expect.objectContaining({ status: "completed", conclusion: "success" })]);
    });
  });

  describe("the check run always ends", () => {
    it("keeps a passing verdict through four 502s on the final update (one more round after the retry plugin's)", async () => {
      github = clean();
      github.faults.push({ method: "PATCH", path: /\/check-runs\/\d+$/, status: 502, times: 4 });
      await deliver(app(), "pull_request", "opened");
      expect(github.runsFor()).toEqual([expect.objectContaining({ status: "completed", conclusion: "success", output: expect.objectContaining({ title: expect.not.stringContaining("Could not") }) })]);
      expect(count("PATCH", /\/check-runs\/\d+$/)).toBe(5);
      expect(outcomes.map((outcome) => outcome.status)).toEqual(["completed"]);
    });

    it("completes the run with a failure that says GitHub kept failing after eight 502s on the final update", async () => {
      github = clean();
      github.faults.push({ method: "PATCH", path: /\/check-runs\/\d+$/, status: 502, times: 8 });
      await deliver(app(), "pull_request", "opened");
      const [run] = github.runsFor();
      expect(github.runsFor()).toHaveLength(1);
      expect(run).toMatchObject({ status: "completed", conclusion: "failure", output: { title: "Could not write the report" } });
      expect(run!.output.summary).toContain("GitHub kept failing while the report was written (answered 502: injected 502). Re-run the check to try again.");
      expect(outcomes).toEqual([expect.objectContaining({ status: "failed" })]);
    });

    it("still falls back to a plain failure when GitHub refuses the report (4xx), without a second round", async () => {
      github = clean();
      github.faults.push({ method: "PATCH", path: /\/check-runs\/\d+$/, status: 422, times: 1, message: "Invalid request. Annotation path is not valid." });
      await deliver(app(), "pull_request", "opened");
      expect(github.runsFor()).toEqual([expect.objectContaining({ status: "completed", conclusion: "failure", output: expect.objectContaining({ title: "Could not write the report" }) })]);
      expect(github.runsFor()[0]!.output.summary).toContain("GitHub refused the report: Invalid request. Annotation path is not valid.");
      expect(count("PATCH", /\/check-runs\/\d+$/)).toBe(2);
    });

    it("confirms the head through four 502s after the verdict and writes the verdict", async () => {
      github = clean();
      github.afterCall = (call) => {
        if (call.path.includes("/compare/")) github.faults.push({ method: "GET", path: /\/pulls\/7$/, status: 502, times: 4 });
      };
      await deliver(app(), "pull_request", "opened");
      expect(github.runsFor()).toEqual([expect.objectContaining({ status: "completed", conclusion: "success" })]);
    });

    it("completes the run with a failure when the head cannot be confirmed at all", async () => {
      github = clean();
      github.afterCall = (call) => {
        if (call.path.includes("/compare/")) github.faults.push({ method: "GET", path: /\/pulls\/7$/, status: 502, times: 100 });
      };
      await deliver(app(), "pull_request", "opened");
      const [run] = github.runsFor();
      expect(run).toMatchObject({ status: "completed", conclusion: "failure", output: { title: "Evaluation failed" } });
      expect(run!.output.summary).toContain("GitHub answered 502: injected 502");
    });

    it("cancels the run of a superseded head through four 502s on the update", async () => {
      github = clean();
      const firstSha = github.headSha;
      github.afterCall = (call) => {
        if (call.path.includes("/compare/") && github.headSha === firstSha) {
          github.push({ "apps/web.yaml": webDeployment("nginx:1.29") });
          github.faults.push({ method: "PATCH", path: /\/check-runs\/\d+$/, status: 502, times: 4 });
        }
      };
      await deliver(app(), "pull_request", "synchronize");
      expect(github.runsFor(firstSha)).toEqual([expect.objectContaining({ status: "completed", conclusion: "cancelled" })]);
    });

    it("logs at error level when GitHub fails every write, the fallback's included", async () => {
      github = clean();
      github.faults.push({ method: "PATCH", path: /\/check-runs\/\d+$/, status: 502, times: 1000 });
      const { log, lines } = logLines();
      await deliver(app({ log }), "pull_request", "opened");
      expect(lines.filter((line) => line.level >= 50).map((line) => line.msg)).toEqual(["check run not completed: GitHub failed every attempt to write it, the plain failure's included"]);
      expect(outcomes).toEqual([expect.objectContaining({ status: "failed", reason: "the check run could not be completed: injected 502" })]);
    });
  });

  describe("creations are never doubled", () => {
    it("finds the check run GitHub created although it answered after the timeout, instead of creating another", async () => {
      github = clean();
      github.faults.push({ method: "POST", path: /\/check-runs$/, times: 1, delayMs: 40_000 });
      await deliver(app(), "pull_request", "opened");
      expect(count("POST", /\/check-runs$/)).toBe(1);
      expect(github.runsFor()).toEqual([expect.objectContaining({ status: "completed", conclusion: "success" })]);
    });

    it("creates the check run again when GitHub answered 502 without creating it", async () => {
      github = clean();
      github.faults.push({ method: "POST", path: /\/check-runs$/, status: 502, times: 1 });
      await deliver(app(), "pull_request", "opened");
      expect(count("POST", /\/check-runs$/)).toBe(2);
      expect(github.runsFor()).toEqual([expect.objectContaining({ status: "completed", conclusion: "success" })]);
    });

    it("finds the review GitHub posted although it answered after the timeout, instead of posting it twice", async () => {
      github = new FakeGitHub({ base: { ".github/fleet-warden.yml": tenants, "apps/web.yaml": guarded("web", false) }, head: { "apps/web.yaml": guarded("web", true) } });
      github.faults.push({ method: "POST", path: /\/pulls\/7\/reviews$/, times: 1, delayMs: 40_000 });
      await deliver(app(), "pull_request", "opened");
      expect({ posts: count("POST", /\/pulls\/7\/reviews$/), reviews: github.reviewsPosted.length, comments: ourComments().length }).toEqual({ posts: 1, reviews: 1, comments: 1 });
      expect(outcomes.map((outcome) => outcome.status)).toEqual(["completed"]);
    });
  });
});

describe("the review (Probot's Octokit without retries)", () => {
  beforeEach(() => {
    outcomes = [];
  });

  it("a failure while syncing the review is logged, and the auto-merge that follows still runs", async () => {
    github = new FakeGitHub({ base, head: bump, ...imageUpdate });
    github.faults.push({ method: "GET", path: /\/pulls\/7\/comments/, status: 502, times: 1 });
    const { log, lines } = logLines();
    await testApp({ log }).deliver("pull_request", github.payload("pull_request", "opened"));
    expect(github.runsFor()).toEqual([expect.objectContaining({ status: "completed", conclusion: "success" })]);
    expect(lines.filter((line) => line.level >= 50).map((line) => line.msg)).toEqual(["review suggestions could not be synced; the check run stands"]);
    expect(github.merges).toEqual([{ sha: github.headSha, merge_method: "squash" }]);
  });

  it("a review GitHub refuses (422) leaves the earlier suggestions in place, and the evaluation completes", async () => {
    github = new FakeGitHub({
      base: { ".github/fleet-warden.yml": tenants, "apps/web.yaml": guarded("web", false) },
      head: { "apps/web.yaml": guarded("web", true, "\n      hostNetwork: true") },
    });
    const app = testApp({ afterEvaluation: async (outcome) => void outcomes.push(outcome) });
    await app.deliver("pull_request", github.payload("pull_request", "opened"));
    const before = structuredClone(ourComments());
    expect(before).toHaveLength(2);

    // privileged is fixed (its suggestion is stale), hostPID is new; GitHub refuses the new review once.
    github.push({ "apps/web.yaml": guarded("web", false, "\n      hostNetwork: true\n      hostPID: true") });
    github.faults.push({ method: "POST", path: /\/pulls\/7\/reviews$/, status: 422, times: 1, message: "pull_request_review_thread.line must be part of the diff" });
    await app.deliver("pull_request", github.payload("pull_request", "synchronize"));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(["completed", "completed"]);
    expect(github.calls.filter((call) => call.method === "DELETE" || call.method === "PATCH").filter((call) => call.path.includes("/pulls/comments/"))).toEqual([]);
    expect(ourComments()).toEqual(before);
  });

  it("posts no review for a head that moved while the check run was written", async () => {
    github = new FakeGitHub({ base: { ".github/fleet-warden.yml": tenants, "apps/web.yaml": guarded("web", false) }, head: { "apps/web.yaml": guarded("web", true) } });
    const firstHead = github.headSha;
    github.afterCall = (call) => {
      if (call.method === "PATCH" && call.path.includes("/check-runs/") && github.headSha === firstHead) github.push({ "apps/web.yaml": guarded("web", false) });
    };
    await testApp().deliver("pull_request", github.payload("pull_request", "opened"));
    expect(github.runsFor(firstHead)).toEqual([expect.objectContaining({ status: "completed", conclusion: "failure" })]);
    expect(github.reviewsPosted).toEqual([]);
  });

  it(
    "posts at most 50 suggestions per evaluation, and the check summary says how many were left out",
    async () => {
      const names = Array.from({ length: 53 }, (_, i) => `web-${String(i).padStart(2, "0")}`);
      github = new FakeGitHub({
        base: { ".github/fleet-warden.yml": tenants, ...Object.fromEntries(names.map((name) => [`apps/${name}.yaml`, guarded(name, false)])) },
        head: Object.fromEntries(names.map((name) => [`apps/${name}.yaml`, guarded(name, true)])),
      });
      await testApp().deliver("pull_request", github.payload("pull_request", "opened"));
      expect(github.reviewsPosted.map((review) => review.comments.length)).toEqual([50]);
      expect(github.runsFor()[0]!.output.summary).toContain("**Review suggestions:** 50 of 53 are posted as review comments; the other 3 are posted once these are dealt with.");
    },
    60_000,
  );
});

describe("the snapshot cache and a stalled stream", () => {
  const archive = () => tarball([{ name: "acme-fleet-abc1234/a.yaml", text: "a: 1\n" }]);
  const extract = async (signal?: AbortSignal) => extractSnapshot(Readable.from(await archive()), { strip: 1, gzip: true, label: "base snapshot", ...(signal ? { signal } : {}) });

  it("fails a stream that sends nothing for the idle timeout, with a clear error", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      const stream = new PassThrough();
      stream.write(gzipSync(Buffer.alloc(0)).subarray(0, 4));
      const extracted = extractSnapshot(stream, { strip: 1, gzip: true, label: "base snapshot", idleTimeoutMs: 30_000 });
      const failed = expect(extracted).rejects.toThrow("base snapshot: cannot read the archive: no data for 30 s; the download was abandoned");
      await vi.advanceTimersByTimeAsync(29_999);
      expect(stream.destroyed).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await failed;
      expect(stream.destroyed).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it("stops and forgets a load when its only waiter stops waiting; the next get loads again", async () => {
    const cache = new SnapshotCache();
    const signals: AbortSignal[] = [];
    const stuck = (signal?: AbortSignal) => (signals.push(signal!), new Promise<Snapshot>(() => undefined));
    const waiter = new AbortController();
    const first = cache.get("acme/fleet@abc base", stuck, waiter.signal);
    waiter.abort();
    await expect(first).rejects.toThrow("This operation was aborted");
    expect(signals.map((signal) => signal.aborted)).toEqual([true]);

    let loads = 0;
    const snapshot = await cache.get("acme/fleet@abc base", (signal) => (loads++, extract(signal)));
    expect(loads).toBe(1);
    expect(snapshot.files.read("a.yaml")?.toString("utf8")).toBe("a: 1\n");
  });

  it("goes on loading for the evaluations still waiting when one stops waiting", async () => {
    const cache = new SnapshotCache();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let loadSignal: AbortSignal | undefined;
    const load = async (signal?: AbortSignal) => {
      loadSignal = signal;
      await gate;
      return extract(signal);
    };
    const leaving = new AbortController();
    const first = cache.get("k", load, leaving.signal);
    const second = cache.get("k", load, new AbortController().signal);
    leaving.abort();
    await expect(first).rejects.toThrow("This operation was aborted");
    expect(loadSignal!.aborted).toBe(false);
    release();
    expect((await second).files.read("a.yaml")?.toString("utf8")).toBe("a: 1\n");
    expect(cache.bytes()).toBe(5);
  });
});
