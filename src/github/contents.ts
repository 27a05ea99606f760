// One file of a commit through the contents API.
import { statusOf, type Octokit, type RepoRef } from "./octokit.js";

/** The file's text at `sha`, or undefined when the commit has no such file. */
export async function fileAt(octokit: Octokit, repo: RepoRef, sha: string, path: string): Promise<string | undefined> {
  try {
    const response = await octokit.rest.repos.getContent({ ...repo, path, ref: sha, mediaType: { format: "raw" } });
    return String(response.data);
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
}
