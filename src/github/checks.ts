// The check run: one per head sha, created early (in progress) and completed once with the verdict. A sha that
// was already evaluated keeps its run when the new result is the same (a redelivery, a burst of events).
import { createHash } from "node:crypto";
import type { Verdict } from "../core/types.js";
import { errorMessage } from "../core/yaml.js";
import { annotationsFor, type CheckAnnotation } from "../report/annotations.js";
import { renderSummary, SUMMARY_LIMIT, truncate } from "../report/summary.js";
import type { Octokit, RepoRef } from "./octokit.js";

export const CHECK_NAME = "fleet-warden";
/** GitHub accepts at most 50 annotations per create or update call. */
export const ANNOTATION_BATCH = 50;

export interface CheckRunRef {
  id: number;
  headSha: string;
  /** Our own app's slug, as GitHub reports it on the run: `<slug>[bot]` is the login our comments carry. */
  appSlug?: string;
}

/**
 * Where an evaluation's result goes: `open`, a run in progress for the sha (ours, created or reused); `evaluated`,
 * the sha's latest run of ours is completed, and `fingerprint` (its `external_id`) identifies the result it shows.
 */
export type CheckRunSlot = { state: "open"; run: CheckRunRef } | { state: "evaluated"; run: CheckRunRef; fingerprint: string | null };

export interface CheckOutput {
  conclusion: "success" | "failure" | "neutral" | "cancelled";
  title: string;
  summary: string;
  annotations: CheckAnnotation[];
  /** Identifies the result, without what differs between two evaluations of the same thing (durations). */
  fingerprint: string;
}

/**
 * Finds the sha's run. An unfinished run of ours is reused (a redelivered webhook, a review event racing a push)
 * so that there is never a second one; a completed one is only noted: a new run is created later if, and only if,
 * the new result differs. `fresh` always starts a new run, as GitHub expects on "Re-run".
 */
export async function openCheckRun(octokit: Octokit, repo: RepoRef, headSha: string, options: { fresh?: boolean; appId?: number } = {}): Promise<CheckRunSlot> {
  if (!options.fresh) {
    const { data } = await octokit.rest.checks.listForRef({ ...repo, ref: headSha, check_name: CHECK_NAME, filter: "latest", per_page: 100 });
    const ours = data.check_runs.find((run) => run.head_sha === headSha && (options.appId === undefined || run.app?.id === options.appId));
    if (ours) {
      const run = { id: ours.id, headSha, ...(ours.app?.slug ? { appSlug: ours.app.slug } : {}) };
      return ours.status === "completed" ? { state: "evaluated", run, fingerprint: ours.external_id ?? null } : { state: "open", run };
    }
  }
  return { state: "open", run: await createCheckRun(octokit, repo, headSha) };
}

/** Writes `output` where it belongs. Returns the run written to, or undefined when the sha already shows this result. */
export async function publishCheckRun(octokit: Octokit, repo: RepoRef, slot: CheckRunSlot, output: CheckOutput): Promise<CheckRunRef | undefined> {
  const run = await runFor(octokit, repo, slot, output);
  if (!run) return undefined;
  try {
    await writeOutput(octokit, repo, run, output);
  } catch (error) {
    // Whatever went wrong with the full report, the run must not stay in progress: a plain failure is tried once.
    await writeOutput(octokit, repo, run, failureOutput("Could not write the report", `GitHub refused the report: ${errorMessage(error)}`)).catch(() => undefined);
    throw error;
  }
  return run;
}

/** Closes the sha's run in progress as cancelled (its sha is no longer the head); a completed run is left as it is. */
export async function cancelCheckRun(octokit: Octokit, repo: RepoRef, slot: CheckRunSlot, reason: string): Promise<void> {
  if (slot.state !== "open") return;
  const summary = `${reason} This commit's result is dropped; the newer commit is evaluated instead.`;
  await writeOutput(octokit, repo, slot.run, { conclusion: "cancelled", title: "Superseded", summary, annotations: [], fingerprint: fingerprintOf(["cancelled", summary]) });
}

export function verdictOutput(verdict: Verdict): CheckOutput {
  const annotations = annotationsFor(verdict);
  const timeless = renderSummary({ ...verdict, stats: { ...verdict.stats, durationMs: 0 } }, SUMMARY_LIMIT);
  return {
    conclusion: verdict.conclusion,
    title: verdict.title,
    summary: renderSummary(verdict, SUMMARY_LIMIT),
    annotations,
    fingerprint: fingerprintOf([verdict.conclusion, verdict.title, timeless, annotations]),
  };
}

/** A failure that says what went wrong: a run never stays in progress. */
export function failureOutput(title: string, detail: string): CheckOutput {
  const summary = truncate(`❌ **fleet-warden could not evaluate this pull request.**\n\n${detail}`, SUMMARY_LIMIT);
  return { conclusion: "failure", title: title.slice(0, 255), summary, annotations: [], fingerprint: fingerprintOf(["failure", title, summary]) };
}

async function runFor(octokit: Octokit, repo: RepoRef, slot: CheckRunSlot, output: CheckOutput): Promise<CheckRunRef | undefined> {
  if (slot.state === "open") return slot.run;
  if (slot.fingerprint === output.fingerprint) return undefined;
  return createCheckRun(octokit, repo, slot.run.headSha);
}

async function createCheckRun(octokit: Octokit, repo: RepoRef, headSha: string): Promise<CheckRunRef> {
  const { data } = await octokit.rest.checks.create({
    ...repo,
    name: CHECK_NAME,
    head_sha: headSha,
    status: "in_progress",
    started_at: new Date().toISOString(),
    output: { title: "Evaluating", summary: "fleet-warden is evaluating this pull request." },
  });
  return { id: data.id, headSha, ...(data.app?.slug ? { appSlug: data.app.slug } : {}) };
}

/** Annotations go 50 per call; the last call carries the conclusion and the result's fingerprint. */
async function writeOutput(octokit: Octokit, repo: RepoRef, run: CheckRunRef, output: CheckOutput): Promise<void> {
  const batches: CheckAnnotation[][] = [];
  for (let i = 0; i < output.annotations.length; i += ANNOTATION_BATCH) batches.push(output.annotations.slice(i, i + ANNOTATION_BATCH));
  const head = batches.slice(0, -1);
  const last = batches.at(-1) ?? [];
  const base = { ...repo, check_run_id: run.id };
  for (const annotations of head) {
    await octokit.rest.checks.update({ ...base, output: { title: output.title, summary: output.summary, annotations } });
  }
  await octokit.rest.checks.update({
    ...base,
    status: "completed",
    conclusion: output.conclusion,
    completed_at: new Date().toISOString(),
    external_id: output.fingerprint,
    output: { title: output.title, summary: output.summary, ...(last.length > 0 ? { annotations: last } : {}) },
  });
}

function fingerprintOf(parts: unknown[]): string {
  return `fw1:${createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, 32)}`;
}
