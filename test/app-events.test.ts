// Which webhooks the App acts on, and how: the production entry's refusal of a missing webhook secret, a new base,
// "Re-run" (fork heads, older commits, other apps' suites), reviews that decide nothing, and work still queued
// when shutdown interrupts.
import { createHmac, generateKeyPairSync } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import nock from "nock";
import { pino } from "pino";
import type { Server } from "probot";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Interrupted } from "../src/app/evaluate-pull-request.js";
import { Scheduler } from "../src/app/scheduler.js";
import { start, StartRefused, webhookSecretProblem } from "../src/server.js";
import { API, APP_ID, BOT_LOGIN, FakeGitHub, testApp } from "./helpers/github.js";
import { base, bump, imageUpdate } from "./helpers/image-update.js";
import { webDeployment } from "./helpers/manifests.js";

let fakes: FakeGitHub[] = [];
/** A stand-in for GitHub, cleaned up after the test. */
function fake(options: ConstructorParameters<typeof FakeGitHub>[0]): FakeGitHub {
  const created = new FakeGitHub(options);
  fakes.push(created);
  return created;
}
afterEach(() => {
  for (const created of fakes) created.done();
  fakes = [];
  nock.enableNetConnect();
});

const changedImage = () => fake({ base: { "apps/web.yaml": webDeployment("nginx:1.27") }, head: { "apps/web.yaml": webDeployment("nginx:1.28") } });

