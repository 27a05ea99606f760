// Verdict -> terminal text, JSON (the DESIGN.md shape) and SARIF 2.1.0.
import { describeRef } from "../core/fleet.js";
import type { Finding, ObjectRef, Verdict } from "../core/types.js";
import { ruleById } from "../../rules/index.js";
import { ruleDocsUrl } from "./links.js";

// Pull request content (paths, names, values, kustomize and git errors, owners) on a terminal or in a CI log: shown as
// written, never obeyed. No escape sequence (a cleared screen, a cursor moved up to overwrite the verdict, an OSC 8
// link), no carriage return, no bidi override reordering what is read (Trojan Source), no line of its own.
// Shown as `\u{1b}`, the code point in JavaScript's (and Rust's) notation: one form for C0, C1 and bidi controls alike
// (control pictures such as ␛ exist for C0 only) that names the exact character. Backslashes are left as written, so
// regular expressions in values read unchanged; text that already reads `\u{1b}` is as inert as what it mimics.
// Tabs stay: they only move forward.
const TERMINAL_CONTROLS = /[\p{Cc}\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;
const LINE_BREAK = /\r?\n/g;
/** Where a multi-line text (a kustomize error) goes on: deeper than any report line, behind a bar, so never a line of the report. */
const CONTINUATION = "\n        | ";

/** Pull request text in the terminal report: controls shown as `\u{…}`, each further line indented behind `| `. */
export function terminalText(text: string): string {
  return text
    .split(LINE_BREAK)
    .map((line) => line.replace(TERMINAL_CONTROLS, (char) => (char === "\t" ? char : `\\u{${char.codePointAt(0)!.toString(16)}}`)))
    .join(CONTINUATION);
}

export function renderText(verdict: Verdict): string {
  const out: string[] = [];
  const mark = verdict.conclusion === "success" ? "PASS" : verdict.conclusion === "failure" ? "FAIL" : "NEUTRAL";
  out.push(`fleet-warden: ${mark} — ${terminalText(verdict.title)}`);
  for (const problem of verdict.problems) out.push(`  problem: ${terminalText(problem)}`);
  // Ownership notices say what was not enforced (no --author, no CODEOWNERS): a PASS without them would overstate.
  for (const note of [...verdict.notes, ...verdict.ownership.notices]) out.push(`  note: ${terminalText(note)}`);
  if (verdict.autoMerge) {
    out.push(`auto-merge: ${verdict.autoMerge.eligible ? "eligible" : "not eligible"}`);
    for (const reason of verdict.autoMerge.reasons) out.push(`  - ${terminalText(reason)}`);
  }
  if (verdict.diff.length > 0) {
    out.push("", "Changed manifests:");
    for (const file of verdict.diff) {
      out.push(`  ${terminalText(`${file.previousPath ? `${file.previousPath} -> ` : ""}${file.path}`)} (${file.status})`);
      for (const entry of file.objects) out.push(`    ${entry.change.padEnd(8)} ${refText(entry.ref)}`);
      if (file.note) out.push(`    ${terminalText(file.note)}`);
    }
  }
  const denied = verdict.ownership.entries.filter((entry) => !entry.allowed);
  if (denied.length > 0) {
    out.push("", "Ownership:");
    for (const entry of denied) out.push(`  ${terminalText(entry.path)}: needs ${terminalText(entry.owners.join(" or ") || "the platform team")}`);
  }
  if (verdict.builds.length > 0) {
    out.push("", "Builds:");
    for (const build of verdict.builds) {
      out.push(`  ${build.ok ? "ok  " : "FAIL"} ${terminalText(build.name)} (${build.objects} objects)${build.error ? `: ${terminalText(build.error)}` : ""}`);
    }
  }
  const rendered = verdict.renderedDiff.filter((diff) => diff.changes.length > 0);
  if (rendered.length > 0) {
    out.push("", "Rendered changes:");
    for (const diff of rendered) {
      out.push(`  ${terminalText(diff.build)}`);
      for (const change of diff.changes) out.push(`    ${change.change.padEnd(8)} ${refText(change.ref)}`);
    }
  }
  if (verdict.findings.length > 0) {
    out.push("", "Findings:");
    for (const finding of verdict.findings) {
      out.push(`  ${finding.severity.padEnd(7)} ${terminalText(`${finding.path}:${finding.line} [${finding.rule}] ${finding.message}`)}`);
      if (finding.fix) out.push(...finding.fix.replacement.split("\n").map((line) => `          fix| ${terminalText(line)}`));
    }
  }
  if (verdict.ignored.length > 0) out.push("", `Exceptions: ${verdict.ignored.length} finding(s) skipped by fleet-warden.io/ignore annotations.`);
  if (verdict.preExisting.length > 0) out.push("", `Pre-existing: ${verdict.preExisting.length} finding(s) this change does not touch (not counted).`);
  return out.join("\n");
}

function refText(ref: ObjectRef): string {
  return terminalText(`${ref.apiVersion} ${describeRef(ref)}`);
}

export function renderJson(verdict: Verdict): string {
  const findingJson = (finding: Finding) => ({
    rule: finding.rule,
    severity: finding.severity,
    path: finding.path,
    line: finding.line,
    endLine: finding.endLine,
    message: finding.message,
    ...(finding.fix ? { fix: finding.fix } : {}),
  });
  return terminalJson({
    conclusion: verdict.conclusion,
    title: verdict.title,
    findings: verdict.findings.map(findingJson),
    preExisting: verdict.preExisting.map(findingJson),
    ignored: verdict.ignored.map(({ finding, reason }) => ({ ...findingJson(finding), reason })),
    ownership: verdict.ownership,
    builds: verdict.builds,
    renderedDiff: verdict.renderedDiff,
    diff: verdict.diff,
    ...(verdict.autoMerge ? { autoMerge: verdict.autoMerge } : {}),
    problems: verdict.problems,
    notes: verdict.notes,
    stats: verdict.stats,
  });
}

export function renderSarif(verdict: Verdict): string {
  const ruleIds = [...new Set(verdict.findings.map((finding) => finding.rule))];
  const level = { error: "error", warning: "warning", notice: "note" } as const;
  return terminalJson({
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "fleet-warden",
            informationUri: ruleDocsUrl("").replace(/\/\.md$/, ""),
            rules: ruleIds.map((id) => ({
              id,
              shortDescription: { text: ruleById(id)?.meta.summary ?? id },
              helpUri: ruleDocsUrl(id),
            })),
          },
        },
        // What kept the evaluation from judging everything (a broken config, a failed build step) fails the run.
        invocations: [
          {
            executionSuccessful: verdict.problems.length === 0,
            toolExecutionNotifications: verdict.problems.map((problem) => ({ level: "error", message: { text: problem } })),
          },
        ],
        results: verdict.findings.map((finding) => ({
          ruleId: finding.rule,
          level: level[finding.severity],
          message: { text: finding.message },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: finding.path },
                region: { startLine: finding.line, endLine: Math.max(finding.line, finding.endLine) },
              },
            },
          ],
          ...(finding.fix
            ? {
                fixes: [
                  {
                    description: { text: finding.fix.description ?? "Suggested fix" },
                    artifactChanges: [
                      {
                        artifactLocation: { uri: finding.path },
                        replacements: [{ deletedRegion: { startLine: finding.fix.line, endLine: finding.fix.endLine }, insertedContent: { text: finding.fix.replacement } }],
                      },
                    ],
                  },
                ],
              }
            : {}),
        })),
      },
    ],
  });
}

/**
 * JSON that parses to the same values and is inert on a terminal: JSON.stringify escapes C0 controls in strings but
 * leaves DEL, C1 and bidi controls as they are; they get `\uXXXX` here (the only C0 left is the layout's newlines).
 */
function terminalJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(TERMINAL_CONTROLS, (char) => (char < " " ? char : `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`));
}
