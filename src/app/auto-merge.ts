// Auto-merge of image updates in the App. After an evaluation whose verdict is eligible (and passed), the
// merge gate is looked at; when checks or statuses on that head finish, only the gate is looked at again,
// as long as the pull request's head and base are the ones that were evaluated. Anything else evaluates again.
import type { Verdict } from "../core/types.js";
import { pullRequestInfo } from "../github/facts.js";
import { imageUpdatePullsHeadedBy, mergeGate, mergePullRequest, updateCheckSummary } from "../github/merge.js";
import type { Octokit, RepoRef } from "../github/octokit.js";
import type { EvaluationOutcome } from "./evaluate-pull-request.js";

/** What the caller does next: nothing, or evaluate the pull request (again). */
export type FollowUp = "none" | "evaluate";

interface EligibleEvaluation {
  repository: string;
  pullNumber: number;
  headSha: string;
  /** The base branch's tip when evaluated: a moved base can change the verdict (policies, config). */
  baseSha: string;
  verdict: Verdict;
  /** Merged, or failed in a way that is never retried: nothing more until the next evaluation. */
  settled: boolean;
  /** The note last written to the summary: an unchanged wait is not written twice. */
  note?: string;
}

/** Pull requests (and status shas) remembered at most, oldest forgotten first; a forgotten one is evaluated again. */
const REMEMBERED = 1000;

export class AutoMerger {
  /** Per pull request key: its last evaluation when eligible, null when it was evaluated and is not. */
  private readonly evaluations = new Map<string, EligibleEvaluation | null>();
  /** Per `owner/repo@sha` a commit status named and no evaluation remembered: the image-update pull requests it heads. */
  private readonly headedBy = new Map<string, Promise<number[]>>();

  constructor(private readonly appId?: number) {}

  /** After an evaluation: merge when the verdict passed, is eligible, and every other check is green. */
  async afterEvaluation(octokit: Octokit, repo: RepoRef, key: string, outcome: EvaluationOutcome): Promise<FollowUp> {
    if (outcome.status !== "completed") {
      // A failed evaluation is not run again by every commit status of its head (a CI step each): its Re-run or
      // the next push does. A superseded one is followed by the newer evaluation; one that left no run of ours (no
      // Re-run button either) by the next check or status that finishes.
      if (outcome.status === "failed" && !outcome.unwritten) this.remember(key, null);
      else this.evaluations.delete(key);
      return "none";
    }
    const { verdict, pull } = outcome;
    if (!verdict.autoMerge?.eligible || verdict.conclusion !== "success") {
      this.remember(key, null);
      return "none";
    }
    const evaluation: EligibleEvaluation = {
      repository: `${repo.owner}/${repo.repo}`,
      pullNumber: pull.number,
      headSha: pull.headSha,
      baseSha: pull.baseSha,
      verdict,
      settled: false,
    };
    this.remember(key, evaluation);
    return this.tryMerge(octokit, repo, evaluation);
  }

  /** A check or status finished: look at the gate again, or ask for an evaluation when this head was not evaluated. */
  async recheck(octokit: Octokit, repo: RepoRef, key: string, pullNumber: number): Promise<FollowUp> {
    if (!this.evaluations.has(key)) return "evaluate";
    const evaluation = this.evaluations.get(key);
    if (!evaluation || evaluation.settled) return "none";
    const { data } = await octokit.rest.pulls.get({ ...repo, pull_number: pullNumber });
    if (data.state !== "open") return "none";
    const pull = pullRequestInfo(data);
    if (pull.headSha !== evaluation.headSha || pull.baseSha !== evaluation.baseSha) return "evaluate";
    // Turned into a draft after the evaluation: it is evaluated again when it is ready for review.
    if (pull.draft) return "none";
    return this.tryMerge(octokit, repo, evaluation);
  }

