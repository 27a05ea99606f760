// Verdict -> the Markdown summary of the check run (also `--format markdown`).
import { describeRef } from "../core/fleet.js";
import type { Finding, Verdict } from "../core/types.js";
import { ruleDocsUrl } from "./links.js";
import { codeFence, htmlText, inlineCode, inlineCodeCell, markdownText, markdownWithCode } from "./markdown.js";

/** GitHub rejects a check-run summary over 65,535 characters. */
export const SUMMARY_LIMIT = 65_535;

const severityIcon: Record<Finding["severity"], string> = { error: "❌", warning: "⚠️", notice: "ℹ️" };

export function renderSummary(verdict: Verdict, limit = SUMMARY_LIMIT): string {
  const sections = [
    headline(verdict),
    problems(verdict),
    autoMerge(verdict),
    findings(verdict.findings),
    ownership(verdict),
    objectDiff(verdict),
    builds(verdict),
    renderedDiff(verdict),
    exceptions(verdict),
    preExisting(verdict),
    notes(verdict),
  ].filter((section) => section !== "");
  return truncate(sections.join("\n\n"), limit);
}

export function truncate(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const note = "\n\n… _Truncated: the full report is longer than GitHub allows. Run `fleet-warden check` locally for all of it._";
  const cut = text.slice(0, limit - note.length);
  // Do not leave a <details> block open: GitHub would swallow the note.
  const open = (cut.match(/<details>/g) ?? []).length - (cut.match(/<\/details>/g) ?? []).length;
  const closing = "\n</details>".repeat(Math.max(0, open));
  return cut.slice(0, limit - note.length - closing.length) + closing + note;
}

function headline(verdict: Verdict): string {
  const { findings } = verdict;
  const errors = findings.filter((finding) => finding.severity === "error").length;
  const verdictText = verdict.conclusion === "success" ? "✅ **Passed**" : verdict.conclusion === "failure" ? "❌ **Failed**" : "➖ **Neutral**";
  const counts = `${errors} error(s), ${findings.length - errors} warning(s)/notice(s) on this change; ${verdict.preExisting.length} pre-existing`;
  return `${verdictText}: ${markdownText(verdict.title)}\n\n${counts}. ${verdict.stats.changedFiles} changed file(s), ${verdict.builds.length} build(s) (${verdict.stats.builds} with the base's), ${verdict.stats.durationMs} ms.`;
}

function problems(verdict: Verdict): string {
  if (verdict.problems.length === 0) return "";
  return `### Could not fully evaluate\n\n${verdict.problems.map((problem) => `- ${markdownText(problem)}`).join("\n")}`;
}

function notes(verdict: Verdict): string {
  if (verdict.notes.length === 0) return "";
  return `### Notes\n\n${verdict.notes.map((note) => `- ${markdownText(note)}`).join("\n")}`;
}

function autoMerge(verdict: Verdict): string {
  const report = verdict.autoMerge;
  if (!report) return "";
  const status = report.merged ? "merged by fleet-warden" : report.eligible ? "eligible" : "not eligible";
  const reasons = report.reasons.map((reason) => `- ${markdownWithCode(reason)}`).join("\n");
  return [`### Auto-merge: ${status}`, markdownWithCode(report.note ?? ""), reasons].filter(Boolean).join("\n\n");
}

function findings(list: Finding[]): string {
  if (list.length === 0) return "";
  const byRule = groupBy(list, (finding) => finding.rule);
  const parts = ["### Findings"];
  for (const [rule, group] of byRule) {
    parts.push(`#### [\`${rule}\`](${ruleDocsUrl(rule)}) (${group.length})`);
    parts.push(group.map((finding) => `- ${severityIcon[finding.severity]} ${inlineCode(`${finding.path}:${finding.line}`)} ${markdownText(finding.message)}`).join("\n"));
  }
  return parts.join("\n\n");
}

