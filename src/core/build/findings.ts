// Build issues as rule findings: one per issue, deduplicated across builds that share a base.
import type { Build, BuildIssue, RuleFinding } from "../types.js";

export function buildIssueFindings(builds: Build[], rule: BuildIssue["rule"]): RuleFinding[] {
  const seen = new Set<string>();
  const findings: RuleFinding[] = [];
  for (const build of builds) {
    for (const issue of build.issues) {
      const key = `${issue.path}|${issue.line}|${issue.message}`;
      if (issue.rule !== rule || seen.has(key)) continue;
      seen.add(key);
      findings.push({
        path: issue.path,
        line: issue.line,
        endLine: issue.line,
        message: issue.message,
        build: build.report.name,
        ...(issue.severity ? { severity: issue.severity } : {}),
        ...(issue.restatedBy ? { restatedBy: issue.restatedBy } : {}),
      });
    }
  }
  return findings;
}
