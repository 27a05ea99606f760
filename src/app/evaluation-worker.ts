// The worker thread side of an isolated evaluation (see isolation.ts): the facts arrive as workerData, team
// membership is asked of the main thread (which holds the GitHub client), and the verdict is posted back.
import { parentPort, workerData } from "node:worker_threads";
import { observeKustomizeProcesses } from "../core/build/engine.js";
import { evaluate } from "../core/evaluate.js";
import { treeFromPortable, type PortableTree } from "../core/files.js";
import type { PullRequestFacts, Verdict } from "../core/types.js";
import { errorMessage } from "../core/yaml.js";

export interface WorkerInput {
  facts: Omit<PullRequestFacts, "baseFiles" | "headFiles" | "isTeamMember">;
  baseFiles: PortableTree;
  headFiles: PortableTree;
}

export type FromWorker =
  | { kind: "team"; id: number; team: string; login: string }
  | { kind: "process"; pid: number; running: boolean }
  | { kind: "verdict"; verdict: Verdict }
  | { kind: "failed"; name: string; message: string };

export type ToWorker = { kind: "team"; id: number; member: boolean } | { kind: "team"; id: number; error: string };

const port = parentPort!;
const post = (message: FromWorker) => port.postMessage(message);
const questions = new Map<number, { resolve(member: boolean): void; reject(error: Error): void }>();
let asked = 0;

port.on("message", (answer: ToWorker) => {
  const question = questions.get(answer.id);
  questions.delete(answer.id);
  if ("error" in answer) question?.reject(new Error(answer.error));
  else question?.resolve(answer.member);
});
observeKustomizeProcesses((pid, running) => post({ kind: "process", pid, running }));

const input = workerData as WorkerInput;
const facts: PullRequestFacts = {
  ...input.facts,
  baseFiles: treeFromPortable(input.baseFiles),
  headFiles: treeFromPortable(input.headFiles),
  isTeamMember: (team, login) =>
    new Promise((resolve, reject) => {
      const id = ++asked;
      questions.set(id, { resolve, reject });
      post({ kind: "team", id, team, login });
    }),
};

try {
  post({ kind: "verdict", verdict: await evaluate(facts) });
} catch (error) {
  post({ kind: "failed", name: error instanceof Error ? error.name : "Error", message: errorMessage(error) });
}
