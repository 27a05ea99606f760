// The changed files of a pull request, with their diff hunks.
import { parsePatch } from "../core/patch.js";
import type { ChangedFile } from "../core/types.js";
import type { Octokit, RepoRef } from "./octokit.js";

/** GitHub lists at most 3,000 files of a pull request. */
export const MAX_LISTED_FILES = 3000;

const statusMap: Record<string, ChangedFile["status"]> = {
  added: "added",
  removed: "removed",
  modified: "modified",
  renamed: "renamed",
  copied: "added",
  changed: "modified",
  unchanged: "modified",
};

export async function listChangedFiles(octokit: Octokit, repo: RepoRef, pullNumber: number): Promise<ChangedFile[]> {
  const files = await octokit.paginate(octokit.rest.pulls.listFiles, { ...repo, pull_number: pullNumber, per_page: 100 });
  return files.map((file) => {
    const status = statusMap[file.status] ?? "modified";
    const lines = file.patch === undefined ? undefined : parsePatch(file.patch);
    return {
      path: file.filename,
      ...(status === "renamed" && file.previous_filename ? { previousPath: file.previous_filename } : {}),
      status,
      addedLines: lines?.addedLines ?? [],
      hunks: lines?.hunks ?? [],
      // No patch: binary, or too large for GitHub to show. Every line then counts as changed.
      ...(file.patch === undefined && status !== "removed" ? { patchMissing: true } : {}),
      ...(lines?.submodule ? { submodule: true } : {}),
    };
  });
}
