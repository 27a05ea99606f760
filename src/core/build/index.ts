// Builds the kustomizations a pull request affects, as Flux's kustomize-controller would, on base and head.
import type { Config } from "../config.js";
import type { FleetModel } from "../fleet.js";
import type { Build, ChangedFile, RenderedDiff } from "../types.js";

export interface BuildInput {
  config: Config;
  base: FleetModel;
  head: FleetModel;
  changedFiles: ChangedFile[];
  repository: { owner: string; name: string };
}

export interface BuildResult {
  base: Build[];
  head: Build[];
  renderedDiff: RenderedDiff[];
  problems: string[];
  /** Informational, never failing (e.g. no kustomize binary: builds are skipped, the check says so). */
  notes: string[];
}

export async function buildAffected(_input: BuildInput): Promise<BuildResult> {
  return { base: [], head: [], renderedDiff: [], problems: [], notes: [] };
}
