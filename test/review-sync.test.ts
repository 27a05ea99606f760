// Which review comments are ours to edit or delete: only our App's, never another bot's that carries our marker;
// and which of ours still stand: one a push left outdated (its suggestion can no longer be applied) is posted again.
import { ProbotOctokit } from "probot";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Octokit } from "../src/github/octokit.js";
import { syncReview } from "../src/github/review.js";
import { commentMarker, type ReviewComment } from "../src/report/review.js";
import { BOT_LOGIN, FakeGitHub, type ReviewCommentState } from "./helpers/github.js";
import { realSetImmediate } from "./helpers/production-app.js";

let github: FakeGitHub | undefined;
afterEach(() => {
  github?.done();
  github = undefined;
});

describe("syncReview", () => {
  it("leaves a marked comment of another bot alone, whether or not our own login is known", async () => {
    github = new FakeGitHub({
      base: { "apps/web.yaml": "a: 1\n" },
      head: { "apps/web.yaml": "a: 2\n" },
      // Another bot echoing pull request content, marker included.
      comments: [{ path: "apps/web.yaml", line: 1, body: "echo <!-- fleet-warden:deadbeefdeadbeef -->", user: { login: "github-actions[bot]", type: "Bot" } }],
    });
    const octokit = new ProbotOctokit({ auth: "test-token", retry: { enabled: false }, throttle: { enabled: false } }) as unknown as Octokit;
    const repo = { owner: "acme", repo: "fleet" };
    for (const botLogin of [BOT_LOGIN, undefined]) {
      expect(await syncReview(octokit, repo, 7, github.headSha, [], botLogin)).toEqual({ created: 0, updated: 0, deleted: 0 });
    }
    expect(github.calls.filter((call) => call.method !== "GET")).toEqual([]);
    expect(github.comments.map((comment) => comment.user.login)).toEqual(["github-actions[bot]"]);
  });
});

describe("syncReview at its limit", () => {
  it("keeps the suggestions already posted and fills only what room is left; the rest wait", async () => {
    const text = "a: 1\nb: 1\nc: 1\n";
    const comment = (key: string, line: number): ReviewComment => ({ key, path: "apps/web.yaml", line, body: `fix ${key}\n${commentMarker(key)}` });
    github = new FakeGitHub({
      base: { "apps/web.yaml": "a: 0\nb: 0\nc: 0\n" },
      head: { "apps/web.yaml": text },
      comments: ["bbbbbbbbbbbbbbbb", "cccccccccccccccc"].map((key, index) => ({ path: "apps/web.yaml", line: index + 2, body: `fix ${key}\n${commentMarker(key)}`, user: { login: BOT_LOGIN, type: "Bot" } })),
    });
    const octokit = new ProbotOctokit({ auth: "test-token", retry: { enabled: false }, throttle: { enabled: false } }) as unknown as Octokit;
    const wanted = [comment("aaaaaaaaaaaaaaaa", 1), comment("bbbbbbbbbbbbbbbb", 2), comment("cccccccccccccccc", 3)];
    // A new finding that sorts first does not push a standing suggestion out.
    expect(await syncReview(octokit, { owner: "acme", repo: "fleet" }, 7, github.headSha, wanted, BOT_LOGIN, { limit: 2 })).toEqual({ created: 0, updated: 0, deleted: 0 });
    expect(github.calls.filter((call) => call.method !== "GET")).toEqual([]);
    // One dealt with: the waiting one takes its place.
    expect(await syncReview(octokit, { owner: "acme", repo: "fleet" }, 7, github.headSha, [wanted[0]!, wanted[2]!], BOT_LOGIN, { limit: 2 })).toEqual({ created: 1, updated: 0, deleted: 1 });
    expect(github.comments.map((posted) => posted.line).sort()).toEqual([1, 3]);
  });
});

