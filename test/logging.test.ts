// One structured (JSON) log line per evaluation: delivery, repository, pull request, sha, duration, GitHub calls.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { positiveSetting } from "../src/app/index.js";
import { canUnshare } from "../src/core/build/engine.js";
import { FakeGitHub, testApp } from "./helpers/github.js";

const deployment = (image: string) =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: apps\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: ${image}\n`;

let github: FakeGitHub;
afterEach(() => github.done());

/** The App logging JSON lines (as `LOG_FORMAT=json` makes Probot do) into an array. */
function loggingApp() {
  const lines: Array<Record<string, any>> = [];
  const log = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { app: testApp({ log }), lines };
}

/** The calls the App made: all that GitHub saw, the installation token's included, less the tarball redirects followed. */
const appCalls = () => github.calls.filter((call) => !call.path.startsWith("codeload:")).length;

describe("evaluation logs", () => {
  it("logs a completed evaluation with its delivery, repository, pull request, sha, duration and GitHub calls", async () => {
    github = new FakeGitHub({ base: { "apps/web.yaml": deployment("nginx:1.27") }, head: { "apps/web.yaml": deployment("nginx:1.28") } });
    const { app, lines } = loggingApp();
    await app.deliver("pull_request", github.payload("pull_request", "opened"), "delivery-log-1");

    const evaluations = lines.filter((line) => line.msg === "evaluation completed");
    expect(evaluations).toHaveLength(1);
    const [line] = evaluations;
    expect(line).toMatchObject({
      level: 30,
      delivery: "delivery-log-1",
      event: "pull_request",
      repository: "acme/fleet",
      pull: 7,
      sha: github.headSha,
      outcome: "completed",
      conclusion: "success",
      findings: 0,
      githubCalls: appCalls(),
    });
    // The token, the pull request twice, the check run (list, create, complete), compare, files, reviews, two tarballs, comments.
    expect(line!.githubCalls).toBe(12);
    expect(line!.durationMs).toEqual(expect.any(Number));
    expect(line!.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("logs a failed evaluation as a warning with the reason", async () => {
    github = new FakeGitHub({ base: { "apps/web.yaml": deployment("nginx:1.27") }, head: { "apps/web.yaml": deployment("nginx:1.28") } });
    github.faults.push({ method: "GET", path: /\/pulls\/7\/files/, status: 502, times: 1 });
    const { app, lines } = loggingApp();
    await app.deliver("pull_request", github.payload("pull_request", "opened"), "delivery-log-2");

    const [line] = lines.filter((candidate) => candidate.msg === "evaluation failed");
    expect(line).toMatchObject({ level: 40, delivery: "delivery-log-2", repository: "acme/fleet", pull: 7, sha: github.headSha, outcome: "failed", githubCalls: appCalls() });
    expect(line!.reason).toContain("GitHub answered 502: injected 502");
    expect(github.runsFor()).toEqual([expect.objectContaining({ status: "completed", conclusion: "failure" })]);
  });

  it("logs a redelivered webhook once, without evaluating it again", async () => {
    github = new FakeGitHub({ base: { "apps/web.yaml": deployment("nginx:1.27") }, head: { "apps/web.yaml": deployment("nginx:1.28") } });
    const { app, lines } = loggingApp();
    const payload = github.payload("pull_request", "opened");
    await app.deliver("pull_request", payload, "delivery-log-3");
    await app.deliver("pull_request", payload, "delivery-log-3");

    expect(lines.filter((line) => line.msg === "evaluation completed")).toHaveLength(1);
    expect(lines.filter((line) => line.msg === "webhook delivered again; already handled")).toEqual([expect.objectContaining({ delivery: "delivery-log-3", pull: 7 })]);
    expect(github.checkRuns).toHaveLength(1);
  });
});

describe("settings from the environment", () => {
  const names = ["EVALUATION_DEADLINE_MS", "EVALUATION_MEMORY_MB", "NODE_OPTIONS", "KUSTOMIZE_BIN"] as const;
  const saved = Object.fromEntries(names.map((name) => [name, process.env[name]]));
  afterEach(() => {
    for (const name of names) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  it("reads positive numbers, and warns and keeps the default for anything else", () => {
    const warnings: string[] = [];
    const read = (value: string | undefined) => positiveSetting("EVALUATION_MEMORY_MB", 1024, (message) => warnings.push(message), value === undefined ? {} : { EVALUATION_MEMORY_MB: value });
    expect([read(undefined), read(""), read("512"), read("0.5"), read("-5"), read("0"), read("lots")]).toEqual([1024, 1024, 512, 0.5, 1024, 1024, 1024]);
    expect(warnings).toEqual([
      'EVALUATION_MEMORY_MB="-5" is not a positive number; using 1024',
      'EVALUATION_MEMORY_MB="0" is not a positive number; using 1024',
      'EVALUATION_MEMORY_MB="lots" is not a positive number; using 1024',
    ]);
  });

  it("logs at start what it cannot honour: a negative deadline, and a heap limit that --max-old-space-size overrides", async () => {
    github = new FakeGitHub({ base: {}, head: {} });
    process.env.EVALUATION_DEADLINE_MS = "-1";
    process.env.NODE_OPTIONS = "--max-old-space-size=2048";
    const lines: Array<Record<string, any>> = [];
    const log = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const app = testApp({ log, evaluator: undefined });
    await vi.waitFor(() => expect(app.scheduler).toBeDefined());
    expect(lines.filter((line) => line.level === 40).map((line) => line.msg)).toEqual([
      'EVALUATION_DEADLINE_MS="-1" is not a positive number; using 300000',
      "EVALUATION_MEMORY_MB has no effect: --max-old-space-size is set for the process, and Node gives every worker thread that heap limit instead",
    ]);
  });

  it("logs at start that kustomize cannot be walled off, and why, when it cannot", async () => {
    github = new FakeGitHub({ base: {}, head: {} });
    // A kustomize that is a script: /bin/sh does not run in a root of its own.
    const binary = join(mkdtempSync(join(tmpdir(), "fleet-warden-test-")), "kustomize");
    writeFileSync(binary, '#!/bin/sh\nshift\nexec kubectl --server=http://127.0.0.1:9 kustomize "$@"\n', { mode: 0o755 });
    process.env.KUSTOMIZE_BIN = binary;
    const lines: Array<Record<string, any>> = [];
    const log = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const app = testApp({ log, evaluator: undefined });
    await vi.waitFor(() => expect(app.scheduler).toBeDefined());
    const reach = canUnshare() ? `without a network but with this machine's files, so only vetting keeps builds from them \\(kustomize \\(kustomize\\) cannot run in a root of its own: ` : "with this machine's network and files";
    expect(lines.filter((line) => line.level === 40).map((line) => line.msg)).toEqual([expect.stringMatching(new RegExp(`^kustomize runs ${reach}`))]);
  });
});
