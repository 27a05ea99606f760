// Which review comments are ours to edit or delete: only our App's, never another bot's that carries our marker.
import { ProbotOctokit } from "probot";
import { afterEach, describe, expect, it } from "vitest";
import type { Octokit } from "../src/github/octokit.js";
import { syncReview } from "../src/github/review.js";
import { BOT_LOGIN, FakeGitHub } from "./helpers/github.js";

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
