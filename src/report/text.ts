// Verdict -> terminal text, JSON (the DESIGN.md shape) and SARIF 2.1.0.
import { describeRef } from "../core/fleet.js";
import type { Finding, Verdict } from "../core/types.js";
import { ruleById } from "../../rules/index.js";
import { ruleDocsUrl } from "./links.js";

export function renderText(verdict: Verdict): string {
  const out: string[] = [];
  const mark = verdict.conclusion === "success" ? "PASS" : verdict.conclusion === "failure" ? "FAIL" : "NEUTRAL";
  out.push(`fleet-warden: ${mark} — ${verdict.title}`);
  for (const problem of verdict.problems) out.push(`  problem: ${problem}`);
  for (const note of verdict.notes) out.push(`  note: ${note}`);
  if (verdict.autoMerge) {
    out.push(`auto-merge: ${verdict.autoMerge.eligible ? "eligible" : "not eligible"}`);
    for (const reason of verdict.autoMerge.reasons) out.push(`  - ${reason}`);
  }
  if (verdict.diff.length > 0) {
    out.push("", "Changed manifests:");
    for (const file of verdict.diff) {
      out.push(`  ${file.previousPath ? `${file.previousPath} -> ` : ""}${file.path} (${file.status})`);
      for (const entry of file.objects) out.push(`    ${entry.change.padEnd(8)} ${entry.ref.apiVersion} ${describeRef(entry.ref)}`);
      if (file.note) out.push(`    ${file.note}`);
    }
  }
  const denied = verdict.ownership.entries.filter((entry) => !entry.allowed);
  if (denied.length > 0) {
    out.push("", "Ownership:");
    for (const entry of denied) out.push(`  ${entry.path}: needs ${entry.owners.join(" or ") || "the platform team"}`);
  }
  if (verdict.builds.length > 0) {
    out.push("", "Builds:");
    for (const build of verdict.builds) out.push(`  ${build.ok ? "ok  " : "FAIL"} ${build.name} (${build.objects} objects)${build.error ? `: ${build.error.split("\n")[0]}` : ""}`);
  }
  const rendered = verdict.renderedDiff.filter((diff) => diff.changes.length > 0);
  if (rendered.length > 0) {
    out.push("", "Rendered changes:");
    for (const diff of rendered) {
      out.push(`  ${diff.build}`);
      for (const change of diff.changes) out.push(`    ${change.change.padEnd(8)} ${change.ref.apiVersion} ${describeRef(change.ref)}`);
    }
  }
  if (verdict.findings.length > 0) {
    out.push("", "Findings:");
    for (const finding of verdict.findings) {
      out.push(`  ${finding.severity.padEnd(7)} ${finding.path}:${finding.line} [${finding.rule}] ${finding.message}`);
      if (finding.fix) out.push(...finding.fix.replacement.split("\n").map((line) => `          fix| ${line}`));
    }
  }
  if (verdict.ignored.length > 0) out.push("", `Exceptions: ${verdict.ignored.length} finding(s) skipped by fleet-warden.io/ignore annotations.`);
  if (verdict.preExisting.length > 0) out.push("", `Pre-existing: ${verdict.preExisting.length} finding(s) this change does not touch (not counted).`);
  return out.join("\n");
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
  return JSON.stringify(
    {
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
    },
    null,
    2,
  );
}

export function renderSarif(verdict: Verdict): string {
  const ruleIds = [...new Set(verdict.findings.map((finding) => finding.rule))];
  const level = { error: "error", warning: "warning", notice: "note" } as const;
  return JSON.stringify(
    {
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
          })),
        },
      ],
    },
    null,
    2,
  );
}