function ownership(verdict: Verdict): string {
  const { entries, notices, source } = verdict.ownership;
  if (entries.length === 0 && notices.length === 0) return "";
  const rows = entries.map(
    (entry) =>
      `| ${inlineCodeCell(entry.path)} | ${entry.owners.length > 0 ? entry.owners.join(" ") : "_nobody (no owner, no platform owner)_"} | ${entry.allowed ? `✅ ${entry.satisfiedBy ?? ""}` : "❌ missing"} |`,
  );
  const table = rows.length > 0 ? ["| path | owners required | satisfied by |", "| --- | --- | --- |", ...rows].join("\n") : "";
  const noticeList = notices.map((notice) => `- ℹ️ ${markdownWithCode(notice)}`).join("\n");
  return [`### Ownership${source ? ` (from \`${source}\`)` : ""}`, table, noticeList].filter(Boolean).join("\n\n");
}

function objectDiff(verdict: Verdict): string {
  if (verdict.diff.length === 0) return "";
  const lines = ["### Changed manifests"];
  for (const file of verdict.diff) {
    const name = file.previousPath ? `${inlineCode(file.previousPath)} → ${inlineCode(file.path)}` : inlineCode(file.path);
    const objects = file.objects.map((entry) => `  - ${entry.change} ${inlineCode(entry.ref.apiVersion)} ${markdownText(describeRef(entry.ref))}`);
    if (file.otherDocumentsChanged) objects.push("  - non-Kubernetes YAML changed");
    if (file.note) objects.push(`  - ${markdownText(file.note)}`);
    if (objects.length === 0) objects.push("  - no object changed (formatting or comments only)");
    lines.push(`- ${name} (${file.status})\n${objects.join("\n")}`);
  }
  return lines.join("\n");
}

function builds(verdict: Verdict): string {
  if (verdict.builds.length === 0) return "";
  const rows = verdict.builds.map((build) => `| ${markdownText(build.name)} | ${inlineCodeCell(build.path)} | ${build.ok ? "✅" : `❌ ${markdownText(oneLine(build.error ?? ""))}`} | ${build.objects} |`);
  return ["### Builds", "| build | path | result | objects |", "| --- | --- | --- | --- |", ...rows].join("\n");
}

function renderedDiff(verdict: Verdict): string {
  const changed = verdict.renderedDiff.filter((diff) => diff.changes.length > 0);
  if (changed.length === 0) return "";
  const parts = ["### Rendered changes"];
  for (const diff of changed) {
    const body = diff.changes
      .map((change) => {
        const head = `- ${change.change} ${inlineCode(change.ref.apiVersion)} ${markdownText(describeRef(change.ref))}`;
        return change.diff ? `${head}\n\n${codeFence("diff", change.diff)}` : head;
      })
      .join("\n");
    parts.push(`<details>\n<summary>${htmlText(diff.build)}: ${diff.changes.length} object(s)</summary>\n\n${body}\n</details>`);
  }
  return parts.join("\n\n");
}

function exceptions(verdict: Verdict): string {
  if (verdict.ignored.length === 0) return "";
  const rows = verdict.ignored.map(
    ({ finding, reason }) => `- \`${finding.rule}\` at ${inlineCode(`${finding.path}:${finding.line}`)}: ${markdownText(finding.message)} — exception: _${markdownText(reason)}_`,
  );
  return [`### Exceptions (${verdict.ignored.length})`, ...rows].join("\n");
}

function preExisting(verdict: Verdict): string {
  if (verdict.preExisting.length === 0) return "";
  const rows = verdict.preExisting.map((finding) => `- ${severityIcon[finding.severity]} \`${finding.rule}\` ${inlineCode(`${finding.path}:${finding.line}`)} ${markdownText(finding.message)}`);
  return `<details>\n<summary>Pre-existing findings not touched by this change (${verdict.preExisting.length})</summary>\n\n${rows.join("\n")}\n</details>`;
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    groups.set(k, [...(groups.get(k) ?? []), item]);
  }
  return groups;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").slice(0, 300);
}
