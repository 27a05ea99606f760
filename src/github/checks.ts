// The check run: one per head sha, created early (in progress) and completed once with the verdict. A sha that
// was already evaluated keeps its run when the new result is the same (a redelivery, a burst of events).
import { createHash, randomUUID } from "node:crypto";
import type { Verdict } from "../core/types.js";
import { errorMessage } from "../core/yaml.js";
import { annotationsFor, type CheckAnnotation } from "../report/annotations.js";
import { renderSummary, SUMMARY_LIMIT, truncate } from "../report/summary.js";
import { createOnce, isRefusal, statusOf, withOneMoreRound, type Octokit, type RepoRef } from "./octokit.js";

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
    const ours = await ourRun(octokit, repo, headSha, options.appId);
    if (ours) {
      const run = { id: ours.id, headSha, ...(ours.app?.slug ? { appSlug: ours.app.slug } : {}) };
      return ours.status === "completed" ? { state: "evaluated", run, fingerprint: ours.external_id ?? null } : { state: "open", run };
    }
  }
  return { state: "open", run: await createCheckRun(octokit, repo, headSha) };
}

/** The sha's latest run of ours (of our App, when its id is known), if any. */
async function ourRun(octokit: Octokit, repo: RepoRef, headSha: string, appId: number | undefined) {
  const { data } = await octokit.rest.checks.listForRef({ ...repo, ref: headSha, check_name: CHECK_NAME, filter: "latest", per_page: 100 });
  return data.check_runs.find((run) => run.head_sha === headSha && (appId === undefined || run.app?.id === appId));
}

/** The run written to; `fallback` says why it shows a plain failure instead of the output. */
export interface PublishedRun {
  run: CheckRunRef;
  fallback?: string;
}

/**
 * Writes `output` where it belongs; undefined when the sha already shows this result. A report GitHub refuses
 * (4xx), or keeps failing on (5xx, timeouts, one more round after the retry plugin's), gives way to a plain failure
 * that says so: the run never stays in progress. Throws only when that cannot be written either.
 */
export async function publishCheckRun(octokit: Octokit, repo: RepoRef, slot: CheckRunSlot, output: CheckOutput): Promise<PublishedRun | undefined> {
  const run = await runFor(octokit, repo, slot, output);
  if (!run) return undefined;
  try {
    await writeOutput(octokit, repo, run, output);
    return { run };
  } catch (error) {
    const status = statusOf(error);
    const fallback = isRefusal(error)
      ? `GitHub refused the report: ${errorMessage(error)}`
      : `GitHub kept failing while the report was written (${status ? `answered ${status}` : "no answer"}: ${errorMessage(error)}). Re-run the check to try again.`;
    await writeOutput(octokit, repo, run, failureOutput("Could not write the report", fallback));
    return { run, fallback };
  }
}

/** Closes the sha's run in progress as cancelled (its sha is no longer the head); a completed run is left as it is. */
export async function cancelCheckRun(octokit: Octokit, repo: RepoRef, slot: CheckRunSlot, reason: string): Promise<void> {
  if (slot.state !== "open") return;
  const summary = `${reason} This commit's result is dropped; the pull request's current head is what counts.`;
  await writeOutput(octokit, repo, slot.run, { conclusion: "cancelled", title: "Superseded", summary, annotations: [], fingerprint: fingerprintOf(["cancelled", summary]) });
}

/** `note`: a closing paragraph of the App's own (e.g. suggestions left out of the review). */
export function verdictOutput(verdict: Verdict, note = ""): CheckOutput {
  const annotations = annotationsFor(verdict);
  const closing = note === "" ? "" : `\n\n${note}`;
  const render = (shown: Verdict) => renderSummary(shown, SUMMARY_LIMIT - closing.length) + closing;
  const timeless = render({ ...verdict, stats: { ...verdict.stats, durationMs: 0 } });
  return {
    conclusion: verdict.conclusion,
    title: verdict.title,
    summary: render(verdict),
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

/**
 * Never two runs for one creation (see createOnce): the run carries a one-off `external_id` (the result's
 * fingerprint replaces it when the run completes), by which a run GitHub created without answering is found.
 */
async function createCheckRun(octokit: Octokit, repo: RepoRef, headSha: string): Promise<CheckRunRef> {
  const creation = `fw-creating:${randomUUID()}`;
  const refOf = (run: { id: number; app?: { slug?: string } | null }): CheckRunRef => ({ id: run.id, headSha, ...(run.app?.slug ? { appSlug: run.app.slug } : {}) });
  return createOnce(
    async () => {
      const { data } = await octokit.rest.checks.create({
        ...repo,
        name: CHECK_NAME,
        head_sha: headSha,
        status: "in_progress",
        started_at: new Date().toISOString(),
        external_id: creation,
        output: { title: "Evaluating", summary: "fleet-warden is evaluating this pull request." },
        request: { retries: 0 },
      });
      return refOf(data);
    },
    async () => {
      const { data } = await octokit.rest.checks.listForRef({ ...repo, ref: headSha, check_name: CHECK_NAME, filter: "all", per_page: 100 });
      const created = data.check_runs.find((run) => run.external_id === creation);
      return created ? refOf(created) : undefined;
    },
  );
}

/**
 * One completed run with `output` on a head no evaluation will reach (shutdown dropped it), unless the head has a run
 * of ours already: a single write, which cannot be left in progress. True when it wrote.
 */
export async function markHead(octokit: Octokit, repo: RepoRef, headSha: string, output: CheckOutput, appId?: number): Promise<boolean> {
  if (await ourRun(octokit, repo, headSha, appId)) return false;
  await octokit.rest.checks.create({
    ...repo,
    name: CHECK_NAME,
    head_sha: headSha,
    status: "completed",
    conclusion: output.conclusion,
    completed_at: new Date().toISOString(),
    external_id: output.fingerprint,
    output: { title: output.title, summary: output.summary },
    request: { retries: 0 },
  });
  return true;
}

/** Annotations go 50 per call; the last call carries the conclusion and the result's fingerprint. Each call gets one more round. */
async function writeOutput(octokit: Octokit, repo: RepoRef, run: CheckRunRef, output: CheckOutput): Promise<void> {
  const batches: CheckAnnotation[][] = [];
  for (let i = 0; i < output.annotations.length; i += ANNOTATION_BATCH) batches.push(output.annotations.slice(i, i + ANNOTATION_BATCH));
  const head = batches.slice(0, -1);
  const last = batches.at(-1) ?? [];
  const base = { ...repo, check_run_id: run.id };
  for (const annotations of head) {
    await withOneMoreRound(() => octokit.rest.checks.update({ ...base, output: { title: output.title, summary: output.summary, annotations } }));
  }
  await withOneMoreRound(() =>
    octokit.rest.checks.update({
      ...base,
      status: "completed",
      conclusion: output.conclusion,
      completed_at: new Date().toISOString(),
      external_id: output.fingerprint,
      output: { title: output.title, summary: output.summary, ...(last.length > 0 ? { annotations: last } : {}) },
    }),
  );
}

function fingerprintOf(parts: unknown[]): string {
  return `fw1:${createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, 32)}`;
}
