// Evaluations in a worker thread (src/app/isolation.ts): the same verdict as in this thread, and whatever the
// worker does (spin, swell, throw), the evaluation ends, its processes and files go, and the process serves on.
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { isolatedEvaluator, evaluateInProcess, OutOfMemory, type Evaluator } from "../src/app/isolation.js";
import { findKustomize, kustomizeIsolation, type KustomizeEngine } from "../src/core/build/engine.js";
import type { PullRequestFacts } from "../src/core/types.js";
import { localFacts } from "../src/local.js";
import { createFixtureRepo } from "../scripts/fixture-repo.js";
import { FakeGitHub, testApp } from "./helpers/github.js";
import { webDeployment } from "./helpers/manifests.js";

const fixtures = fileURLToPath(new URL("../fixtures/sample-fleet/", import.meta.url));
const misbehaving = new URL("./helpers/workers/misbehaving-worker.mjs", import.meta.url);
/** What the spinning worker's kustomize run runs: a process that outlives the evaluation unless it is stopped. */
const sleeper: KustomizeEngine = { description: "sleep", command: "sleep", args: () => ["600"] };
const never = new AbortController().signal;

// A TMPDIR of the tests' own, so that the evaluations' folders can be counted.
const originalTmpdir = process.env.TMPDIR;
let scratch: string;
beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), "fleet-warden-isolation-test-"));
  process.env.TMPDIR = scratch;
});
afterEach(() => {
  process.env.TMPDIR = originalTmpdir;
  if (originalTmpdir === undefined) delete process.env.TMPDIR;
  rmSync(scratch, { recursive: true, force: true });
  delete process.env.MISBEHAVE;
});
afterAll(() => expect(sleepers()).toEqual([]));

/** The facts of the sample pull request (the demo's), removed afterwards. */
async function withSampleFacts(test: (facts: PullRequestFacts) => Promise<void>): Promise<void> {
  const repo = createFixtureRepo({ base: `${fixtures}base`, changes: [`${fixtures}change`], remote: "git@github.com:acme/fleet.git" });
  const local = await localFacts({ repo: repo.dir, base: "main", head: "HEAD", author: "dev-alice", teams: ["acme/dev-team"] });
  try {
    await test(local.facts);
  } finally {
    await local.dispose();
    repo.remove();
  }
}

/** This process's `sleep 600` children, running or exited and not yet collected. */
function sleepers(): number[] {
  return readdirSync(`/proc/${process.pid}/task`)
    .flatMap((task) => readFileSync(`/proc/${process.pid}/task/${task}/children`, "utf8").trim().split(/\s+/))
    .filter((pid) => pid !== "" && readFileSync(`/proc/${pid}/cmdline`, "utf8") === "sleep\u0000600\u0000")
    .map(Number);
}

const evaluationFolders = () => readdirSync(scratch).filter((name) => name.startsWith("fleet-warden-evaluation-"));

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