  /**
   * Pull requests of `repo` that may wait for checks on `sha` (commit statuses name no pull request): the eligible
   * ones remembered, else the image-update pull requests `sha` heads, asked of GitHub once per sha.
   */
  async waitingOn(octokit: Octokit, repo: RepoRef, sha: string): Promise<number[]> {
    const repository = `${repo.owner}/${repo.repo}`;
    const remembered = [...this.evaluations.values()]
      .filter((evaluation) => evaluation && !evaluation.settled && evaluation.repository === repository && evaluation.headSha === sha)
      .map((evaluation) => evaluation!.pullNumber);
    if (remembered.length > 0) return remembered;
    const key = `${repository}@${sha}`;
    // Statuses of one sha come in bursts (a CI step each): they share one lookup, and a failed one is not kept.
    let found = this.headedBy.get(key);
    if (!found) {
      found = imageUpdatePullsHeadedBy(octokit, repo, sha);
      boundedSet(this.headedBy, key, found);
      found.catch(() => {
        if (this.headedBy.get(key) === found) this.headedBy.delete(key);
      });
    }
    return found;
  }

  private async tryMerge(octokit: Octokit, repo: RepoRef, evaluation: EligibleEvaluation): Promise<FollowUp> {
    const gate = await mergeGate(octokit, repo, evaluation.headSha, this.appId);
    if (gate.state === "waiting") {
      await this.note(octokit, repo, evaluation, gate.ownRunId, `Eligible; waiting for ${gate.pending.join(", ")}: it is merged as soon as the last one turns green.`);
      return "none";
    }
    if (gate.state === "blocked") {
      await this.note(octokit, repo, evaluation, gate.ownRunId, `Eligible, but not merged: ${gate.failed.join(", ")}.`);
      return "none";
    }
    const method = evaluation.verdict.autoMerge?.mergeMethod ?? "squash";
    const result = await mergePullRequest(octokit, repo, evaluation.pullNumber, evaluation.headSha, method);
    switch (result.state) {
      case "merged":
        evaluation.settled = true;
        await this.note(octokit, repo, evaluation, gate.ownRunId, `Merged by fleet-warden (${method}) at ${evaluation.headSha}.`, true);
        return "none";
      case "refused": {
        if (result.status === 409) {
          // The head (or base) moved between evaluation and merge: the new state is evaluated, never merged blindly.
          const { data } = await octokit.rest.pulls.get({ ...repo, pull_number: evaluation.pullNumber });
          const pull = pullRequestInfo(data);
          if (data.state === "open" && (pull.headSha !== evaluation.headSha || pull.baseSha !== evaluation.baseSha)) return "evaluate";
        }
        await this.note(
          octokit,
          repo,
          evaluation,
          gate.ownRunId,
          `Eligible, but GitHub refused the merge (${result.status}: ${result.message}); it is tried again at the next check, status or review event.`,
        );
        return "none";
      }
      case "failed":
        evaluation.settled = true;
        await this.note(
          octokit,
          repo,
          evaluation,
          gate.ownRunId,
          `Eligible, but the merge failed (${result.status ?? "no answer"}: ${result.message}). fleet-warden does not retry it: re-run this check to try again.`,
        );
        return "none";
    }
  }

  /** Says in our check run's summary what became of the auto-merge (once per distinct note). */
  private async note(octokit: Octokit, repo: RepoRef, evaluation: EligibleEvaluation, runId: number | undefined, note: string, merged = false): Promise<void> {
    if (runId === undefined || evaluation.note === note) return;
    evaluation.note = note;
    const { verdict } = evaluation;
    await updateCheckSummary(octokit, repo, runId, { ...verdict, autoMerge: { ...verdict.autoMerge!, note, ...(merged ? { merged } : {}) } });
  }

  private remember(key: string, evaluation: EligibleEvaluation | null): void {
    boundedSet(this.evaluations, key, evaluation);
  }
}

/** Sets `key` as the newest entry, forgetting the oldest beyond REMEMBERED. */
function boundedSet<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > REMEMBERED) map.delete(map.keys().next().value!);
}