/** Lets I/O run until `condition` holds (no timers). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

describe("the production entry and the webhook secret", () => {
  const saved = { ...process.env };
  // A port per test: fetch would reuse a kept-alive connection to the previous test's stopped server.
  let port: number;
  const privateKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString();
  let server: Server | undefined;
  let listeners: { SIGTERM: NodeJS.SignalsListener[]; SIGINT: NodeJS.SignalsListener[] };

  beforeEach(() => {
    nock.enableNetConnect("127.0.0.1");
    port = 20_000 + Math.floor(Math.random() * 20_000);
    listeners = { SIGTERM: process.listeners("SIGTERM"), SIGINT: process.listeners("SIGINT") };
    Object.assign(process.env, { APP_ID: String(APP_ID), PRIVATE_KEY: privateKey, HOST: "127.0.0.1", PORT: String(port), LOG_LEVEL: "silent", LOG_FORMAT: "json" });
    delete process.env.WEBHOOK_SECRET;
  });
  afterEach(async () => {
    await server?.stop();
    server = undefined;
    // start() registers the graceful shutdown, Probot's run() a SIGINT handler: neither belongs to the test process.
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      for (const listener of process.listeners(signal)) if (!listeners[signal].includes(listener)) process.removeListener(signal, listener);
    }
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  });

  it("names the problem: a secret not set or Probot's public default, with an App id", () => {
    expect(webhookSecretProblem({ APP_ID: "1" })).toBe(
      'WEBHOOK_SECRET is not set: anyone could send fleet-warden webhooks signed with "development". Set WEBHOOK_SECRET to the App\'s webhook secret (GitHub: the App\'s settings, "Webhook secret").',
    );
    expect(webhookSecretProblem({ APP_ID: "1", WEBHOOK_SECRET: "" })).toMatch(/^WEBHOOK_SECRET is not set: /);
    expect(webhookSecretProblem({ APP_ID: "1", WEBHOOK_SECRET: "development" })).toMatch(/^WEBHOOK_SECRET is Probot's public default "development": /);
    expect(webhookSecretProblem({ APP_ID: "1", WEBHOOK_SECRET: "s3cr3t" })).toBeUndefined();
    // No App id: Probot's setup page, which takes no webhooks.
    expect(webhookSecretProblem({})).toBeUndefined();
  });

  it("refuses to start without WEBHOOK_SECRET, and with the secret 'development': nothing listens", async () => {
    await expect(start()).rejects.toThrow(new StartRefused(webhookSecretProblem()!));
    process.env.WEBHOOK_SECRET = "development";
    await expect(start()).rejects.toBeInstanceOf(StartRefused);
    await expect(fetch(`http://127.0.0.1:${port}/ping`)).rejects.toThrow();
  });

  it("(control) starts with a real secret, and rejects a webhook signed with 'development'", async () => {
    process.env.WEBHOOK_SECRET = "the-real-secret";
    server = await start();
    expect(await (await fetch(`http://127.0.0.1:${port}/ping`)).text()).toBe("PONG");
    const body = JSON.stringify({ action: "opened", issue: { number: 1 }, repository: { name: "x", owner: { login: "y" } }, installation: { id: 1 } });
    const response = await fetch(`http://127.0.0.1:${port}/api/github/webhooks`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "issues",
        "x-github-delivery": "signed-with-development",
        "x-hub-signature-256": `sha256=${createHmac("sha256", "development").update(body).digest("hex")}`,
      },
      body,
    });
    expect(response.status).toBe(400);
  });

  it("(control) without APP_ID serves Probot's setup page", async () => {
    delete process.env.APP_ID;
    process.env.NO_SMEE_SETUP = "true";
    server = await start();
    expect((await fetch(`http://127.0.0.1:${port}/probot`)).status).toBe(200);
  });
});

describe("commits pushed onto someone else's pull request", () => {
  const opened = (commitAuthors: string[]) =>
    fake({ base: { ".github/CODEOWNERS": "* @plat-bob\n", "apps/web.yaml": webDeployment("nginx:1.27") }, head: { "apps/web.yaml": webDeployment("nginx:1.28") }, author: "plat-bob", commitAuthors });

  it("are asked of GitHub: the owner's own commits pass", async () => {
    const own = opened(["plat-bob"]);
    await testApp().deliver("pull_request", own.payload("pull_request", "opened"));
    expect(own.runsFor().map((run) => run.conclusion)).toEqual(["success"]);
    expect(own.callLines).toContain("GET /repos/acme/fleet/pulls/7/commits");
  });

  it("a pull request GitHub names no author of is judged as nobody's: owners must approve", async () => {
    const github = opened([]);
    github.pull.user = null;
    await testApp().deliver("pull_request", github.payload("pull_request", "opened"));
    expect(github.runsFor().map((run) => run.conclusion)).toEqual(["failure"]);
    expect(github.runsFor()[0]!.output.summary).toContain("tenant-ownership");
  });

  it("past GitHub's listing of 250 commits, are unknown: the opener's ownership is not credited, and the summary says why", async () => {
    const many = opened(Array.from({ length: 250 }, () => "plat-bob"));
    await testApp().deliver("pull_request", many.payload("pull_request", "opened"));
    expect(many.runsFor().map((run) => run.conclusion)).toEqual(["failure"]);
    expect(many.runsFor()[0]!.output.summary).toContain("Could not list the pull request's commits (GitHub lists only the first 250 commits of a pull request, so the authors of the others are unknown)");
  });

  it("are not covered by the opener's ownership", async () => {
    const pushedOnto = opened(["plat-bob", "dev-alice"]);
    await testApp().deliver("pull_request", pushedOnto.payload("pull_request", "opened"));
    expect(pushedOnto.runsFor().map((run) => run.conclusion)).toEqual(["failure"]);
    // Mentions are defused in the summary (a zero-width space after @): nobody is notified.
    expect(pushedOnto.runsFor()[0]!.output.summary).toContain("carries commits by @\u200bdev-alice, not only by @\u200bplat-bob");
  });
});

describe("a pull request behind its base", () => {
  it("reads the base branch's tip too, and judges by the tenants it defines now", async () => {
    const pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: dev-team\nspec:\n  containers:\n    - name: c\n      image: nginx:1.27\n      securityContext:\n        privileged: true\n";
    const onboarding =
      "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: dev-team\n  namespace: dev-team\nspec:\n  interval: 10m\n  path: ./apps/dev-team\n  serviceAccountName: dev-team\n  targetNamespace: dev-team\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n    namespace: flux-system\n";
    const github = fake({ base: { "README.md": "fleet\n" }, head: { "apps/dev-team/pod.yaml": pod } });
    const cutFrom = github.baseSha;
    github.git.git("checkout", "--quiet", "main");
    mkdirSync(`${github.git.dir}/tenants/dev-team`, { recursive: true });
    writeFileSync(`${github.git.dir}/tenants/dev-team/sync.yaml`, onboarding);
    github.git.git("add", "--all");
    github.git.git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "onboard dev-team");
    github.baseSha = github.git.git("rev-parse", "main").trim();
    github.pull.base = { ...github.pull.base, sha: github.baseSha };

    await testApp().deliver("pull_request", github.payload("pull_request", "opened"));
    expect(github.callLines.filter((line) => line.includes("/tarball/"))).toEqual(
      expect.arrayContaining([`GET /repos/acme/fleet/tarball/${cutFrom}`, `GET /repos/acme/fleet/tarball/${github.baseSha}`]),
    );
    expect(github.runsFor().map((run) => run.conclusion)).toEqual(["failure"]);
    expect(github.runsFor()[0]!.output.summary).toMatch(/pod-privileged[\s\S]*apps\/dev-team\/pod\.yaml/);
  });
});

describe("a new base (pull_request.edited)", () => {
  /** Commits a stricter policy on a new branch `production` and retargets the pull request to it. */
  function retargetToStrictBase(github: FakeGitHub): void {
    github.git.git("checkout", "--quiet", "-b", "production", "main");
    mkdirSync(`${github.git.dir}/.github`, { recursive: true });
    writeFileSync(`${github.git.dir}/.github/CODEOWNERS`, "* @acme/platform\n");
    github.git.git("add", "--all");
    github.git.git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "strict");
    github.baseSha = github.git.git("rev-parse", "production").trim();
    github.pull.base = { ...github.pull.base, sha: github.baseSha, ref: "production" };
  }

  it("evaluates the head again against the new base's policy, in a new check run", async () => {
    const github = changedImage();
    const app = testApp();
    await app.deliver("pull_request", github.payload("pull_request", "opened"));
    expect(github.runsFor().map((run) => run.conclusion)).toEqual(["success"]);

    retargetToStrictBase(github);
    const edited = { ...github.payload("pull_request", "opened"), action: "edited", changes: { base: { ref: { from: "main" }, sha: { from: "0".repeat(40) } } } };
    await app.deliver("pull_request", edited);
    expect(github.runsFor().map((run) => [run.status, run.conclusion])).toEqual([
      ["completed", "success"],
      ["completed", "failure"],
    ]);
    expect(github.runsFor()[1]!.output.summary).toContain("@acme/platform");
  });

  it("never publishes, nor merges, a verdict judged against the old base when the pull request is retargeted meanwhile", async () => {
    // An image update that main's policy would merge.
    const github = fake({ base, head: bump, ...imageUpdate });
    const app = testApp();
    const edits: Promise<unknown>[] = [];
    github.afterCall = (call) => {
      if (edits.length > 0 || !call.path.endsWith(`/tarball/${github.headSha}`)) return;
      retargetToStrictBase(github);
      const edited = { ...github.payload("pull_request", "opened"), action: "edited", changes: { base: { ref: { from: "main" }, sha: { from: "0".repeat(40) } } } };
      edits.push(app.deliver("pull_request", edited));
    };
    await app.deliver("pull_request", github.payload("pull_request", "opened"));
    await Promise.all(edits);
    expect(github.merges).toEqual([]);
    expect(github.runsFor().map((run) => [run.conclusion, run.output.title])).toEqual([
      ["cancelled", "Superseded"],
      ["failure", expect.any(String)],
    ]);
    expect(github.runsFor()[0]!.output.summary).toContain("retargeted to production while this commit was being evaluated against main");
  });

  it("ignores an edit of the title or the description", async () => {
    const github = changedImage();
    const app = testApp();
    const edited = { ...github.payload("pull_request", "opened"), action: "edited", changes: { title: { from: "Old title" } } };
    await app.deliver("pull_request", edited);
    expect(github.calls).toEqual([]);
  });
});

