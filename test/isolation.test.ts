// Evaluations in a worker thread (src/app/isolation.ts): the same verdict as in this thread, and whatever the
// worker does (spin, swell, throw), the evaluation ends, its processes and files go, and the process serves on.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { isolatedEvaluator, evaluateInProcess, OutOfMemory, type Evaluator } from "../src/app/isolation.js";
import type { PullRequestFacts } from "../src/core/types.js";
import { localFacts } from "../src/local.js";
import { createFixtureRepo } from "../scripts/fixture-repo.js";
import { FakeGitHub, testApp } from "./helpers/github.js";
import { webDeployment } from "./helpers/manifests.js";

const fixtures = fileURLToPath(new URL("../fixtures/sample-fleet/", import.meta.url));
const misbehaving = new URL("./helpers/workers/misbehaving-worker.mjs", import.meta.url);
const scratch = mkdtempSync(join(tmpdir(), "fleet-warden-isolation-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
afterEach(() => {
  delete process.env.MISBEHAVE;
  delete process.env.EVIDENCE_FILE;
});

const never = new AbortController().signal;

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

/** The process is gone, or has exited and waits to be reaped: either way it runs no more. */
function stopped(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.startsWith("Z");
  } catch {
    return true;
  }
}

async function evidence(file: string): Promise<{ folder: string; pid: number }> {
  while (!existsSync(file)) await new Promise((resolve) => setTimeout(resolve, 20));
  return JSON.parse(readFileSync(file, "utf8"));
}

describe("an evaluation in a worker thread", () => {
  it("gives the verdict the same evaluation gives in this thread, asking team membership of this thread", async () => {
    await withSampleFacts(async (sample) => {
      const asked: string[] = [];
      const facts = { ...sample, isTeamMember: (team: string, login: string) => (asked.push(`${team} ${login}`), sample.isTeamMember(team, login)) };
      const inWorker = await isolatedEvaluator({ memoryMb: 512 })(facts, never);
      const inProcess = await evaluateInProcess(sample, never);
      expect(asked).toContain("acme/dev-team dev-alice");
      expect(inWorker.findings.length).toBeGreaterThan(0);
      expect({ ...inWorker, stats: { ...inWorker.stats, durationMs: 0 } }).toEqual({ ...inProcess, stats: { ...inProcess.stats, durationMs: 0 } });
    });
  });

  it("that never yields is stopped when the signal aborts: its kustomize process is killed and its temporary folder removed", async () => {
    await withSampleFacts(async (sample) => {
      process.env.MISBEHAVE = "spin";
      process.env.EVIDENCE_FILE = join(scratch, "spin.json");
      const abort = new AbortController();
      const evaluation = isolatedEvaluator({ memoryMb: 256, workerUrl: misbehaving })(sample, abort.signal);
      const { folder, pid } = await evidence(process.env.EVIDENCE_FILE);
      expect(existsSync(folder)).toBe(true);
      // The sandbox is below the evaluation's own temporary folder, whose name says what it is.
      expect(folder).toMatch(/\/fleet-warden-evaluation-[^/]+\/build-[^/]+$/);
      expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).toBe("sleep\u0000600\u0000");
      expect(stopped(pid)).toBe(false);

      abort.abort(new Error("deadline"));
      await expect(evaluation).rejects.toThrow("deadline");
      expect(stopped(pid)).toBe(true);
      expect(existsSync(join(folder, ".."))).toBe(false);
    });
  });

  it("that outgrows its heap ends with OutOfMemory, and this process goes on", async () => {
    await withSampleFacts(async (sample) => {
      process.env.MISBEHAVE = "swell";
      const evaluation = isolatedEvaluator({ memoryMb: 32, workerUrl: misbehaving })(sample, never);
      await expect(evaluation).rejects.toThrow(new OutOfMemory("The evaluation needed more than 32 MiB of memory and was stopped."));
      await expect(evaluation).rejects.toBeInstanceOf(OutOfMemory);
    });
  });

  it("that throws rejects with the error's name and message", async () => {
    await withSampleFacts(async (sample) => {
      process.env.MISBEHAVE = "throw";
      const evaluation = isolatedEvaluator({ memoryMb: 256, workerUrl: misbehaving })(sample, never);
      await expect(evaluation).rejects.toMatchObject({ name: "TypeError", message: "Cannot read properties of undefined (reading 'spec')" });
    });
  });

  it("is never started once the signal has aborted", async () => {
    const abort = new AbortController();
    abort.abort(new Error("stopped before it began"));
    await expect(isolatedEvaluator({ memoryMb: 256, workerUrl: misbehaving })({} as never, abort.signal)).rejects.toThrow("stopped before it began");
  });
});

describe("the App, evaluating in worker threads", () => {
  it("fails the check run of an evaluation that never yields at the deadline, and completes the next one", async () => {
    const github = new FakeGitHub({ base: { "apps/web.yaml": webDeployment("nginx:1.27") }, head: { "apps/web.yaml": webDeployment("nginx:1.28") } });
    process.env.MISBEHAVE = "spin";
    process.env.EVIDENCE_FILE = join(scratch, "app-spin.json");
    let calls = 0;
    const spinningOnce: Evaluator = (facts, signal) =>
      isolatedEvaluator({ memoryMb: 256, ...(calls++ === 0 ? { workerUrl: misbehaving } : {}) })(facts, signal);
    const app = testApp({ evaluator: spinningOnce, deadlineMs: 3_000 });

    await app.deliver("pull_request", github.payload("pull_request", "opened"));
    expect(github.runsFor()).toEqual([
      expect.objectContaining({ status: "completed", conclusion: "failure", output: expect.objectContaining({ title: "Evaluation timed out" }) }),
    ]);

    const rerun = github.payload("check_run", "rerequested");
    rerun.check_run = { ...rerun.check_run, name: "fleet-warden", head_sha: github.headSha, app: { id: 4242 }, pull_requests: [{ number: github.number }] };
    await app.deliver("check_run", rerun);
    const runs = github.runsFor();
    expect(runs).toHaveLength(2);
    expect(runs[1]).toMatchObject({ status: "completed", conclusion: "success" });
    github.done();
  });
});
