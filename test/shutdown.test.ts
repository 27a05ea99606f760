// Graceful shutdown on SIGTERM and prompt acknowledgement, through the real Probot HTTP server with signed
// webhooks; and the interruption at the end of the grace period, on fake timers.
import { spawn } from "node:child_process";
import { createHmac, generateKeyPairSync } from "node:crypto";
import { fileURLToPath } from "node:url";
import nock from "nock";
import { pino } from "pino";
import { Probot, Server } from "probot";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createApp, type EvaluationJob } from "../src/app/index.js";
import type { Scheduler } from "../src/app/scheduler.js";
import { exitGracefullyOnSigterm } from "../src/app/shutdown.js";
import { fleetWardenOctokit } from "../src/github/octokit.js";
import { APP_ID, FakeGitHub, testApp } from "./helpers/github.js";

const secret = "webhook-secret-for-tests";
const privateKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString();
const quiet = pino({ level: "silent" });

const deployment = (image: string) =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: apps\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: ${image}\n`;

let github: FakeGitHub;
let release: () => void;

/** Holds the next call to `path` until `release()`: an evaluation stays in flight as long as the test wants. */
function hold(path: RegExp): void {
  github.faults.push({ method: "GET", path, times: 1, until: new Promise<void>((resolve) => (release = resolve)) });
}

/** Lets fake time run in 10 ms steps, with real I/O in between, until `condition` holds. */
async function runUntil(condition: () => boolean): Promise<void> {
  while (!condition()) {
    await vi.advanceTimersByTimeAsync(10);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function exitSpy() {
  const codes: number[] = [];
  let exited!: () => void;
  const done = new Promise<void>((resolve) => (exited = resolve));
  return { codes, done, exit: (code: number) => (codes.push(code), exited()) };
}

beforeEach(() => {
  github = new FakeGitHub({ base: { "apps/web.yaml": deployment("nginx:1.27") }, head: { "apps/web.yaml": deployment("nginx:1.28") } });
});

afterEach(() => {
  release?.();
  github.done();
  nock.enableNetConnect();
});

describe("the HTTP server under shutdown", () => {
  let server: Server;
  let scheduler: Scheduler<EvaluationJob>;
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const url = `http://127.0.0.1:${port}`;

  async function post(delivery: string) {
    const body = JSON.stringify(github.payload("pull_request", "synchronize"));
    const signature = `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
    return fetch(`${url}/api/github/webhooks`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-github-event": "pull_request", "x-github-delivery": delivery, "x-hub-signature-256": signature },
      body,
    });
  }

  it("acknowledges a webhook before evaluating it; on SIGTERM answers new ones 503, keeps /ping, finishes the evaluation in flight, then exits 0", async () => {
    nock.disableNetConnect();
    nock.enableNetConnect("127.0.0.1");
    process.env.APP_ID = String(APP_ID);
    const abort = new AbortController();
    server = new Server({
      log: quiet,
      host: "127.0.0.1",
      port,
      Probot: Probot.defaults({ appId: APP_ID, privateKey, secret, log: quiet, Octokit: fleetWardenOctokit() }),
    });
    await server.load(createApp({ signal: abort.signal, onScheduler: (created) => (scheduler = created) }));
    await server.start();
    // GitHub does not answer the evaluation's first call until released.
    hold(/\/pulls\/7$/);

    const acknowledged = await post("in-flight-1");
    expect(acknowledged.status).toBe(200);
    expect(scheduler.busy).toBe(1);
    expect(github.checkRuns).toEqual([]);

    const { codes, done, exit } = exitSpy();
    let stopped = false;
    exitGracefullyOnSigterm({ scheduler, abort, graceMs: 25_000, log: quiet, stop: async () => ((stopped = true), server.stop()), exit });
    process.emit("SIGTERM");

    const refused = await post("after-sigterm-1");
    expect(refused.status).toBe(503);
    expect(await (await fetch(`${url}/ping`)).text()).toBe("PONG");
    expect(codes).toEqual([]);

    release();
    await done;
    expect(codes).toEqual([0]);
    expect(stopped).toBe(true);
    expect(abort.signal.aborted).toBe(false);
    expect(github.runsFor()).toEqual([expect.objectContaining({ status: "completed", conclusion: "success" })]);
    expect(github.checkRuns).toHaveLength(1);
  });
});

describe("the grace period", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("interrupts an evaluation that outlasts it: its check run fails and says why, and the process exits 0 within the grace period", async () => {
    const abort = new AbortController();
    const target = testApp({ Octokit: fleetWardenOctokit(60 * 60 * 1000), deadlineMs: 60 * 60 * 1000, signal: abort.signal });
    hold(/\/tarball\//);
    await target.probot.receive({ id: "stuck-1", name: "pull_request", payload: github.payload("pull_request", "opened") } as never);
    await runUntil(() => github.calls.some((call) => call.path.includes("/tarball/")));

    const { codes, done, exit } = exitSpy();
    const signalledAt = Date.now();
    let exitedAt: number | undefined;
    exitGracefullyOnSigterm({ scheduler: target.scheduler, abort, graceMs: 25_000, log: quiet, stop: async () => undefined, exit });
    process.emit("SIGTERM");
    void done.then(() => (exitedAt = Date.now()));

    await vi.advanceTimersByTimeAsync(19_000);
    expect(abort.signal.aborted).toBe(false);
    expect(github.runsFor()).toEqual([expect.objectContaining({ status: "in_progress" })]);
    await runUntil(() => exitedAt !== undefined || Date.now() - signalledAt > 60_000);

    expect(codes).toEqual([0]);
    expect(exitedAt! - signalledAt).toBeLessThanOrEqual(25_000);
    const [run] = github.runsFor();
    expect(github.runsFor()).toHaveLength(1);
    expect(run).toMatchObject({ status: "completed", conclusion: "failure", output: { title: "Evaluation interrupted" } });
    expect(run!.output.summary).toContain("fleet-warden was stopped (a restart or a deployment) before it finished. Re-run the check to evaluate this commit.");
  });
});

describe("npm start", () => {
  it("hands SIGTERM to the server (a container runtime or process manager stops `npm start`): it shuts down and exits 0", async () => {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const env: NodeJS.ProcessEnv = { ...process.env, APP_ID: String(APP_ID), PRIVATE_KEY: privateKey, WEBHOOK_SECRET: secret, HOST: "127.0.0.1", PORT: String(port), LOG_LEVEL: "info" };
    env.LOG_FORMAT = "json";
    // A process group of its own: whatever happens, the test stops npm and all it started.
    const npm = spawn("npm", ["start", "--silent"], { cwd: fileURLToPath(new URL("..", import.meta.url)), env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let output = "";
    npm.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => npm.on("exit", resolve));
    const within = <T>(promise: Promise<T>, what: string) =>
      Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} within 20 s: ${output}`)), 20_000))]);
    const ping = () => fetch(`http://127.0.0.1:${port}/ping`).then((response) => response.ok, () => false);
    try {
      await within(
        (async () => {
          while (!(await ping())) await new Promise((resolve) => setTimeout(resolve, 50));
        })(),
        "npm start did not serve /ping",
      );
      npm.kill("SIGTERM");
      expect(await within(exited, "npm start did not exit on SIGTERM")).toBe(0);
      // The server itself heard it: it said so, and nothing listens any more.
      expect(output).toContain("shutdown: every evaluation finished");
      expect(await ping()).toBe(false);
    } finally {
      try {
        process.kill(-npm.pid!, "SIGKILL");
      } catch {
        // Gone, as it should be.
      }
    }
  });
});