describe("an evaluation in a worker thread", () => {
  it("gives the verdict the same evaluation gives in this thread, asking team membership of this thread", async () => {
    await withSampleFacts(async (sample) => {
      const settings = "apps/dev-team/base/settings.yaml";
      const before = sample.headFiles.read(settings)?.toString("utf8");
      const asked: string[] = [];
      const facts = { ...sample, isTeamMember: (team: string, login: string) => (asked.push(`${team} ${login}`), sample.isTeamMember(team, login)) };
      // kustomize runs in this thread, in the evaluation's folder.
      const kustomize = findKustomize()!;
      // Its isolation is probed once per binary, in a folder of its own: before any build is counted.
      kustomizeIsolation(kustomize);
      const built: string[] = [];
      const engine = { ...kustomize, args: (folder: string) => (built.push(folder), kustomize.args(folder)) };
      const inWorker = await isolatedEvaluator({ memoryMb: 512, engine })(Promise.resolve(facts), never);
      expect(built.length).toBeGreaterThan(0);
      for (const folder of built) expect(folder.startsWith(`${scratch}/fleet-warden-evaluation-`)).toBe(true);
      const inProcess = await evaluateInProcess(Promise.resolve(sample), never);
      expect(asked).toContain("acme/dev-team dev-alice");
      expect(inWorker.builds.length).toBeGreaterThan(0);
      expect(inWorker.findings.length).toBeGreaterThan(0);
      expect({ ...inWorker, stats: { ...inWorker.stats, durationMs: 0 } }).toEqual({ ...inProcess, stats: { ...inProcess.stats, durationMs: 0 } });
      // The snapshot was handed over in place: it still reads the same afterwards.
      expect(before).toBeDefined();
      expect(sample.headFiles.read(settings)?.toString("utf8")).toBe(before);
      expect(evaluationFolders()).toEqual([]);
    });
  });

  it("that never yields is stopped when the signal aborts: its kustomize run is stopped and collected, its folder removed", async () => {
    await withSampleFacts(async (sample) => {
      process.env.MISBEHAVE = "spin";
      const abort = new AbortController();
      const evaluation = isolatedEvaluator({ memoryMb: 256, workerUrl: misbehaving, engine: sleeper })(Promise.resolve(sample), abort.signal);
      await until(() => sleepers().length === 1);
      const [folder] = evaluationFolders();
      expect(readdirSync(join(scratch, folder!))[0]).toMatch(/^build-/);

      abort.abort(new Error("deadline"));
      await expect(evaluation).rejects.toThrow("deadline");
      expect(sleepers()).toEqual([]);
      expect(evaluationFolders()).toEqual([]);
    });
  });

  it("aborted at once, while its folder is being made, ends and leaves nothing behind", async () => {
    await withSampleFacts(async (sample) => {
      process.env.MISBEHAVE = "spin";
      const abort = new AbortController();
      const evaluation = isolatedEvaluator({ memoryMb: 256, workerUrl: misbehaving, engine: sleeper })(Promise.resolve(sample), abort.signal);
      abort.abort(new Error("shutdown"));
      await expect(evaluation).rejects.toThrow("shutdown");
      expect(sleepers()).toEqual([]);
      expect(evaluationFolders()).toEqual([]);
    });
  });

  it("ends with the gathering's own error when the facts cannot be gathered", async () => {
    const failure = Object.assign(new Error("Not Found"), { status: 404 });
    await expect(isolatedEvaluator({ memoryMb: 256 })(Promise.reject(failure), never)).rejects.toBe(failure);
    expect(evaluationFolders()).toEqual([]);
  });

  it("builds below a TMPDIR reached through a link (as macOS's /tmp is): its sandboxes are the evaluation's", async () => {
    await withSampleFacts(async (sample) => {
      const linked = join(scratch, "link");
      symlinkSync(scratch, linked);
      process.env.TMPDIR = linked;
      const verdict = await isolatedEvaluator({ memoryMb: 512 })(Promise.resolve(sample), never);
      expect(verdict.builds.length).toBeGreaterThan(0);
      expect(verdict.builds.filter((build) => !build.ok)).toEqual([]);
    });
  });

  it("that outgrows its heap ends with OutOfMemory, and this process goes on", async () => {
    await withSampleFacts(async (sample) => {
      process.env.MISBEHAVE = "swell";
      const evaluation = isolatedEvaluator({ memoryMb: 32, workerUrl: misbehaving })(Promise.resolve(sample), never);
      await expect(evaluation).rejects.toThrow(new OutOfMemory("The evaluation needed more than 32 MiB of memory and was stopped."));
      await expect(evaluation).rejects.toBeInstanceOf(OutOfMemory);
    });
  });

  it.each([
    ["escape", /^refused: \/ is outside the evaluation's folder$/],
    ["escape-sandbox", /^refused: \S+fleet-warden-evaluation-\w+ is outside the evaluation's folder$/],
    ["escape-folder", /^refused: \/etc is outside its sandbox$/],
  ])("has no kustomize run outside a sandbox of its own in its folder (%s)", async (behaviour, refusal) => {
    await withSampleFacts(async (sample) => {
      process.env.MISBEHAVE = behaviour;
      const evaluation = isolatedEvaluator({ memoryMb: 256, workerUrl: misbehaving, engine: sleeper })(Promise.resolve(sample), never);
      const answer = await evaluation.then(
        () => undefined,
        (error: Error) => (error.name === "Answer" ? (JSON.parse(error.message) as unknown) : error),
      );
      expect(answer).toEqual({ ok: false, error: expect.stringMatching(refusal) });
      expect(sleepers()).toEqual([]);
    });
  });

  it("that throws rejects with the error's name and message", async () => {
    await withSampleFacts(async (sample) => {
      process.env.MISBEHAVE = "throw";
      const evaluation = isolatedEvaluator({ memoryMb: 256, workerUrl: misbehaving })(Promise.resolve(sample), never);
      await expect(evaluation).rejects.toMatchObject({ name: "TypeError", message: "Cannot read properties of undefined (reading 'spec')" });
    });
  });

  it("runs in a worker that waits for the next evaluation once it ended well, and in a fresh one after a failure", async () => {
    await withSampleFacts(async (sample) => {
      const evaluate = isolatedEvaluator({ memoryMb: 256, workerUrl: misbehaving });
      const as = (author: string) => evaluate(Promise.resolve({ ...sample, author }), never);
      expect(await as("count")).toEqual({ evaluations: 1 });
      expect(await as("count")).toEqual({ evaluations: 2 });
      await expect(as("fail")).rejects.toThrow("failed");
      expect(await as("count")).toEqual({ evaluations: 1 });
      expect(evaluationFolders()).toEqual([]);
    });
  });

  it("keeps a worker whose facts could not be gathered; never acts for an earlier evaluation; replaces a kept worker that died", async () => {
    await withSampleFacts(async (sample) => {
      const runs: string[] = [];
      const counting: KustomizeEngine = { ...sleeper, args: (folder) => (runs.push(folder), sleeper.args(folder)) };
      const evaluate = isolatedEvaluator({ memoryMb: 256, workerUrl: misbehaving, engine: counting });
      const as = (author: string) => evaluate(Promise.resolve({ ...sample, author }), never);
      expect(await as("count")).toEqual({ evaluations: 1 });
      await expect(evaluate(Promise.reject(new Error("Not Found")), never)).rejects.toThrow("Not Found");
      expect(await as("count")).toEqual({ evaluations: 2 });
      // Answers; during the next evaluation its leftover work asks for a run: never run, and the worker retired.
      expect(await as("linger")).toEqual({ evaluations: 3 });
      expect(await as("count")).toEqual({ evaluations: 4 });
      expect(runs).toEqual([]);
      expect(await as("count")).toEqual({ evaluations: 1 });
      // Answers, then exits: the next evaluation is served, by a new worker.
      expect(await as("die")).toEqual({ evaluations: 2 });
      expect(await as("count")).toEqual({ evaluations: 1 });
      // Kept, then dies on the next evaluation's facts before a word: that evaluation is run again, in a new worker.
      expect(await as("die-next")).toEqual({ evaluations: 2 });
      expect(await as("count")).toEqual({ evaluations: 1 });
      expect(sleepers()).toEqual([]);
    });
  });

  it("is never started once the signal has aborted", async () => {
    const abort = new AbortController();
    abort.abort(new Error("stopped before it began"));
    await expect(isolatedEvaluator({ memoryMb: 256, workerUrl: misbehaving })(new Promise(() => {}), abort.signal)).rejects.toThrow("stopped before it began");
    expect(evaluationFolders()).toEqual([]);
  });
});

describe("the App, evaluating in worker threads", () => {
  it("fails the check run of an evaluation that never yields at the deadline, and completes the next one", async () => {
    const github = new FakeGitHub({ base: { "apps/web.yaml": webDeployment("nginx:1.27") }, head: { "apps/web.yaml": webDeployment("nginx:1.28") } });
    process.env.MISBEHAVE = "spin";
    let calls = 0;
    const spinningOnce: Evaluator = (facts, signal) =>
      isolatedEvaluator({ memoryMb: 256, ...(calls++ === 0 ? { workerUrl: misbehaving, engine: sleeper } : {}) })(facts, signal);
    const app = testApp({ evaluator: spinningOnce, deadlineMs: 5_000 });

    await app.deliver("pull_request", github.payload("pull_request", "opened"));
    expect(github.runsFor()).toEqual([
      expect.objectContaining({ status: "completed", conclusion: "failure", output: expect.objectContaining({ title: "Evaluation timed out" }) }),
    ]);
    expect(sleepers()).toEqual([]);

    const rerun = github.payload("check_run", "rerequested");
    rerun.check_run = { ...rerun.check_run, name: "fleet-warden", head_sha: github.headSha, app: { id: 4242 }, pull_requests: [{ number: github.number }] };
    await app.deliver("check_run", rerun);
    const runs = github.runsFor();
    expect(runs).toHaveLength(2);
    expect(runs[1]).toMatchObject({ status: "completed", conclusion: "success" });
    expect(evaluationFolders()).toEqual([]);
    github.done();
  });
});
