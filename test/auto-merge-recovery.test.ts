// Auto-merge when what the App remembers is gone (a restart), when GitHub fails the gate's reads, and while another
// app's check suite is still creating check runs. Through probot.receive, with GitHub stood in for by nock.
import nock from "nock";
import { afterEach, describe, expect, it } from "vitest";
import { API, FakeGitHub, testApp, webhookExample } from "./helpers/github.js";
import { ACTIONS_APP, base, bump, checkSuiteCompleted, imageUpdate, mergingRecheckCalls, otherCheck, ourRun } from "./helpers/image-update.js";

let github: FakeGitHub | undefined;
afterEach(() => {
  github?.done();
  github = undefined;
});

/** GitHub's list of open pull requests: the stand-in's one pull request; returns the calls made to it. */
function openPulls(fake: FakeGitHub): string[] {
  const asked: string[] = [];
  nock(API)
    .persist()
    .get("/repos/acme/fleet/pulls")
    .query(true)
    .reply((uri) => (asked.push(uri), [200, fake.pull.state === "open" ? [fake.pull] : []]));
  return asked;
}

/** A commit status event on the head, as GitHub sends it: it names no pull request. */
function statusEvent(fake: FakeGitHub, state: "success" | "failure"): Record<string, any> {
  const status = webhookExample("status");
  Object.assign(status, { repository: fake.payload("pull_request", "opened").repository, sha: fake.headSha, state, context: "security/scan" });
  return status;
}

