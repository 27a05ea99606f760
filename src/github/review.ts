// One review per evaluation whose comments carry ```suggestion fixes; a re-run edits or removes our own
// earlier comments instead of piling up new ones, and never touches a comment somebody else wrote.
import { errorMessage } from "../core/yaml.js";
import { markerKey, type ReviewComment } from "../report/review.js";
import { createOnce, isRefusal, type Octokit, type RepoRef } from "./octokit.js";

/** Suggestions posted per evaluation at most: GitHub notifies people of each, and throttles such writes. */
export const MAX_REVIEW_SUGGESTIONS = 50;

export interface ReviewSync {
  created: number;
  updated: number;
  deleted: number;
  /** Why nothing was written although something was to be: the earlier comments stay as they were. */
  withheld?: string;
}

export interface ReviewSyncOptions {
  /** Asked once, right before the first write: false (the head moved) writes nothing. */
  stillCurrent?: () => Promise<boolean>;
}

/**
 * New comments are posted first, then changed ones edited and stale ones deleted: a review GitHub refuses (422)
 * leaves the earlier comments as they were. Other failures throw.
 */
export async function syncReview(
  octokit: Octokit,
  repo: RepoRef,
  pullNumber: number,
  headSha: string,
  wanted: ReviewComment[],
  botLogin: string | undefined,
  options: ReviewSyncOptions = {},
): Promise<ReviewSync> {
  const ours = await ourComments(octokit, repo, pullNumber, botLogin);
  const wantedKeys = new Set(wanted.map((comment) => comment.key));
  const fresh = wanted.filter((comment) => !ours.has(comment.key));
  const edits = wanted.flatMap((comment) => {
    const old = ours.get(comment.key);
    return old && old.body !== comment.body ? [{ id: old.id, body: comment.body }] : [];
  });
  const stale = [...ours].flatMap(([key, old]) => (wantedKeys.has(key) ? [] : [old.id]));
  const result: ReviewSync = { created: 0, updated: 0, deleted: 0 };
  if (fresh.length + edits.length + stale.length === 0) return result;
  if (options.stillCurrent && !(await options.stillCurrent())) return { ...result, withheld: `${headSha} is no longer the head of the pull request` };

  if (fresh.length > 0) {
    try {
      await createOnce(
        async () => {
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
            request: { retries: 0 },
          });
          return true;
        },
        // A review is posted whole or not at all: one of its comments there means GitHub posted it.
        async () => {
          const now = await ourComments(octokit, repo, pullNumber, botLogin);
          return fresh.some((comment) => now.has(comment.key)) ? true : undefined;
        },
      );
    } catch (error) {
      if (isRefusal(error)) return { ...result, withheld: `GitHub refused the review: ${errorMessage(error)}` };
      throw error;
    }
    result.created = fresh.length;
  }
  for (const { id, body } of edits) {
    await octokit.rest.pulls.updateReviewComment({ ...repo, comment_id: id, body });
    result.updated++;
  }
  for (const id of stale) {
    await octokit.rest.pulls.deleteReviewComment({ ...repo, comment_id: id });
    result.deleted++;
  }
  return result;
}

/** Our marked comments on the pull request, by marker key. */
async function ourComments(octokit: Octokit, repo: RepoRef, pullNumber: number, botLogin: string | undefined): Promise<Map<string, { id: number; body: string }>> {
  const existing = await octokit.paginate(octokit.rest.pulls.listReviewComments, { ...repo, pull_number: pullNumber, per_page: 100 });
  const ours = new Map<string, { id: number; body: string }>();
  for (const comment of existing) {
    const key = markerKey(comment.body);
    // Without our own login (GitHub names the App on every check run, so hardly ever), nothing counts as ours:
    // a comment of another bot that echoes pull request content can carry a marker too.
    const isOurs = key !== undefined && botLogin !== undefined && comment.user?.type === "Bot" && comment.user.login === botLogin;
    if (isOurs) ours.set(key, { id: comment.id, body: comment.body });
  }
  return ours;
}
