// The worker thread side of isolated evaluations (see isolation.ts), one at a time. The facts of each arrive as
// one message; what needs the main thread (team membership and commit authors, which take the GitHub client, and kustomize runs,
// which only the main thread can stop and collect) is asked of it; the verdict is posted back.
import { AsyncLocalStorage } from "node:async_hooks";
import { getHeapStatistics } from "node:v8";
import { parentPort } from "node:worker_threads";
import { delegateKustomize, type EngineLimits, type EngineResult, type KustomizeBuild } from "../core/build/engine.js";
import { evaluate } from "../core/evaluate.js";
import { treeFromPortable, type PortableTree } from "../core/files.js";
import type { PullRequestFacts, Verdict } from "../core/types.js";
import { errorMessage } from "../core/yaml.js";

export interface WorkerInput {
  facts: Omit<PullRequestFacts, "baseFiles" | "headFiles" | "baseTipFiles" | "isTeamMember" | "commitAuthors">;
  /** The facts can say who authored the commits (asked of the main thread). */
  commitAuthorsKnown: boolean;
  baseFiles: PortableTree;
  headFiles: PortableTree;
  baseTipFiles?: PortableTree;
}

export type Question = { kind: "team"; team: string; login: string } | { kind: "commit-authors" } | { kind: "kustomize"; build: KustomizeBuild; limits: EngineLimits };

/** Every message says which evaluation (numbered by the main thread) the work that sent it belongs to. */
export type FromWorker = { evaluation: number } & (
  | (Question & { id: number })
  | { kind: "verdict"; verdict: Verdict; heapBytes: number }
  | { kind: "failed"; name: string; message: string }
);

export type ToWorker =
  | { kind: "input"; evaluation: number; input: WorkerInput; temporary: string }
  | { kind: "answer"; id: number; value: unknown }
  | { kind: "answer"; id: number; error: string };

const port = parentPort!;
const post = (message: FromWorker) => port.postMessage(message);
// Work left running by an earlier evaluation (it should not be) is told apart by its async context.
const evaluationOf = new AsyncLocalStorage<number>();
const questions = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
let asked = 0;

function ask<T>(question: Question): Promise<T> {
  return new Promise((resolve, reject) => {
    const id = ++asked;
    questions.set(id, { resolve: resolve as (value: unknown) => void, reject });
    post({ ...question, id, evaluation: evaluationOf.getStore() ?? -1 });
  });
}

port.on("message", (message: ToWorker) => {
  if (message.kind === "input") {
    // This evaluation's build sandboxes go below its own folder, which the main thread removes afterwards.
    process.env.TMPDIR = message.temporary;
    evaluationOf.run(message.evaluation, () => void run(message.input, message.evaluation));
    return;
  }
  const question = questions.get(message.id);
  questions.delete(message.id);
  if ("error" in message) question?.reject(new Error(message.error));
  else question?.resolve(message.value);
});
delegateKustomize((build, limits) => ask<EngineResult>({ kind: "kustomize", build, limits }));

async function run(input: WorkerInput, evaluation: number): Promise<void> {
  const facts: PullRequestFacts = {
    ...input.facts,
    baseFiles: treeFromPortable(input.baseFiles),
    headFiles: treeFromPortable(input.headFiles),
    ...(input.baseTipFiles ? { baseTipFiles: treeFromPortable(input.baseTipFiles) } : {}),
    isTeamMember: (team, login) => ask<boolean>({ kind: "team", team, login }),
    ...(input.commitAuthorsKnown ? { commitAuthors: () => ask<Array<string | undefined>>({ kind: "commit-authors" }) } : {}),
  };
  try {
    const verdict = await evaluate(facts);
    post({ kind: "verdict", evaluation, verdict, heapBytes: getHeapStatistics().used_heap_size });
  } catch (error) {
    post({ kind: "failed", evaluation, name: error instanceof Error ? error.name : "Error", message: errorMessage(error) });
  }
}
