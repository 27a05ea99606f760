// Which open pull requests a commit heads: what a "Re-run" or a commit status needs when GitHub's payload cannot say.
import { pullRequestInfo, type PullRequestInfo } from "./facts.js";
import type { Octokit, RepoRef } from "./octokit.js";

/**
 * The open pull requests whose head is `sha`. GitHub leaves a check run's or suite's `pull_requests` empty for a
 * head in a fork, and `GET /commits/{sha}/pulls` finds no fork head either (the commit is not in this repository's
 * history): the open pull requests are listed and matched by head sha instead.
 */
export async function openPullsHeadedBy(octokit: Octokit, repo: RepoRef, sha: string): Promise<PullRequestInfo[]> {
  const pulls = await octokit.paginate(octokit.rest.pulls.list, { ...repo, state: "open", per_page: 100 });
  return pulls.filter((pull) => pull.head.sha === sha).map(pullRequestInfo);
}
