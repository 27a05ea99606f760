// Auto-merge of image updates through probot.receive, with GitHub's API stood in for by nock.
import { afterEach, describe, expect, it } from "vitest";
import { FakeGitHub, testApp, webhookExample } from "./helpers/github.js";
import { base, bump, checkSuiteCompleted, configMap, imageUpdate, mergeCalls, mergingRecheckCalls, otherCheck, ourRun } from "./helpers/image-update.js";

let github: FakeGitHub | undefined;
afterEach(() => {
  github?.done();
  github = undefined;
});

describe("auto-merge of image updates", () => {
  it("merges an eligible pull request whose checks are all green, pinned to the evaluated sha", async () => {
    github = new FakeGitHub({ base, head: bump, ...imageUpdate });
    otherCheck(github, "completed", "success");
    github.statuses.push({ sha: github.headSha, context: "security/scan", state: "success" });
    const app = testApp();
    await app.deliver("pull_request", github.payload("pull_request", "opened"));

    expect(ourRun(github)).toMatchObject({ status: "completed", conclusion: "success" });
    expect(github.merges).toEqual([{ sha: github.headSha, merge_method: "squash" }]);
    expect(mergeCalls(github)).toHaveLength(1);
    const summary = ourRun(github).output.summary!;
    expect(summary).toContain("### Auto-merge: merged by fleet-warden");
    expect(summary).toContain(`Merged by fleet-warden (squash) at ${github.headSha}.`);
    expect(summary).toContain("line 8 of apps/web/kustomization.yaml: tag `1.4.2` → `1.4.3`");
    expect(github.unmatched).toEqual([]);
  });

  it("waits for a pending check, then merges on check_suite.completed", async () => {
    github = new FakeGitHub({ base, head: bump, ...imageUpdate });
    const ci = otherCheck(github, "in_progress");
    const app = testApp();
    await app.deliver("pull_request", github.payload("pull_request", "opened"));

    expect(github.merges).toEqual([]);
    expect(ourRun(github).output.summary).toContain("Eligible; waiting for check run `ci/build`: it is merged as soon as the last one turns green.");

    Object.assign(ci, { status: "completed", conclusion: "success" });
    const before = github.calls.length;
    await app.deliver("check_suite", checkSuiteCompleted(github));

    expect(github.merges).toEqual([{ sha: github.headSha, merge_method: "squash" }]);
    // Only the gate is looked at again: no new evaluation, no second check run.
    expect(github.callLines.slice(before)).toEqual(mergingRecheckCalls(github));
    expect(github.runsFor().filter((run) => run.app.slug === "fleet-warden")).toHaveLength(1);
  });

  it("waits for a pending commit status, then merges on the status event", async () => {
    github = new FakeGitHub({ base, head: bump, ...imageUpdate });
    github.statuses.push({ sha: github.headSha, context: "security/scan", state: "pending" });
    const app = testApp();
    await app.deliver("pull_request", github.payload("pull_request", "opened"));
    expect(github.merges).toEqual([]);
    expect(ourRun(github).output.summary).toContain("waiting for status `security/scan`");

    github.statuses[0]!.state = "success";
    const status = webhookExample("status");
    Object.assign(status, { repository: github.payload("pull_request", "opened").repository, sha: github.headSha, state: "success", context: "security/scan" });
    await app.deliver("status", status);
    expect(github.merges).toEqual([{ sha: github.headSha, merge_method: "squash" }]);
  });

  it("does not merge a pull request turned into a draft while its checks ran", async () => {
    github = new FakeGitHub({ base, head: bump, ...imageUpdate });
    const ci = otherCheck(github, "in_progress");
    const app = testApp();
    await app.deliver("pull_request", github.payload("pull_request", "opened"));
    github.pull.draft = true;
    Object.assign(ci, { status: "completed", conclusion: "success" });
    await app.deliver("check_suite", checkSuiteCompleted(github));
    expect(mergeCalls(github)).toEqual([]);
  });

  it("does not merge when another check failed, and says which", async () => {
    github = new FakeGitHub({ base, head: bump, ...imageUpdate });
    otherCheck(github, "completed", "failure");
    const app = testApp();
    await app.deliver("pull_request", github.payload("pull_request", "opened"));
    expect(mergeCalls(github)).toEqual([]);
    expect(ourRun(github).output.summary).toContain("Eligible, but not merged: check run `ci/build`: failure.");
  });

  it("merges once a failed check is re-run green: GitHub lists only the latest run of each check", async () => {
    github = new FakeGitHub({ base, head: bump, ...imageUpdate });
    const failed = otherCheck(github, "completed", "failure");
    github.checkRuns.push({ ...failed, id: failed.id + 1, conclusion: "success" });
    const app = testApp();
    await app.deliver("pull_request", github.payload("pull_request", "opened"));
    expect(github.merges).toEqual([{ sha: github.headSha, merge_method: "squash" }]);
  });

  it("does not merge while a same-named check of another suite failed: GitHub lists the latest run of each suite", async () => {
    github = new FakeGitHub({ base, head: bump, ...imageUpdate });
    const failed = { ...otherCheck(github, "completed", "failure"), check_suite: { id: 5 } };
    github.checkRuns.splice(0, github.checkRuns.length, failed, { ...failed, id: failed.id + 1, conclusion: "success", check_suite: { id: 6 } });
    const app = testApp();
    await app.deliver("pull_request", github.payload("pull_request", "opened"));
    expect(mergeCalls(github)).toEqual([]);
    expect(ourRun(github).output.summary).toContain("Eligible, but not merged: check run `ci/build`: failure.");
  });

  it("never merges a fork, even with the image-update branch name and green checks", async () => {
    github = new FakeGitHub({ base, head: bump, ...imageUpdate, fromFork: true });
    otherCheck(github, "completed", "success");
    const app = testApp();
    await app.deliver("pull_request", github.payload("pull_request", "opened"));
    await app.deliver("check_suite", checkSuiteCompleted(github));
    expect(mergeCalls(github)).toEqual([]);
    const summary = ourRun(github).output.summary!;
    expect(summary).toContain("### Auto-merge: not eligible");
    expect(summary).toContain("- the head branch is in a fork, not in this repository");
  });

  it("does not merge when the head moved between evaluation and merge (409), and evaluates the new head", async () => {
    github = new FakeGitHub({ base, head: bump, ...imageUpdate });
    const evaluatedSha = github.headSha;
    // A push lands after the gate looked at the checks, just before the merge call.
    github.afterCall = (call) => {
      if (call.path.endsWith("/status") && github!.headSha === evaluatedSha) {
        github!.push({ "apps/web/configmap.yaml": configMap("debug") });
      }
    };
    const app = testApp();
    await app.deliver("pull_request", github.payload("pull_request", "opened"));

    expect(mergeCalls(github).map((call) => call.body.sha)).toEqual([evaluatedSha]);
    expect(github.merges).toEqual([]);
    const newRun = ourRun(github);
    expect(newRun.head_sha).not.toBe(evaluatedSha);
    expect(newRun).toMatchObject({ status: "completed" });
    expect(newRun.output.summary).toContain("### Auto-merge: not eligible");
    expect(newRun.output.summary).toContain("- line 7 of apps/web/configmap.yaml changes `data.level`, which carries no image-policy marker");
  });

  it("does not merge on 405, says so once, and tries again at the next event", async () => {
    github = new FakeGitHub({ base, head: bump, ...imageUpdate });
    github.faults.push({ method: "PUT", path: /\/pulls\/7\/merge$/, status: 405, times: 1 });
    const app = testApp();
    await app.deliver("pull_request", github.payload("pull_request", "opened"));
    expect(mergeCalls(github)).toHaveLength(1);
    expect(github.merges).toEqual([]);
    expect(ourRun(github).output.summary).toContain("Eligible, but GitHub refused the merge (405: injected 405");

    await app.deliver("check_suite", checkSuiteCompleted(github));
    expect(mergeCalls(github)).toHaveLength(2);
    expect(github.merges).toEqual([{ sha: github.headSha, merge_method: "squash" }]);
  });

  it("reports a 5xx from the merge once and never retries it", async () => {
    github = new FakeGitHub({ base, head: bump, ...imageUpdate });
    github.faults.push({ method: "PUT", path: /\/pulls\/7\/merge$/, status: 502, times: 5 });
    const app = testApp();
    await app.deliver("pull_request", github.payload("pull_request", "opened"));
    await app.deliver("check_suite", checkSuiteCompleted(github));
    expect(mergeCalls(github)).toHaveLength(1);
    expect(ourRun(github).output.summary).toContain("Eligible, but the merge failed (502: injected 502). fleet-warden does not retry it: re-run this check to try again.");
  });

  it("lists every failed condition of an ineligible pull request from the image-update branch", async () => {
    github = new FakeGitHub({
      base,
      head: { ...bump, "apps/web/configmap.yaml": configMap("debug") },
      author: "mallory",
      headBranch: "flux-image-updates",
    });
    const app = testApp();
    await app.deliver("pull_request", github.payload("pull_request", "opened"));
    expect(mergeCalls(github)).toEqual([]);
    const summary = ourRun(github).output.summary!;
    expect(summary).toContain(
      [
        "### Auto-merge: not eligible",
        "- the author `mallory` is not in imageUpdates.authors (fluxcdbot)\n- line 7 of apps/web/configmap.yaml changes `data.level`, which carries no image-policy marker",
      ].join("\n\n"),
    );
  });

  it("never merges when someone else pushed a commit onto the bot's pull request, or GitHub maps a commit to no account", async () => {
    github = new FakeGitHub({ base, head: bump, ...imageUpdate, commitAuthors: ["fluxcdbot", "dev-alice", null] });
    otherCheck(github, "completed", "success");
    const app = testApp();
    await app.deliver("pull_request", github.payload("pull_request", "opened"));
    await app.deliver("check_suite", checkSuiteCompleted(github));
    expect(mergeCalls(github)).toEqual([]);
    expect(ourRun(github).output.summary).toContain(
      [
        "### Auto-merge: not eligible",
        "- commit 2 of 3 is authored by @\u200bdev-alice, not an imageUpdates author\n- GitHub maps no account to the author of commit 3 of 3",
      ].join("\n\n"),
    );
  });

  it("merges a pull request of several commits, all by imageUpdates authors", async () => {
    github = new FakeGitHub({ base, head: bump, ...imageUpdate, commitAuthors: ["fluxcdbot", "FluxCDBot"] });
    const app = testApp();
    await app.deliver("pull_request", github.payload("pull_request", "opened"));
    expect(github.merges).toEqual([{ sha: github.headSha, merge_method: "squash" }]);
    // The summary defuses mentions with a zero-width space.
    expect(ourRun(github).output.summary).toContain("its 2 commits are authored by @\u200bfluxcdbot, @\u200bFluxCDBot");
  });

  it("never merges a branch behind its base: its policies would be the merge base's", async () => {
    github = new FakeGitHub({ base, head: bump, ...imageUpdate });
    // The base moves on after the branch was cut: the pull request's base sha is the new tip, the merge base the old one.
    github.git.git("checkout", "--quiet", "main");
    github.git.git("commit", "--quiet", "--allow-empty", "-m", "platform moves on");
    github.pull.base.sha = github.git.git("rev-parse", "main").trim();
    otherCheck(github, "completed", "success");
    const app = testApp();
    await app.deliver("pull_request", github.payload("pull_request", "opened"));
    expect(mergeCalls(github)).toEqual([]);
    expect(ourRun(github).output.summary).toContain(
      "### Auto-merge: not eligible\n\n- the branch is behind its base: policies are read at the base tip only when it is up to date",
    );
    expect(github.unmatched).toEqual([]);
  });

  it("leaves an ordinary pull request alone: no gate, no merge", async () => {
    github = new FakeGitHub({ base, head: bump, author: "fluxcdbot", headBranch: "feature/tags" });
    const app = testApp();
    await app.deliver("pull_request", github.payload("pull_request", "opened"));
    await app.deliver("check_suite", checkSuiteCompleted(github));
    expect(github.calls.some((call) => call.path.endsWith("/status") || call.path.endsWith("/merge"))).toBe(false);
    expect(ourRun(github).output.summary).not.toContain("Auto-merge");
  });
});