describe("re-run", () => {
  function rerun(github: FakeGitHub, sha: string, pullRequests: Array<{ number: number }>) {
    const payload = github.payload("check_run", "rerequested");
    payload.check_run = { ...payload.check_run, name: "fleet-warden", head_sha: sha, app: { id: APP_ID }, pull_requests: pullRequests };
    return payload;
  }

  /** GitHub's list of open pull requests: ours, and another one headed elsewhere. */
  function openPulls(github: FakeGitHub): string[] {
    const asked: string[] = [];
    nock(API)
      .get("/repos/acme/fleet/pulls")
      .query(true)
      .reply((uri) => {
        asked.push(uri);
        return [200, [{ ...github.pull, number: 8, head: { ...github.pull.head, sha: "e".repeat(40) } }, github.pull]];
      });
    return asked;
  }

  it("of a pull request from a fork (GitHub sends pull_requests: []) finds the pull request by its head and evaluates it in a new run", async () => {
    const github = fake({ base: { "a.yaml": "a: 1\n" }, head: { "a.yaml": "a: 2\n" }, fromFork: true });
    github.faults.push({ method: "GET", path: /\/pulls\/7\/files/, status: 502, times: 1 });
    const app = testApp();
    await app.deliver("pull_request", github.payload("pull_request", "opened"));
    expect(github.runsFor()[0]!.output.summary).toContain("Re-run the check to try again.");

    const asked = openPulls(github);
    await app.deliver("check_run", rerun(github, github.headSha, []));
    expect(asked).toEqual(["/repos/acme/fleet/pulls?state=open&per_page=100"]);
    expect(github.runsFor().map((run) => run.conclusion)).toEqual(["failure", "success"]);
    expect(github.unmatched).toEqual([]);
  });

  it("of a commit no open pull request is headed by does nothing", async () => {
    const github = fake({ base: { "a.yaml": "a: 1\n" }, head: { "a.yaml": "a: 2\n" }, fromFork: true });
    const app = testApp();
    const asked = openPulls(github);
    await app.deliver("check_run", rerun(github, "d".repeat(40), []));
    expect(asked).toHaveLength(1);
    expect(github.calls.filter((call) => !call.path.includes("access_tokens"))).toEqual([]);
  });

  it("of an older commit's run leaves the current head with its one run", async () => {
    const github = fake({ base: { "a.yaml": "a: 1\n" }, head: { "a.yaml": "a: 2\n" } });
    const app = testApp();
    await app.deliver("pull_request", github.payload("pull_request", "opened"));
    const oldSha = github.headSha;
    github.push({ "a.yaml": "a: 3\n" });
    await app.deliver("pull_request", github.payload("pull_request", "synchronize"));

    await app.deliver("check_run", rerun(github, oldSha, [{ number: github.number }]));
    expect({ head: github.runsFor().length, old: github.runsFor(oldSha).length }).toEqual({ head: 1, old: 1 });
    expect(github.calls.filter((call) => call.method === "POST" && call.path.endsWith("/check-runs"))).toHaveLength(2);
  });

  it("ignores another app's check suite re-run (GitHub Actions' 'Re-run all')", async () => {
    const github = fake({ base: { "a.yaml": "a: 1\n" }, head: { "a.yaml": "a: 2\n" } });
    const app = testApp();
    await app.deliver("pull_request", github.payload("pull_request", "opened"));
    const before = github.calls.length;
    const suite = github.payload("check_suite", "rerequested");
    suite.check_suite = { ...suite.check_suite, head_sha: github.headSha, app: { id: 15368, slug: "github-actions" }, pull_requests: [{ number: github.number }] };
    await app.deliver("check_suite", suite);
    expect(github.callLines.slice(before)).toEqual([]);

    // Our own suite's re-run still gets its new run.
    suite.check_suite = { ...suite.check_suite, app: { id: APP_ID, slug: "fleet-warden" } };
    await app.deliver("check_suite", suite);
    expect(github.runsFor()).toHaveLength(2);
  });
});

