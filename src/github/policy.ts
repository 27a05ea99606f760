// Policy files (config, CODEOWNERS) from the base branch's tip: a pull request never judges itself by its own policy.
import type { TreeFiles } from "../core/files.js";
import { readPolicy } from "../core/policy-files.js";
import type { PullRequestFacts } from "../core/types.js";
import { fileAt } from "./contents.js";
import type { Octokit, RepoRef } from "./octokit.js";

/** From a snapshot of the base tip, when the merge base is the base tip (the usual case): no extra calls. */
export function policyFromTree(files: TreeFiles): Promise<PullRequestFacts["policy"]> {
  return readPolicy(async (path) => files.read(path)?.toString("utf8"));
}

/** From the contents API at the base tip, when the base branch moved on since the pull request branched. */
export function policyFromApi(octokit: Octokit, repo: RepoRef, sha: string): Promise<PullRequestFacts["policy"]> {
  return readPolicy((path) => fileAt(octokit, repo, sha, path));
}
