// Verdict -> check-run annotations (GitHub's shape). The GitHub layer sends them 50 at a time.
import type { Finding, Verdict } from "../core/types.js";
import { ruleDocsUrl } from "./links.js";

export interface CheckAnnotation {
  path: string;
  start_line: number;
  end_line: number;
  annotation_level: "failure" | "warning" | "notice";
  title: string;
  message: string;
  raw_details?: string;
}

const level: Record<Finding["severity"], CheckAnnotation["annotation_level"]> = { error: "failure", warning: "warning", notice: "notice" };

/** GitHub's limits: title 255 characters, message and raw_details 64 KiB. */
const TITLE_LIMIT = 255;
const TEXT_LIMIT = 64 * 1024;

export function toAnnotation(finding: Finding): CheckAnnotation {
  const fix = finding.fix ? `\n\nSuggested fix${finding.fix.description ? ` (${finding.fix.description})` : ""}:\n${finding.fix.replacement}` : "";
  return {
    path: finding.path,
    start_line: finding.line,
    end_line: Math.max(finding.line, finding.endLine),
    annotation_level: level[finding.severity],
    title: `${finding.rule}: ${finding.message}`.slice(0, TITLE_LIMIT),
    message: `${finding.message}\n\nSee ${ruleDocsUrl(finding.rule)}`.slice(0, TEXT_LIMIT),
    ...(fix ? { raw_details: fix.trim().slice(0, TEXT_LIMIT) } : {}),
  };
}

/** Annotations for the findings that count; pre-existing ones stay in the summary only. */
export function annotationsFor(verdict: Verdict): CheckAnnotation[] {
  return verdict.findings.map(toAnnotation);
}
