// Which open pull requests a commit heads, and which commit heads a pull request now: what a "Re-run" needs
// when GitHub's payload cannot say.
import type { Octokit, RepoRef } from "./octokit.js";

/**
 * The open pull requests whose head is `sha`. GitHub leaves a check run's or suite's `pull_requests` empty for a
 * head in a fork, and `GET /commits/{sha}/pulls` finds no fork head either (the commit is not in this repository's
 * history): the open pull requests are listed and matched by head sha instead.
 */
export async function openPullsHeadedBy(octokit: Octokit, repo: RepoRef, sha: string): Promise<number[]> {
  const pulls = await octokit.paginate(octokit.rest.pulls.list, { ...repo, state: "open", per_page: 100 });
  return pulls.filter((pull) => pull.head.sha === sha).map((pull) => pull.number);
}

/** The pull request's head sha now, or undefined once it is closed. */
export async function currentHeadSha(octokit: Octokit, repo: RepoRef, pullNumber: number): Promise<string | undefined> {
  const { data } = await octokit.rest.pulls.get({ ...repo, pull_number: pullNumber });
  return data.state === "open" ? data.head.sha : undefined;
}