describe("reviews", () => {
  function review(github: FakeGitHub, state: string, user: { login: string; type: string }) {
    const payload = github.payload("pull_request_review", "submitted");
    payload.review = { ...payload.review, state, user, commit_id: github.headSha };
    return payload;
  }

  /** GitHub's `GET /app` (with the App's JWT): the App's slug. */
  function appEndpoint(): string[] {
    const asked: string[] = [];
    nock(API)
      .get("/app")
      .reply((uri) => (asked.push(uri), [200, { id: APP_ID, slug: "fleet-warden" }]));
    return asked;
  }

  it("ignores fleet-warden's own comment review, as it comes back as a webhook", async () => {
    const github = changedImage();
    const app = testApp();
    await app.deliver("pull_request_review", review(github, "commented", { login: BOT_LOGIN, type: "Bot" }));
    expect(github.calls).toEqual([]);
  });

  it("ignores a person's comment review, and a decisive review by fleet-warden's own bot", async () => {
    const github = changedImage();
    const app = testApp();
    const asked = appEndpoint();
    await app.deliver("pull_request_review", review(github, "commented", { login: "dev-bob", type: "User" }));
    await app.deliver("pull_request_review", review(github, "changes_requested", { login: BOT_LOGIN, type: "Bot" }));
    expect(asked).toEqual(["/app"]);
    expect(github.calls).toEqual([]);
  });

  it("(control) evaluates on a person's approval and on another bot's", async () => {
    const github = changedImage();
    const app = testApp();
    appEndpoint();
    await app.deliver("pull_request_review", review(github, "approved", { login: "dev-bob", type: "User" }));
    expect(github.runsFor()).toHaveLength(1);
    await app.deliver("pull_request_review", review(github, "approved", { login: "renovate[bot]", type: "Bot" }));
    expect(github.calls.filter((call) => call.path === "/repos/acme/fleet/pulls/7/reviews")).toHaveLength(2);
  });
});

