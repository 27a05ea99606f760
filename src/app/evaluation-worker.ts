// The worker thread side of isolated evaluations (see isolation.ts), one at a time. The facts of each arrive as
// one message; what needs the main thread (team membership, which takes the GitHub client, and kustomize runs,
// which only the main thread can stop and collect) is asked of it; the verdict is posted back.
import { parentPort } from "node:worker_threads";
import { delegateKustomize, type EngineLimits, type EngineResult } from "../core/build/engine.js";
import { evaluate } from "../core/evaluate.js";
import { treeFromPortable, type PortableTree } from "../core/files.js";
import type { PullRequestFacts, Verdict } from "../core/types.js";
import { errorMessage } from "../core/yaml.js";

export interface WorkerInput {
  facts: Omit<PullRequestFacts, "baseFiles" | "headFiles" | "isTeamMember">;
  baseFiles: PortableTree;
  headFiles: PortableTree;
}

export type Question = { kind: "team"; team: string; login: string } | { kind: "kustomize"; folder: string; limits: EngineLimits };

export type FromWorker = (Question & { id: number }) | { kind: "verdict"; verdict: Verdict } | { kind: "failed"; name: string; message: string };

export type ToWorker = { kind: "input"; input: WorkerInput; temporary: string } | { kind: "answer"; id: number; value: unknown } | { kind: "answer"; id: number; error: string };

const port = parentPort!;
const post = (message: FromWorker) => port.postMessage(message);
const questions = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
let asked = 0;

function ask<T>(question: Question): Promise<T> {
  return new Promise((resolve, reject) => {
    const id = ++asked;
    questions.set(id, { resolve: resolve as (value: unknown) => void, reject });
    post({ ...question, id });
  });
}

port.on("message", (message: ToWorker) => {
  if (message.kind === "input") {
    // This evaluation's build sandboxes go below its own folder, which the main thread removes afterwards.
    process.env.TMPDIR = message.temporary;
    void run(message.input);
    return;
  }
  const question = questions.get(message.id);
  questions.delete(message.id);
  if ("error" in message) question?.reject(new Error(message.error));
  else question?.resolve(message.value);
});
delegateKustomize((folder, limits) => ask<EngineResult>({ kind: "kustomize", folder, limits }));

async function run(input: WorkerInput): Promise<void> {
  const facts: PullRequestFacts = {
    ...input.facts,
    baseFiles: treeFromPortable(input.baseFiles),
    headFiles: treeFromPortable(input.headFiles),
    isTeamMember: (team, login) => ask<boolean>({ kind: "team", team, login }),
  };
  try {
    post({ kind: "verdict", verdict: await evaluate(facts) });
  } catch (error) {
    post({ kind: "failed", name: error instanceof Error ? error.name : "Error", message: errorMessage(error) });
  }
}