describe("syncReview after a push", () => {
  const repo = { owner: "acme", repo: "fleet" };
  const octokit = () => new ProbotOctokit({ auth: "test-token", retry: { enabled: false }, throttle: { enabled: false } }) as unknown as Octokit;
  const KEY = "0123456789abcdef";
  const body = `**error** replicas: use 2\n\n\`\`\`\`suggestion\nreplicas: 2\n\`\`\`\`\n${commentMarker(KEY)}`;
  /** The finding, wanted on `line` of the head. */
  const wanted = (line: number): ReviewComment[] => [{ key: KEY, path: "apps/web.yaml", line, body }];
  /** Our comment from an earlier evaluation, on `line`. */
  const ours = (line: number | null) => ({ path: "apps/web.yaml", line: line as number, body, user: { login: BOT_LOGIN, type: "Bot" } });
  const bodies = (comments: ReviewCommentState[]) => comments.map(({ line, commit_id, user }) => ({ line, commit_id, login: user.login }));
  const writes = () => github!.calls.filter((call) => call.method !== "GET").map((call) => `${call.method} ${call.path}`);

  /** The pull request set replicas to 1 on line 2, and an earlier evaluation commented there; then `pushed`. */
  function pushedAfterComment(pushed: string): FakeGitHub {
    const fake = new FakeGitHub({ base: { "apps/web.yaml": "name: web\nreplicas: 3\nimage: web:1\n" }, head: { "apps/web.yaml": "name: web\nreplicas: 1\nimage: web:1\n" }, comments: [ours(2)] });
    fake.push({ "apps/web.yaml": pushed });
    return fake;
  }

  it("posts again on the head a suggestion GitHub shows outdated (line null), then deletes the old one", async () => {
    github = new FakeGitHub({ base: { "apps/web.yaml": "replicas: 3\n" }, head: { "apps/web.yaml": "replicas: 1\n" }, comments: [ours(null)] });
    const [old] = github.comments;
    expect(await syncReview(octokit(), repo, 7, github.headSha, wanted(1), BOT_LOGIN)).toEqual({ created: 1, updated: 0, deleted: 1 });
    expect(writes()).toEqual(["POST /repos/acme/fleet/pulls/7/reviews", `DELETE /repos/acme/fleet/pulls/comments/${old!.id}`]);
    expect(bodies(github.comments)).toEqual([{ line: 1, commit_id: github.headSha, login: BOT_LOGIN }]);
  });

  it("posts again a suggestion whose line is not the finding's any more", async () => {
    github = new FakeGitHub({ base: { "apps/web.yaml": "a: 1\nreplicas: 3\n" }, head: { "apps/web.yaml": "a: 1\nreplicas: 1\n" }, comments: [ours(1)] });
    expect(await syncReview(octokit(), repo, 7, github.headSha, wanted(2), BOT_LOGIN)).toEqual({ created: 1, updated: 0, deleted: 1 });
    expect(bodies(github.comments)).toEqual([{ line: 2, commit_id: github.headSha, login: BOT_LOGIN }]);
  });

  it("posts again a suggestion on an older commit whose line a push rewrote (still failing)", async () => {
    github = pushedAfterComment("name: web\nreplicas: 1 # for now\nimage: web:1\n");
    expect(await syncReview(octokit(), repo, 7, github.headSha, wanted(2), BOT_LOGIN)).toEqual({ created: 1, updated: 0, deleted: 1 });
    expect(bodies(github.comments)).toEqual([{ line: 2, commit_id: github.headSha, login: BOT_LOGIN }]);
  });

  it("posts again a suggestion on lines 2-3 of an older commit when a push rewrote line 2 only", async () => {
    github = pushedAfterComment("name: web\nreplicas: 1 # for now\nimage: web:1\n");
    Object.assign(github.comments[0]!, { line: 3, start_line: 2 });
    expect(await syncReview(octokit(), repo, 7, github.headSha, [{ ...wanted(3)[0]!, startLine: 2 }], BOT_LOGIN)).toEqual({ created: 1, updated: 0, deleted: 1 });
    expect(bodies(github.comments)).toEqual([{ line: 3, commit_id: github.headSha, login: BOT_LOGIN }]);
  });

  it("keeps a suggestion on an older commit whose lines a push left alone or only moved (GitHub moves it to the head)", async () => {
    for (const [pushed, line] of [
      ["name: web\nreplicas: 1\nimage: web:2\n", 2],
      ["# the web app\nname: web\nreplicas: 1\nimage: web:1\n", 3],
      ["# the web app\nname: web\nreplicas: 1\nimage: web:2\n", 3],
    ] as const) {
      github?.done();
      github = pushedAfterComment(pushed);
      expect(await syncReview(octokit(), repo, 7, github.headSha, wanted(line), BOT_LOGIN)).toEqual({ created: 0, updated: 0, deleted: 0 });
      expect(writes()).toEqual([]);
    }
  });

  it("keeps a comment whose older file GitHub failed to send, and still posts the new suggestions", async () => {
    github = pushedAfterComment("name: web\nreplicas: 1\nimage: web:2\n");
    github.faults.push({ method: "GET", path: /\/contents\//, status: 502, times: 1 });
    const other = "fedcba9876543210";
    const wantedToo: ReviewComment[] = [...wanted(2), { key: other, path: "apps/web.yaml", line: 3, body: `new\n${commentMarker(other)}` }];
    expect(await syncReview(octokit(), repo, 7, github.headSha, wantedToo, BOT_LOGIN)).toEqual({ created: 1, updated: 0, deleted: 0 });
    expect(github.comments.map((comment) => comment.line).sort()).toEqual([2, 3]);
  });

  it("keeps one of two comments of ours for the same finding and deletes the other", async () => {
    github = new FakeGitHub({ base: { "apps/web.yaml": "replicas: 3\n" }, head: { "apps/web.yaml": "replicas: 1\n" }, comments: [ours(1), ours(1)] });
    const [kept, extra] = github.comments;
    expect(await syncReview(octokit(), repo, 7, github.headSha, wanted(1), BOT_LOGIN)).toEqual({ created: 0, updated: 0, deleted: 1 });
    expect(github.comments.map((comment) => comment.id)).toEqual([kept!.id]);
    expect(writes()).toEqual([`DELETE /repos/acme/fleet/pulls/comments/${extra!.id}`]);
  });

  it("after a failed review post, the outdated comment with the same marker is not taken for the new one", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    try {
      github = new FakeGitHub({ base: { "apps/web.yaml": "replicas: 3\n" }, head: { "apps/web.yaml": "replicas: 1\n" }, comments: [ours(null)] });
      github.faults.push({ method: "POST", path: /\/pulls\/7\/reviews$/, status: 502, times: 1 });
      let done = false;
      const sync = syncReview(octokit(), repo, 7, github.headSha, wanted(1), BOT_LOGIN).finally(() => (done = true));
      while (!done) {
        await vi.advanceTimersByTimeAsync(100);
        await new Promise((resolve) => realSetImmediate(resolve));
      }
      expect(await sync).toEqual({ created: 1, updated: 0, deleted: 1 });
      expect(bodies(github.comments)).toEqual([{ line: 1, commit_id: github.headSha, login: BOT_LOGIN }]);
    } finally {
      vi.useRealTimers();
    }
  });
});
