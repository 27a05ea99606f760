// The App through probot.receive, with GitHub's API stood in for by nock.
import { afterEach, describe, expect, it } from "vitest";
import { FakeGitHub, testApp } from "./helpers/github.js";
import { webDeployment } from "./helpers/manifests.js";

const brokenConfigMap = `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  color: "blue"
   size: "large"
`;

let github: FakeGitHub | undefined;
afterEach(() => {
  github?.done();
  github = undefined;
});

describe("pull_request events", () => {
  it("downloads both snapshots, lists the files, and completes one check run with the verdict", async () => {
    github = new FakeGitHub({
      base: { "apps/web.yaml": webDeployment("nginx:1.27") },
      head: { "apps/web.yaml": webDeployment("nginx:1.27"), "apps/broken.yaml": brokenConfigMap },
    });
    const app = testApp();
    await app.deliver("pull_request", github.payload("pull_request", "opened"));

    const runs = github.runsFor();
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ name: "fleet-warden", status: "completed", conclusion: "failure" });
    expect(runs[0]!.annotations).toEqual([
      {
        path: "apps/broken.yaml",
        start_line: 7,
        end_line: 7,
        annotation_level: "failure",
        title: "yaml-syntax: Invalid YAML: All mapping items must start at the same column",
        message: expect.stringContaining("docs/rules/yaml-syntax.md"),
      },
    ]);
    expect(runs[0]!.output.summary).toContain("apps/broken.yaml");
    expect(github.calls.filter((call) => call.path.includes("/tarball/"))).toHaveLength(2);
    expect(github.callLines.sort()).toEqual(
      [
        "POST /app/installations/99/access_tokens",
        `GET /repos/acme/fleet/pulls/7`,
        `GET /repos/acme/fleet/commits/${github.headSha}/check-runs`,
        "POST /repos/acme/fleet/check-runs",
        `GET /repos/acme/fleet/compare/${github.baseSha}...${github.headSha}`,
        "GET /repos/acme/fleet/pulls/7/files",
        "GET /repos/acme/fleet/pulls/7/reviews",
        `GET /repos/acme/fleet/tarball/${github.baseSha}`,
        `GET /repos/acme/fleet/tarball/${github.headSha}`,
        `GET codeload:/acme/fleet/legacy.tar.gz/${github.baseSha}`,
        `GET codeload:/acme/fleet/legacy.tar.gz/${github.headSha}`,
        `GET /repos/acme/fleet/pulls/7`,
        `PATCH /repos/acme/fleet/check-runs/${runs[0]!.id}`,
        "GET /repos/acme/fleet/pulls/7/comments",
      ].sort(),
    );
    expect(github.unmatched).toEqual([]);
  });

  it("passes a clean change and lists its objects in the summary", async () => {
    github = new FakeGitHub({
      base: { "apps/web.yaml": webDeployment("nginx:1.27") },
      head: { "apps/web.yaml": webDeployment("nginx:1.28") },
    });
    const app = testApp();
    await app.deliver("pull_request", github.payload("pull_request", "synchronize"));
    const [run] = github.runsFor();
    expect(run).toMatchObject({ status: "completed", conclusion: "success" });
    expect(run!.output.summary).toContain("modified `apps/v1` Deployment apps/web");
  });

  it("reads the base snapshot once for every push to the pull request", async () => {
    github = new FakeGitHub({
      base: { "apps/web.yaml": webDeployment("nginx:1.27") },
      head: { "apps/web.yaml": webDeployment("nginx:1.28") },
    });
    const app = testApp();
    await app.deliver("pull_request", github.payload("pull_request", "opened"));
    const firstHead = github.headSha;
    github.push({ "apps/web.yaml": webDeployment("nginx:1.29") });
    await app.deliver("pull_request", github.payload("pull_request", "synchronize"));

    const tarballs = github.callLines.filter((line) => line.includes("/tarball/"));
    expect(tarballs.slice(0, 2).sort()).toEqual([github.baseSha, firstHead].map((sha) => `GET /repos/acme/fleet/tarball/${sha}`).sort());
    expect(tarballs.slice(2)).toEqual([`GET /repos/acme/fleet/tarball/${github.headSha}`]);
    expect(github.runsFor()).toEqual([expect.objectContaining({ status: "completed", conclusion: "success" })]);
    expect(github.runsFor()[0]!.output.summary).toContain("modified `apps/v1` Deployment apps/web");
  });

  it("sends annotations 50 per call and keeps the summary within GitHub's limit", async () => {
    const broken = Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`apps/broken-${String(i).padStart(3, "0")}.yaml`, "a: [\n"]));
    github = new FakeGitHub({ base: { "README.md": "fleet\n" }, head: broken });
    const app = testApp();
    await app.deliver("pull_request", github.payload("pull_request", "opened"));
    const [run] = github.runsFor();
    expect(run!.annotations).toHaveLength(120);
    const updates = github.calls.filter((call) => call.method === "PATCH" && call.path.includes("/check-runs/"));
    expect(updates.map((call) => call.body.output.annotations?.length ?? 0)).toEqual([50, 50, 20]);
    expect(updates.map((call) => call.body.status ?? "in_progress")).toEqual(["in_progress", "in_progress", "completed"]);
    expect(run!.output.summary!.length).toBeLessThanOrEqual(65_535);
  });

  it("re-evaluates with a new check run when the check is re-run", async () => {
    github = new FakeGitHub({ base: { "a.yaml": "a: 1\n" }, head: { "a.yaml": "a: 2\n" } });
    const app = testApp();
    await app.deliver("pull_request", github.payload("pull_request", "opened"));
    const rerun = github.payload("check_run", "rerequested");
    rerun.check_run = { ...rerun.check_run, name: "fleet-warden", head_sha: github.headSha, app: { id: 4242 }, pull_requests: [{ number: github.number }] };
    await app.deliver("check_run", rerun);
    expect(github.runsFor().map((run) => run.status)).toEqual(["completed", "completed"]);

    const suite = github.payload("check_suite", "rerequested");
    suite.check_suite = { ...suite.check_suite, head_sha: github.headSha, app: { id: 4242 }, pull_requests: [{ number: github.number }] };
    await app.deliver("check_suite", suite);
    expect(github.runsFor()).toHaveLength(3);
  });

  it("ignores a re-run of somebody else's check", async () => {
    github = new FakeGitHub({ base: { "a.yaml": "a: 1\n" }, head: { "a.yaml": "a: 2\n" } });
    const app = testApp();
    const rerun = github.payload("check_run", "rerequested");
    rerun.check_run = { ...rerun.check_run, name: "other-ci", pull_requests: [{ number: github.number }] };
    await app.deliver("check_run", rerun);
    expect(github.calls.filter((call) => !call.path.includes("access_tokens"))).toEqual([]);
  });

  it("refuses a pull request of more than 3,000 files with a failed check that says so", async () => {
    github = new FakeGitHub({ base: { "a.yaml": "a: 1\n" }, head: { "a.yaml": "a: 2\n" } });
    github.pull.changed_files = 3001;
    const app = testApp();
    await app.deliver("pull_request", github.payload("pull_request", "opened"));
    const [run] = github.runsFor();
    expect(run).toMatchObject({ status: "completed", conclusion: "failure", output: { title: "Pull request too large to evaluate" } });
    expect(run!.output.summary).toContain("3001 files");
    expect(github.calls.some((call) => call.path.includes("/tarball/"))).toBe(false);
  });

  it("completes the check run with a failure when GitHub fails mid-evaluation", async () => {
    github = new FakeGitHub({ base: { "a.yaml": "a: 1\n" }, head: { "a.yaml": "a: 2\n" } });
    github.faults.push({ method: "GET", path: /\/pulls\/7\/files/, status: 502, times: 1 });
    const app = testApp();
    await app.deliver("pull_request", github.payload("pull_request", "opened"));
    const [run] = github.runsFor();
    expect(run).toMatchObject({ status: "completed", conclusion: "failure", output: { title: "Evaluation failed" } });
    expect(run!.output.summary).toContain("GitHub answered 502");
  });

  it("drops the result when the head moved during the evaluation", async () => {
    github = new FakeGitHub({ base: { "a.yaml": "a: 1\n" }, head: { "a.yaml": "a: 2\n" } });
    const firstSha = github.headSha;
    const app = testApp();
    // A push lands while the snapshots download: the confirmation before writing sees the new head.
    github.afterCall = (call) => {
      if (call.path.includes("/compare/")) github!.push({ "a.yaml": "a: 3\n" });
    };
    await app.deliver("pull_request", github.payload("pull_request", "synchronize"));
    const [run] = github.runsFor(firstSha);
    expect(run).toMatchObject({ status: "completed", conclusion: "cancelled", output: { title: "Superseded" } });
    expect(run!.output.summary).toContain(github.headSha);
    expect(github.runsFor(github.headSha)).toEqual([]);
    expect(github.reviewsPosted).toEqual([]);
  });
});
