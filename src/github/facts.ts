// Gathers the facts of a pull request with a constant number of calls: a compare for the merge base,
// two tarballs, the file listing and the reviews; team membership only when ownership asks, once per team.
import type { TreeFiles } from "../core/files.js";
import { splitLines } from "../core/fleet.js";
import { GITHUB_LISTED_COMMITS, tooManyCommits } from "../core/imageupdate.js";
import type { ChangedFile, PullRequestFacts, Review } from "../core/types.js";
import { snapshotFacts, withSnapshots, type SnapshotCache } from "../snapshot.js";
import { listChangedFiles, MAX_LISTED_FILES } from "./files.js";
import { statusOf, type Octokit, type RepoRef } from "./octokit.js";
import { policyFromTree } from "./policy.js";
import { downloadSnapshot } from "./snapshot.js";

/** The part of a pull request the evaluation needs, from `pulls.get` (never from a possibly stale payload). */
export interface PullRequestInfo {
  number: number;
  headSha: string;
  baseSha: string;
  /** The branch the pull request targets: its policy is the one that judges it. */
  baseBranch: string;
  headBranch: string;
  author: string;
  draft: boolean;
  fromFork: boolean;
  changedFiles: number;
}

/** The pull request cannot be evaluated at all; the message says why, for the check run. */
export class NotEvaluable extends Error {}

export interface GatheredFacts {
  facts: PullRequestFacts;
  dispose(): Promise<void>;
}

export function pullRequestInfo(pull: {
  number: number;
  head: { sha: string; ref: string; repo: { id: number } | null };
  base: { sha: string; ref: string; repo: { id: number } };
  user: { login: string } | null;
  draft?: boolean;
  changed_files?: number;
}): PullRequestInfo {
  return {
    number: pull.number,
    headSha: pull.head.sha,
    baseSha: pull.base.sha,
    baseBranch: pull.base.ref,
    headBranch: pull.head.ref,
    author: pull.user?.login ?? "",
    draft: pull.draft ?? false,
    // Compare repository ids, not names: a fork can carry any name, and a deleted fork has no repo at all.
    fromFork: pull.head.repo?.id !== pull.base.repo.id,
    changedFiles: pull.changed_files ?? 0,
  };
}

/**
 * `snapshots`: tarballs already read by this process, by sha (a pull request's base is the same for every push).
 * `signal`: the evaluation stopped; its downloads are abandoned.
 */
export async function gatherFacts(octokit: Octokit, repo: RepoRef, pull: PullRequestInfo, snapshots?: SnapshotCache, signal?: AbortSignal): Promise<GatheredFacts> {
  const snapshot = (sha: string, label: string) => {
    const download = (stop = signal) => downloadSnapshot(octokit, repo, sha, label, stop);
    return snapshots ? snapshots.get(`${repo.owner}/${repo.repo}@${sha} ${label}`.toLowerCase(), download, signal) : download();
  };
  if (pull.changedFiles > MAX_LISTED_FILES) {
    throw new NotEvaluable(
      `This pull request changes ${pull.changedFiles} files; GitHub lists at most ${MAX_LISTED_FILES}, so fleet-warden cannot see the whole change. Split it into smaller pull requests.`,
    );
  }
  const [mergeBase, changedFiles, reviews] = await Promise.all([
    octokit.rest.repos
      .compareCommitsWithBasehead({ ...repo, basehead: `${pull.baseSha}...${pull.headSha}`, per_page: 1 })
      .then((response) => response.data.merge_base_commit.sha),
    listChangedFiles(octokit, repo, pull.number),
    octokit.paginate(octokit.rest.pulls.listReviews, { ...repo, pull_number: pull.number, per_page: 100 }),
  ]);
  const { value: facts, dispose } = await withSnapshots(
    {
      base: () => snapshot(mergeBase, "base"),
      head: () => snapshot(pull.headSha, "head"),
      // Behind its base: the tip too (most pull requests share it, so the cache mostly has it already).
      ...(mergeBase !== pull.baseSha ? { baseTip: () => snapshot(pull.baseSha, "base") } : {}),
    },
    async (pair): Promise<PullRequestFacts> => ({
      repository: { owner: repo.owner, name: repo.repo, host: process.env.GHE_HOST || "github.com" },
      number: pull.number,
      baseSha: mergeBase,
      baseTipSha: pull.baseSha,
      headSha: pull.headSha,
      ...snapshotFacts(pair),
      changedFiles: withMissingPatches(changedFiles, pair.head.files),
      // GitHub names no author (pull.user null): nobody is credited as one, rather than ownership go unchecked.
      author: pull.author || "(unknown)",
      commitAuthors: once(() => commitAuthorsOf(octokit, repo, pull.number)),
      headBranch: pull.headBranch,
      fromFork: pull.fromFork,
      draft: pull.draft,
      reviews: reviews.map(toReview),
      // From the base branch's tip: the merge base when it is the tip, else the tip's own snapshot.
      policy: await policyFromTree((pair.baseTip ?? pair.base).files),
      isTeamMember: teamMembership(octokit),
    }),
  );
  return { facts, dispose };
}

/** The GitHub login of each commit's author (undefined where GitHub maps none); fails past GitHub's listing limit. */
async function commitAuthorsOf(octokit: Octokit, repo: RepoRef, pullNumber: number): Promise<Array<string | undefined>> {
  const commits = await octokit.paginate(octokit.rest.pulls.listCommits, { ...repo, pull_number: pullNumber, per_page: 100 });
  if (commits.length >= GITHUB_LISTED_COMMITS) throw new Error(tooManyCommits());
  return commits.map((commit) => commit.author?.login ?? undefined);
}

/** `ask`, asked once: later calls share the first answer (or failure). */
function once<T>(ask: () => Promise<T>): () => Promise<T> {
  let answer: Promise<T> | undefined;
  return () => (answer ??= ask());
}

function toReview(review: { user: { login: string } | null; state: string; commit_id: string | null; submitted_at?: string }): Review {
  return {
    user: review.user?.login ?? "",
    state: review.state as Review["state"],
    commitId: review.commit_id ?? "",
    ...(review.submitted_at ? { submittedAt: review.submitted_at } : {}),
  };
}

/** Without a patch (binary or too large for GitHub) every line of the head file counts as changed. */
function withMissingPatches(files: ChangedFile[], headFiles: TreeFiles): ChangedFile[] {
  return files.map((file) => {
    if (!file.patchMissing) return file;
    const text = headFiles.read(file.path)?.toString("utf8") ?? "";
    const lines = Array.from({ length: splitLines(text).length }, (_, i) => i + 1);
    return { ...file, addedLines: lines, hunks: [] };
  });
}

/** `org/team` membership, asked of GitHub once per team and login in one evaluation. */
function teamMembership(octokit: Octokit): PullRequestFacts["isTeamMember"] {
  const cache = new Map<string, Promise<boolean>>();
  return (team, login) => {
    const key = `${team.toLowerCase()}|${login.toLowerCase()}`;
    let answer = cache.get(key);
    if (!answer) {
      const [org, teamSlug] = team.split("/");
      answer =
        org && teamSlug
          ? octokit.rest.teams
              .getMembershipForUserInOrg({ org, team_slug: teamSlug, username: login })
              .then((response) => response.data.state === "active")
              .catch((error: unknown) => {
                if (statusOf(error) === 404) return false;
                throw error;
              })
          : Promise.resolve(false);
      cache.set(key, answer);
    }
    return answer;
  };
}