describe("shutdown past its grace period", () => {
  beforeEach(() => {
    process.env.EVALUATION_CONCURRENCY = "1";
  });
  afterEach(() => {
    delete process.env.EVALUATION_CONCURRENCY;
  });

  it("starts none of the evaluations still queued, logs each at warn, marks each head not evaluated in one write, and refuses new webhooks", async () => {
    const github = ["a", "b", "c"].map((name) => fake({ repo: `fleet-${name}`, base: { "apps/web.yaml": webDeployment("nginx:1.27") }, head: { "apps/web.yaml": webDeployment("nginx:1.28") } }));
    let release!: () => void;
    github[0]!.faults.push({ method: "GET", path: /\/tarball\//, times: 1, until: new Promise<void>((resolve) => (release = resolve)) });
    const lines: Array<Record<string, any>> = [];
    const abort = new AbortController();
    const app = testApp({ signal: abort.signal, deadlineMs: 60 * 60 * 1000, log: pino({ level: "warn" }, { write: (line: string) => void lines.push(JSON.parse(line)) }) });
    for (const each of github) await app.probot.receive({ id: `queued-${each.repo}`, name: "pull_request", payload: each.payload("pull_request", "opened") } as never);
    await until(() => github[0]!.calls.some((call) => call.path.includes("/tarball/")));

    abort.abort(new Interrupted("fleet-warden was stopped (a restart or a deployment) before it finished."));
    release();
    await app.scheduler.idle();

    // The webhooks were answered, so GitHub sends nothing again: each head shows why it was not evaluated.
    expect(github.map((each) => each.checkRuns.map((run) => `${run.status}/${run.conclusion}/${run.output.title}`))).toEqual([
      ["completed/failure/Evaluation interrupted"],
      ["completed/failure/Evaluation interrupted"],
      ["completed/failure/Evaluation interrupted"],
    ]);
    expect(github.slice(1).map((each) => each.calls.map((call) => `${call.method} ${call.path.replace(/\?.*/, "")}`))).toEqual(
      github.slice(1).map((each) => [`GET /repos/acme/${each.repo}/pulls/7`, `GET /repos/acme/${each.repo}/commits/${each.headSha}/check-runs`, `POST /repos/acme/${each.repo}/check-runs`]),
    );
    const dropped = lines.filter((line) => line.msg === "shutdown: evaluation dropped before it started");
    expect(dropped.map(({ level, repository, pull, delivery }) => ({ level, repository, pull, delivery }))).toEqual([
      { level: 40, repository: "acme/fleet-b", pull: 7, delivery: "queued-fleet-b" },
      { level: 40, repository: "acme/fleet-c", pull: 7, delivery: "queued-fleet-c" },
    ]);
    await expect(app.probot.receive({ id: "after-abort", name: "pull_request", payload: github[1]!.payload("pull_request", "synchronize") } as never)).rejects.toThrow(
      "fleet-warden is shutting down",
    );
  });

  it("marks the new head of a pull request whose push waited behind its running evaluation", async () => {
    const github = changedImage();
    let release!: () => void;
    github.faults.push({ method: "GET", path: /\/tarball\//, times: 1, until: new Promise<void>((resolve) => (release = resolve)) });
    const abort = new AbortController();
    const app = testApp({ signal: abort.signal, deadlineMs: 60 * 60 * 1000 });
    const oldSha = github.headSha;
    await app.probot.receive({ id: "opened", name: "pull_request", payload: github.payload("pull_request", "opened") } as never);
    await until(() => github.calls.some((call) => call.path.includes("/tarball/")));
    github.push({ "apps/web.yaml": webDeployment("nginx:1.29") });
    // Answered 2xx: GitHub never sends it again.
    await app.probot.receive({ id: "sync", name: "pull_request", payload: github.payload("pull_request", "synchronize") } as never);

    abort.abort(new Interrupted("fleet-warden was stopped (a restart or a deployment) before it finished."));
    release();
    await app.scheduler.idle();

    expect(github.runsFor().map((run) => `${run.status}/${run.conclusion}/${run.output.title}`)).toEqual(["completed/failure/Evaluation interrupted"]);
    expect(github.runsFor()[0]!.output.summary).toContain("Re-run the check to evaluate it.");
    expect(github.runsFor(oldSha).every((run) => run.status === "completed")).toBe(true);
  });

  it("the scheduler drops the job waiting behind a running one of its key, and takes none after", async () => {
    const abort = new AbortController();
    const ran: string[] = [];
    const dropped: string[] = [];
    let finish!: () => void;
    const scheduler = new Scheduler<{ key: string; name: string }>({
      run: async (job) => {
        ran.push(job.name);
        await new Promise<void>((resolve) => (finish = resolve));
      },
      signal: abort.signal,
      onDropped: (job) => void dropped.push(job.name),
    });
    scheduler.schedule({ key: "pr", name: "first" });
    scheduler.schedule({ key: "pr", name: "second" });
    abort.abort();
    expect(dropped).toEqual(["second"]);
    expect(scheduler.schedule({ key: "other", name: "third" })).toBe(false);
    finish();
    await scheduler.idle();
    expect(ran).toEqual(["first"]);
    expect(scheduler.busy).toBe(0);
  });
});
