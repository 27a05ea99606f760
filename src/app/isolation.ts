// Each evaluation runs in a worker thread of its own. A pull request that makes the evaluation spin or swell (an
// input no limit foresaw) then costs that worker, never the process: webhooks, /ping and the other evaluations go
// on, and the deadline is a hard one. When the evaluation ends, however it ends, the worker is terminated, the
// kustomize processes it started are killed and its temporary files are removed.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { evaluate } from "../core/evaluate.js";
import { portableTree } from "../core/files.js";
import type { PullRequestFacts, Verdict } from "../core/types.js";
import { errorMessage } from "../core/yaml.js";
import type { FromWorker, ToWorker, WorkerInput } from "./evaluation-worker.js";

/** Evaluates the facts; stops, rejecting with the signal's reason, when the signal aborts. */
export type Evaluator = (facts: PullRequestFacts, signal: AbortSignal) => Promise<Verdict>;

/** In this thread: what the CLI does. The signal is not heeded: the evaluation runs to its end. */
export const evaluateInProcess: Evaluator = (facts) => evaluate(facts);

/** The worker outgrew its heap limit and was stopped. */
export class OutOfMemory extends Error {}

export interface IsolationOptions {
  /** The worker's heap limit (EVALUATION_MEMORY_MB). */
  memoryMb: number;
  /** The worker's module (tests substitute their own). */
  workerUrl?: URL;
}

export const DEFAULT_EVALUATION_MEMORY_MB = 1024;

// Run from the TypeScript sources (the tests), the worker is the compiled copy that the test setup builds.
const compiledWorker = import.meta.url.endsWith(".ts") ? new URL("../../dist/src/app/evaluation-worker.js", import.meta.url) : new URL("./evaluation-worker.js", import.meta.url);

export function isolatedEvaluator(options: IsolationOptions): Evaluator {
  return (facts, signal) => evaluateInWorker(facts, signal, options);
}

async function evaluateInWorker(facts: PullRequestFacts, signal: AbortSignal, options: IsolationOptions): Promise<Verdict> {
  signal.throwIfAborted();
  const { baseFiles, headFiles, isTeamMember, ...rest } = facts;
  const input: WorkerInput = { facts: rest, baseFiles: portableTree(baseFiles), headFiles: portableTree(headFiles) };
  // Build sandboxes and kustomize homes go below the evaluation's own folder, removed whatever happens.
  const temporary = await mkdtemp(join(tmpdir(), "fleet-warden-evaluation-"));
  try {
    return await inWorker(input, isTeamMember, signal, { ...options, temporary });
  } finally {
    await rm(temporary, { recursive: true, force: true });
  }
}

async function inWorker(
  input: WorkerInput,
  isTeamMember: PullRequestFacts["isTeamMember"],
  signal: AbortSignal,
  options: IsolationOptions & { temporary: string },
): Promise<Verdict> {
  const worker = new Worker(options.workerUrl ?? compiledWorker, {
    workerData: input,
    transferList: [input.baseFiles.bytes, input.headFiles.bytes],
    env: { ...process.env, TMPDIR: options.temporary },
    resourceLimits: { maxOldGenerationSizeMb: options.memoryMb },
  });
  const processes = new Set<number>();
  const answer = (message: ToWorker) => worker.postMessage(message);
  let onAbort: (() => void) | undefined;

  const ended = new Promise<Verdict>((resolve, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    worker.on("message", (message: FromWorker) => {
      switch (message.kind) {
        case "team":
          isTeamMember(message.team, message.login).then(
            (member) => answer({ kind: "team", id: message.id, member }),
            (error: unknown) => answer({ kind: "team", id: message.id, error: errorMessage(error) }),
          );
          break;
        case "process":
          if (message.running) processes.add(message.pid);
          else processes.delete(message.pid);
          break;
        case "verdict":
          resolve(message.verdict);
          break;
        case "failed":
          reject(Object.assign(new Error(message.message), { name: message.name }));
      }
    });
    worker.on("error", (error: Error & { code?: string }) =>
      reject(error.code === "ERR_WORKER_OUT_OF_MEMORY" ? new OutOfMemory(`The evaluation needed more than ${options.memoryMb} MiB of memory and was stopped.`) : error),
    );
    worker.on("exit", (code) => reject(new Error(`the evaluation's worker stopped unexpectedly (exit code ${code})`)));
  });

  try {
    return await ended;
  } finally {
    signal.removeEventListener("abort", onAbort!);
    await worker.terminate();
    for (const pid of processes) killGroup(pid);
  }
}

/** kustomize runs as the leader of its own process group (see engine.ts): the group goes with it. */
function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}
