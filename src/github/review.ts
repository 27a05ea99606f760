// One review per evaluation whose comments carry ```suggestion fixes; a re-run edits or removes our own
// earlier comments instead of piling up new ones (posting again only what a push left outdated), and never
// touches a comment somebody else wrote.
import { diffLines } from "diff";
import { errorMessage } from "../core/yaml.js";
import { markerKey, type ReviewComment } from "../report/review.js";
import { fileAt } from "./contents.js";
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
  /**
   * At most this many of ours stand at once (default MAX_REVIEW_SUGGESTIONS). Those already posted keep their place;
   * new ones fill what is left, in order, and the rest wait until some are dealt with.
   */
  limit?: number;
}

/**
 * New comments are posted first, then changed ones edited and stale ones deleted: a review GitHub refuses (422)
 * leaves the earlier comments as they were. Other failures throw. An earlier comment that no longer sits on the
 * finding's line of the head (GitHub shows it outdated: "Outdated suggestions cannot be applied") is stale too:
 * the finding is posted again on the head.
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
  const wantedByKey = new Map(wanted.map((comment) => [comment.key, comment]));
  const lineOnHead = headLineFinder(octokit, repo, headSha);
  // The earlier comment of ours that still sits where each finding is wanted; any other of ours is stale.
  const placed = new Map<string, OurComment>();
  for (const old of ours) {
    const comment = wantedByKey.get(old.key);
    if (comment && !placed.has(old.key) && old.path === comment.path && (await lineOnHead(old)) === comment.line) placed.set(old.key, old);
  }
  const room = Math.max(0, (options.limit ?? MAX_REVIEW_SUGGESTIONS) - placed.size);
  const fresh = wanted.filter((comment) => !placed.has(comment.key)).slice(0, room);
  const edits = wanted.flatMap((comment) => {
    const old = placed.get(comment.key);
    return old && old.body !== comment.body ? [{ id: old.id, body: comment.body }] : [];
  });
  const placedIds = new Set([...placed.values()].map((old) => old.id));
  const stale = ours.flatMap((old) => (placedIds.has(old.id) ? [] : [old.id]));
  const result: ReviewSync = { created: 0, updated: 0, deleted: 0 };
  if (fresh.length + edits.length + stale.length === 0) return result;
  if (options.stillCurrent && !(await options.stillCurrent())) return { ...result, withheld: `${headSha} is no longer the head of the pull request` };

  if (fresh.length > 0) {
    const freshKeys = new Set(fresh.map((comment) => comment.key));
    const earlierIds = new Set(ours.map((old) => old.id));
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
        // A review is posted whole or not at all: one new comment of it there means GitHub posted it.
        async () => {
          const now = await ourComments(octokit, repo, pullNumber, botLogin);
          return now.some((comment) => !earlierIds.has(comment.id) && freshKeys.has(comment.key)) ? true : undefined;
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

/** One of our marked comments, as GitHub shows it now. */
interface OurComment {
  id: number;
  key: string;
  body: string;
  path: string;
  /** null when GitHub shows the comment outdated: a later push changed its lines. */
  line: number | null;
  startLine: number | null;
  /** The commit the comment sits on: GitHub moves it to a later head whose push left its lines alone. */
  commitId: string;
}

/** Our marked comments on the pull request. */
async function ourComments(octokit: Octokit, repo: RepoRef, pullNumber: number, botLogin: string | undefined): Promise<OurComment[]> {
  const existing = await octokit.paginate(octokit.rest.pulls.listReviewComments, { ...repo, pull_number: pullNumber, per_page: 100 });
  return existing.flatMap((comment) => {
    const key = markerKey(comment.body);
    // Without our own login (GitHub names the App on every check run, so hardly ever), nothing counts as ours:
    // a comment of another bot that echoes pull request content can carry a marker too.
    const isOurs = key !== undefined && botLogin !== undefined && comment.user?.type === "Bot" && comment.user.login === botLogin;
    return isOurs ? [{ id: comment.id, key, body: comment.body, path: comment.path, line: comment.line ?? null, startLine: comment.start_line ?? null, commitId: comment.commit_id }] : [];
  });
}

/**
 * The line of the head an earlier comment of ours sits on, or undefined when its suggestion no longer applies.
 * GitHub moves a comment to the new head only some time after a push: until then it is on an older commit,
 * whose file is compared with the head's (each read once).
 */
function headLineFinder(octokit: Octokit, repo: RepoRef, headSha: string): (comment: OurComment) => Promise<number | undefined> {
  const files = new Map<string, Promise<string | undefined>>();
  const fileOnce = (sha: string, path: string) => {
    const key = `${sha}:${path}`;
    if (!files.has(key)) files.set(key, fileAt(octokit, repo, sha, path));
    return files.get(key)!;
  };
  return async (comment) => {
    if (comment.line === null) return undefined;
    if (comment.commitId === headSha) return comment.line;
    let before: string | undefined;
    let after: string | undefined;
    try {
      [before, after] = await Promise.all([fileOnce(comment.commitId, comment.path), fileOnce(headSha, comment.path)]);
    } catch {
      // GitHub failed a read: no way to tell, so the comment stays as it is rather than the whole sync failing.
      return comment.line;
    }
    return before !== undefined && after !== undefined ? carriedLine(before, after, comment.startLine ?? comment.line, comment.line) : undefined;
  };
}

/** Beyond this many changed lines between the two files, a comment is taken for outdated rather than searched for. */
const MAX_CHANGED_LINES = 1000;

/**
 * Where lines `first`..`last` of `before` are in `after`, as GitHub carries a comment to a new commit: moved along
 * when the lines themselves are unchanged; undefined when a change touches them (GitHub shows it outdated).
 */
function carriedLine(before: string, after: string, first: number, last: number): number | undefined {
  let line = 1;
  let shift = 0;
  for (const part of diffLines(before, after, { maxEditLength: MAX_CHANGED_LINES }) ?? []) {
    if (part.added) {
      shift += part.count;
      continue;
    }
    const end = line + part.count - 1;
    if (part.removed) {
      if (first <= end && line <= last) return undefined;
      shift -= part.count;
    } else if (line <= first && last <= end) {
      return last + shift;
    }
    line = end + 1;
  }
  return undefined;
}
