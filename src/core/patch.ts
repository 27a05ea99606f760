// Unified diff hunks -> the head-side lines a pull request added and the lines a review comment may sit on.
import type { ChangedFile } from "./types.js";

const HUNK_HEADER = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@/;

export interface PatchLines {
  addedLines: number[];
  hunks: Array<{ start: number; end: number }>;
  /** The patch moves a submodule (a gitlink) to another commit, as git and GitHub show it. */
  submodule: boolean;
}

const SUBMODULE_COMMIT = /^\+Subproject commit [0-9a-f]{40}(-dirty)?$/;

/** Parses the hunks of one file's patch (GitHub's `patch` field, or one file of `git diff`). */
export function parsePatch(patch: string): PatchLines {
  const addedLines: number[] = [];
  const hunks: Array<{ start: number; end: number }> = [];
  let line = 0;
  let current: { start: number; end: number } | undefined;
  let submodule = false;
  for (const text of patch.split("\n")) {
    const header = HUNK_HEADER.exec(text);
    if (header) {
      line = Number(header[1]);
      const count = header[2] === undefined ? 1 : Number(header[2]);
      current = { start: line, end: line + Math.max(count, 1) - 1 };
      if (count > 0) hunks.push(current);
      continue;
    }
    if (!current) continue;
    if (text.startsWith("+")) {
      submodule ||= SUBMODULE_COMMIT.test(text);
      addedLines.push(line++);
    } else if (text.startsWith(" ")) {
      line++;
    }
    // "-" lines and "\ No newline at end of file" do not move the head-side counter.
  }
  return { addedLines, hunks, submodule };
}

/** True when `line` sits inside one of the file's diff hunks (a review comment may go there). */
export function isInDiff(file: ChangedFile, line: number): boolean {
  return file.hunks.some((hunk) => hunk.start <= line && line <= hunk.end);
}

/** True when any of lines [line, endLine] was added or changed by the pull request. */
export function touchesAddedLines(file: ChangedFile, line: number, endLine: number): boolean {
  return file.addedLines.some((added) => added >= line && added <= endLine);
}
