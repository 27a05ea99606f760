// Policy files (config, CODEOWNERS) from the base branch's tip: a pull request never judges itself by its own policy.
import type { TreeFiles } from "../core/files.js";
import { readPolicy } from "../core/policy-files.js";
import type { PullRequestFacts } from "../core/types.js";

/** From a snapshot of the base tip (the merge base when it is the tip, else the tip's own): no extra calls. */
export function policyFromTree(files: TreeFiles): Promise<PullRequestFacts["policy"]> {
  return readPolicy(async (path) => files.read(path)?.toString("utf8"));
}