describe("auto-merge after a restart: a commit status names no pull request", () => {
  it("a status that turns green merges the image update waiting on it, found by its head sha; the sha is looked up once", async () => {
    github = new FakeGitHub({ base, head: bump, ...imageUpdate });
    github.statuses.push({ sha: github.headSha, context: "security/scan", state: "pending" });
    await testApp().deliver("pull_request", github.payload("pull_request", "opened"));
    expect(ourRun(github).output.summary).toContain("waiting for status `security/scan`");

    const restarted = testApp();
    const asked = openPulls(github);
    github.statuses[0]!.state = "success";
    await restarted.deliver("status", statusEvent(github, "success"));
    expect(asked).toEqual(["/repos/acme/fleet/pulls?state=open&per_page=100"]);
    expect(github.merges).toEqual([{ sha: github.headSha, merge_method: "squash" }]);
    expect(ourRun(github).output.summary).toContain(`Merged by fleet-warden (squash) at ${github.headSha}.`);
    expect(github.runsFor().filter((run) => run.app.slug === "fleet-warden")).toHaveLength(1);

    const before = github.calls.length;
    await restarted.deliver("status", statusEvent(github, "success"));
    expect(asked).toHaveLength(1);
    expect(github.callLines.slice(before)).toEqual([]);
  });

  it("a failed evaluation is not run again by every later status of its head (a CI step each)", async () => {
    github = new FakeGitHub({ base, head: bump, ...imageUpdate });
    openPulls(github);
    github.faults.push({ method: "GET", path: /\/tarball\//, status: 500, times: 1000 });
    const app = testApp();
    await app.deliver("pull_request", github.payload("pull_request", "opened"));
    expect(ourRun(github).conclusion).toBe("failure");
    const evaluations = () => github!.callLines.filter((line) => line.includes("/compare/")).length;
    const before = evaluations();
    for (let step = 0; step < 3; step++) await app.deliver("status", statusEvent(github, "success"));
    expect(evaluations()).toBe(before);
  });

  it("a pull request from a branch the base's imageUpdates.branches names is found, not only the default branches", async () => {
    const config = { ".github/fleet-warden.yml": 'imageUpdates:\n  branches: ["bot/images"]\n' };
    github = new FakeGitHub({ base: { ...base, ...config }, head: bump, author: "fluxcdbot", headBranch: "bot/images" });
    openPulls(github);
    await testApp().deliver("status", statusEvent(github, "success"));
    expect(github.merges).toEqual([{ sha: github.headSha, merge_method: "squash" }]);
  });

  it("a status on the head of a pull request from another branch evaluates nothing, and its sha is looked up once", async () => {
    // flux-image-updates is a default image-update branch, but this repository's config names another one.
    const config = { ".github/fleet-warden.yml": 'imageUpdates:\n  branches: ["bot/images"]\n' };
    github = new FakeGitHub({ base: { ...base, ...config }, head: bump, ...imageUpdate });
    const asked = openPulls(github);
    const app = testApp();
    // A burst of statuses (a CI step each) shares one lookup.
    await Promise.all([app.deliver("status", statusEvent(github, "failure")), app.deliver("status", statusEvent(github, "success"))]);
    expect(asked).toHaveLength(1);
    // The config at the base (the list gave the pull request's branches), and no evaluation.
    expect(github.callLines.filter((line) => !line.includes("/access_tokens"))).toEqual(["GET /repos/acme/fleet/contents/.github%2Ffleet-warden.yml"]);
    expect(github.checkRuns).toEqual([]);

    const before = github.calls.length;
    await app.deliver("status", statusEvent(github, "success"));
    expect(github.callLines.slice(before)).toEqual([]);
    expect(asked).toHaveLength(1);
  });

  it("a status on the head of a fork's pull request reads no config and evaluates nothing", async () => {
    github = new FakeGitHub({ base, head: bump, ...imageUpdate, fromFork: true });
    const asked = openPulls(github);
    await testApp().deliver("status", statusEvent(github, "success"));
    expect(asked).toHaveLength(1);
    expect(github.callLines).toEqual(["POST /app/installations/99/access_tokens"]);
  });
});

function retryingApp() {
  const retries: Array<{ retry: () => void; delayMs: number }> = [];
  const app = testApp({ deferRetry: (retry, delayMs) => void retries.push({ retry, delayMs }) });
  return { app, retries };
}

describe("a status's pull requests are looked up after the webhook is answered", () => {
  it("answers the webhook while GitHub has not yet answered the lookup, then merges", async () => {
    github = new FakeGitHub({ base, head: bump, ...imageUpdate });
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    nock(API)
      .get("/repos/acme/fleet/pulls")
      .query(true)
      .reply(async () => (await answered, [200, [github!.pull]]));
    const app = testApp();
    await app.probot.receive({ id: "status-1", name: "status", payload: statusEvent(github, "success") } as Parameters<typeof app.probot.receive>[0]);
    expect(github.merges).toEqual([]);
    answer();
    await app.scheduler.idle();
    expect(github.merges).toEqual([{ sha: github.headSha, merge_method: "squash" }]);
  });

  it("a lookup GitHub fails does not fail the webhook: it is asked once more a minute later, which merges", async () => {
    github = new FakeGitHub({ base, head: bump, ...imageUpdate });
    nock(API).get("/repos/acme/fleet/pulls").query(true).reply(502, { message: "Server Error" });
    const { app, retries } = retryingApp();
    await app.deliver("status", statusEvent(github, "success"));
    expect(github.checkRuns).toEqual([]);
    expect(retries.map((queued) => queued.delayMs)).toEqual([60_000]);

    openPulls(github);
    retries[0]!.retry();
    await app.scheduler.idle();
    expect(github.merges).toEqual([{ sha: github.headSha, merge_method: "squash" }]);
    expect(retries).toHaveLength(1);
  });

  it("a lookup that fails twice is not asked a third time", async () => {
    github = new FakeGitHub({ base, head: bump, ...imageUpdate });
    let asked = 0;
    nock(API)
      .persist()
      .get("/repos/acme/fleet/pulls")
      .query(true)
      .reply(() => (asked++, [502, { message: "Server Error" }]));
    const { app, retries } = retryingApp();
    await app.deliver("status", statusEvent(github, "success"));
    retries[0]!.retry();
    await app.scheduler.idle();
    expect(asked).toBe(2);
    expect(retries).toHaveLength(1);
    expect(github.checkRuns).toEqual([]);
  });
});

describe("auto-merge when GitHub fails the gate", () => {

  it("queues one recheck a minute later, which merges", async () => {
    github = new FakeGitHub({ base, head: bump, ...imageUpdate });
    otherCheck(github, "completed", "success");
    // Production: a 502 that outlasts plugin-retry's three retries.
    github.faults.push({ method: "GET", path: /\/commits\/[0-9a-f]+\/status\?/, status: 502, times: 1 });
    const { app, retries } = retryingApp();
    await app.deliver("pull_request", github.payload("pull_request", "opened"));
    expect(ourRun(github)).toMatchObject({ status: "completed", conclusion: "success" });
    expect(github.merges).toEqual([]);
    expect(retries.map((queued) => queued.delayMs)).toEqual([60_000]);

    const before = github.calls.length;
    retries[0]!.retry();
    await app.scheduler.idle();
    expect(github.merges).toEqual([{ sha: github.headSha, merge_method: "squash" }]);
    // Only the gate is looked at again.
    expect(github.callLines.slice(before)).toEqual(mergingRecheckCalls(github));
    expect(retries).toHaveLength(1);
  });

  it("a recheck that fails again is not queued again: the next check event merges", async () => {
    github = new FakeGitHub({ base, head: bump, ...imageUpdate });
    const ci = otherCheck(github, "in_progress");
    const { app, retries } = retryingApp();
    await app.deliver("pull_request", github.payload("pull_request", "opened"));
    expect(ourRun(github).output.summary).toContain("waiting for check run `ci/build`");

    Object.assign(ci, { status: "completed", conclusion: "success" });
    github.faults.push({ method: "GET", path: /\/commits\/[0-9a-f]+\/check-runs\?/, status: 503, times: 2 });
    await app.deliver("check_suite", checkSuiteCompleted(github));
    expect(retries).toHaveLength(1);
    retries[0]!.retry();
    await app.scheduler.idle();
    expect(retries).toHaveLength(1);
    expect(github.merges).toEqual([]);

    await app.deliver("check_suite", checkSuiteCompleted(github));
    expect(github.merges).toEqual([{ sha: github.headSha, merge_method: "squash" }]);
  });
});

describe("auto-merge and other apps' check suites", () => {
  it("waits for a running suite that has check runs (its later jobs are still to come), never for one with none", async () => {
    github = new FakeGitHub({ base, head: bump, ...imageUpdate });
    const build = otherCheck(github, "completed", "success");
    build.check_suite = { id: 5 };
    const workflow = { id: 5, head_sha: github.headSha, status: "in_progress", conclusion: null as string | null, latest_check_runs_count: 1, app: ACTIONS_APP };
    // GitHub creates a suite for every app with checks:write; one that never runs on the commit stays queued.
    const idle = { id: 6, head_sha: github.headSha, status: "queued", conclusion: null, latest_check_runs_count: 0, app: { id: 254, slug: "codecov" } };
    github.checkSuites.push(workflow, idle);
    const app = testApp();
    await app.deliver("pull_request", github.payload("pull_request", "opened"));
    expect(github.merges).toEqual([]);
    expect(ourRun(github).output.summary).toContain(
      "Eligible; waiting for check suite of `github-actions` (more check runs to come): it is merged as soon as the last one turns green.",
    );

    // The workflow's next job ran, and the suite completed.
    github.checkRuns.push({ ...build, id: 78, name: "ci/deploy-test", check_suite: { id: 5 } });
    Object.assign(workflow, { status: "completed", conclusion: "success", latest_check_runs_count: 2 });
    await app.deliver("check_suite", checkSuiteCompleted(github));
    expect(github.merges).toEqual([{ sha: github.headSha, merge_method: "squash" }]);
  });

  it("never merges past another app's suite that failed without a check run (a workflow file that does not parse)", async () => {
    github = new FakeGitHub({ base, head: bump, ...imageUpdate });
    github.checkSuites.push({ id: 7, head_sha: github.headSha, status: "completed", conclusion: "startup_failure", latest_check_runs_count: 0, app: ACTIONS_APP });
    // Abandoned for two weeks: GitHub's mark, not a result.
    github.checkSuites.push({ id: 8, head_sha: github.headSha, status: "completed", conclusion: "stale", latest_check_runs_count: 0, app: { id: 254, slug: "codecov" } });
    await testApp().deliver("pull_request", github.payload("pull_request", "opened"));
    expect(github.merges).toEqual([]);
    expect(ourRun(github).output.summary).toContain("Eligible, but not merged: check suite of `github-actions`: startup\\_failure.");
    expect(ourRun(github).output.summary).not.toContain("codecov");
  });

  it("names a suite whose check run is still running once, as that check run", async () => {
    github = new FakeGitHub({ base, head: bump, ...imageUpdate });
    otherCheck(github, "in_progress").check_suite = { id: 5 };
    github.checkSuites.push({ id: 5, head_sha: github.headSha, status: "in_progress", conclusion: null, latest_check_runs_count: 1, app: ACTIONS_APP });
    await testApp().deliver("pull_request", github.payload("pull_request", "opened"));
    expect(ourRun(github).output.summary).toContain("Eligible; waiting for check run `ci/build`: it is merged as soon as the last one turns green.");
  });
});
