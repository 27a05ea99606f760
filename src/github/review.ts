// One review per evaluation whose comments carry ```suggestion fixes; a re-run edits or removes our own
// earlier comments instead of piling up new ones, and never touches a comment somebody else wrote.
import { markerKey, type ReviewComment } from "../report/review.js";
import type { Octokit, RepoRef } from "./octokit.js";

export interface ReviewSync {
  created: number;
  updated: number;
  deleted: number;
}

export async function syncReview(
  octokit: Octokit,
  repo: RepoRef,
  pullNumber: number,
  headSha: string,
  wanted: ReviewComment[],
  botLogin: string | undefined,
): Promise<ReviewSync> {
  const existing = await octokit.paginate(octokit.rest.pulls.listReviewComments, { ...repo, pull_number: pullNumber, per_page: 100 });
  const ours = new Map<string, { id: number; body: string }>();
  for (const comment of existing) {
    const key = markerKey(comment.body);
    // Without our own login (GitHub names the App on every check run, so hardly ever), nothing counts as ours:
    // a comment of another bot that echoes pull request content can carry a marker too.
    const isOurs = key !== undefined && botLogin !== undefined && comment.user?.type === "Bot" && comment.user.login === botLogin;
    if (isOurs) ours.set(key, { id: comment.id, body: comment.body });
  }
  const result: ReviewSync = { created: 0, updated: 0, deleted: 0 };
  const wantedKeys = new Set(wanted.map((comment) => comment.key));
  for (const comment of wanted) {
    const old = ours.get(comment.key);
    if (old && old.body !== comment.body) {
      await octokit.rest.pulls.updateReviewComment({ ...repo, comment_id: old.id, body: comment.body });
      result.updated++;
    }
  }
  for (const [key, old] of ours) {
    if (!wantedKeys.has(key)) {
      await octokit.rest.pulls.deleteReviewComment({ ...repo, comment_id: old.id });
      result.deleted++;
    }
  }
  const fresh = wanted.filter((comment) => !ours.has(comment.key));
  if (fresh.length > 0) {
    await octokit.rest.pulls.createReview({
      ...repo,
      pull_number: pullNumber,
      commit_id: headSha,
      event: "COMMENT",
      body: `fleet-warden found ${fresh.length} issue(s) with a suggested fix. Each suggestion can be applied in one click.`,
      comments: fresh.map((comment) => ({
        path: comment.path,
        line: comment.line,
        side: "RIGHT" as const,
        ...(comment.startLine ? { start_line: comment.startLine, start_side: "RIGHT" as const } : {}),
        body: comment.body,
      })),
    });
    result.created = fresh.length;
  }
  return result;
}
