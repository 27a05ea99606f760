// Verdict -> review comments: one per finding that has a fix on a line inside the diff, each a ```suggestion.
import { createHash } from "node:crypto";
import { objectKey } from "../core/fleet.js";
import { isInDiff } from "../core/patch.js";
import type { ChangedFile, Finding, Verdict } from "../core/types.js";
import { ruleDocsUrl } from "./links.js";
import { codeFence, markdownText } from "./markdown.js";

export interface ReviewComment {
  /** Stable across re-runs (not the line, which moves): finds our earlier comment for the same finding. */
  key: string;
  path: string;
  line: number;
  startLine?: number;
  body: string;
}

const MARKER_PREFIX = "<!-- fleet-warden:";

export function commentMarker(key: string): string {
  return `${MARKER_PREFIX}${key} -->`;
}

/** The key in a comment body written by fleet-warden, or undefined. */
export function markerKey(body: string): string | undefined {
  const start = body.lastIndexOf(MARKER_PREFIX);
  if (start === -1) return undefined;
  const end = body.indexOf(" -->", start);
  return end === -1 ? undefined : body.slice(start + MARKER_PREFIX.length, end);
}

export function findingKey(finding: Finding): string {
  const identity = [finding.rule, finding.path, finding.object ? objectKey(finding.object) : "", finding.message].join("|");
  return createHash("sha256").update(identity).digest("hex").slice(0, 16);
}

/** Suggestions only where GitHub accepts a review comment: every line of the fix inside a diff hunk. */
export function reviewComments(verdict: Verdict, changedFiles: ChangedFile[]): ReviewComment[] {
  const files = new Map(changedFiles.map((file) => [file.path, file]));
  const comments: ReviewComment[] = [];
  for (const finding of verdict.findings) {
    const fix = finding.fix;
    const file = files.get(finding.path);
    if (!fix || !file || !isInDiff(file, fix.line) || !isInDiff(file, fix.endLine)) continue;
    const key = findingKey(finding);
    // The fence is longer than any run of backticks in the fix, so the fix stays intact.
    const body = [
      `**${finding.severity}** [\`${finding.rule}\`](${ruleDocsUrl(finding.rule)}): ${markdownText(finding.message)}`,
      fix.description ? `\n${markdownText(fix.description)}` : "",
      `\n${codeFence("suggestion", fix.replacement, 4)}`,
      commentMarker(key),
    ].join("\n");
    comments.push({ key, path: finding.path, line: fix.endLine, ...(fix.endLine > fix.line ? { startLine: fix.line } : {}), body });
  }
  return comments;
}
