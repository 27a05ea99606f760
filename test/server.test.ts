// End to end: the real Probot HTTP server, a correctly signed webhook and a wrongly signed one.
import { createHmac, generateKeyPairSync } from "node:crypto";
import nock from "nock";
import { Probot, ProbotOctokit, Server } from "probot";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, type EvaluationJob } from "../src/app/index.js";
import type { Scheduler } from "../src/app/scheduler.js";
import { APP_ID, FakeGitHub } from "./helpers/github.js";

const secret = "webhook-secret-for-tests";
const privateKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString();
const port = 20_000 + Math.floor(Math.random() * 20_000);
const url = `http://127.0.0.1:${port}`;

let server: Server;
let scheduler: Scheduler<EvaluationJob>;
let github: FakeGitHub;

beforeAll(async () => {
  nock.disableNetConnect();
  nock.enableNetConnect("127.0.0.1");
  process.env.APP_ID = String(APP_ID);
  github = new FakeGitHub({ base: { "a.yaml": "a: 1\n" }, head: { "a.yaml": "a: 2\n", "b.yaml": "b: [\n" } });
  const quiet = new Probot({ appId: APP_ID, privateKey, logLevel: "fatal" }).log;
  server = new Server({
    log: quiet,
    host: "127.0.0.1",
    port,
    Probot: Probot.defaults({
      appId: APP_ID,
      privateKey,
      secret,
      logLevel: "fatal",
      Octokit: ProbotOctokit.defaults((options: Record<string, unknown>) => ({ ...options, retry: { enabled: false }, throttle: { enabled: false } })),
    }),
  });
  await server.load(createApp({ onScheduler: (created) => (scheduler = created) }));
  await server.start();
});

afterAll(async () => {
  await server.stop();
  github.done();
  nock.enableNetConnect();
});

async function post(body: string, signature: string, delivery: string) {
  return fetch(`${url}/api/github/webhooks`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-github-event": "pull_request", "x-github-delivery": delivery, "x-hub-signature-256": signature },
    body,
  });
}

describe("the Probot HTTP server", () => {
  it("answers /ping", async () => {
    const response = await fetch(`${url}/ping`);
    expect(await response.text()).toBe("PONG");
  });

  it("rejects a wrongly signed webhook with 4xx and does nothing", async () => {
    const body = JSON.stringify(github.payload("pull_request", "opened"));
    const forged = `sha256=${createHmac("sha256", "not-the-secret").update(body).digest("hex")}`;
    const response = await post(body, forged, "forged-1");
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    await scheduler.idle();
    expect(github.calls).toEqual([]);
    expect(github.checkRuns).toEqual([]);
  });

  it("acknowledges a correctly signed webhook and completes the check run", async () => {
    const body = JSON.stringify(github.payload("pull_request", "opened"));
    const signature = `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
    const response = await post(body, signature, "signed-1");
    expect(response.status).toBe(200);
    await scheduler.idle();
    const runs = github.runsFor();
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: "completed", conclusion: "failure", annotations: [expect.objectContaining({ path: "b.yaml" })] });
  });
});
