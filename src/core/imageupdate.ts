// Classifies Flux image-automation pull requests: eligible for auto-merge only when they change image tags and nothing else.
import type { Config } from "./config.js";
import type { FleetModel } from "./fleet.js";
import type { AutoMergeReport, ChangedFile, PullRequestFacts } from "./types.js";

export interface ImageUpdateInput {
  facts: PullRequestFacts;
  config: Config;
  base: FleetModel;
  head: FleetModel;
  changedFiles: ChangedFile[];
}

/** Undefined when the pull request does not come from an image-update branch. */
export function classifyImageUpdate(_input: ImageUpdateInput): AutoMergeReport | undefined {
  return undefined;
}
