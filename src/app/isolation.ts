// Each evaluation runs in a worker thread of its own. A pull request that makes the evaluation spin or swell (an
// input no limit foresaw) then costs that worker, not the process: webhooks, /ping and the other evaluations go
// on, and the deadline is a hard one. The worker starts loading while the facts are gathered. kustomize runs in
// this thread, at the worker's request: when the evaluation ends, however it ends, the worker is terminated, the
// kustomize runs still going are stopped (and collected) and the evaluation's temporary folder is removed.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { isAbsolute, join, relative } from "node:path";
import { Worker } from "node:worker_threads";
import { findKustomize, runKustomize, type EngineLimits, type EngineResult, type KustomizeEngine } from "../core/build/engine.js";
import { evaluate } from "../core/evaluate.js";
import { portableTree } from "../core/files.js";
import type { PullRequestFacts, Verdict } from "../core/types.js";
import { errorMessage } from "../core/yaml.js";
import type { FromWorker, ToWorker } from "./evaluation-worker.js";

/** Evaluates the facts once they are gathered; stops, rejecting with the signal's reason, when the signal aborts. */
export type Evaluator = (facts: Promise<PullRequestFacts>, signal: AbortSignal) => Promise<Verdict>;

/** In this thread, as the CLI does. The signal is not heeded: the evaluation runs to its end. */
export const evaluateInProcess: Evaluator = async (facts) => evaluate(await facts);

/** The worker outgrew its heap limit and was stopped. */
export class OutOfMemory extends Error {}

export interface IsolationOptions {
  /**
   * The worker's heap limit (EVALUATION_MEMORY_MB). V8 keeps to it as best it can: a single huge object can still
   * exhaust the process, and a `--max-old-space-size` given to the process overrides it (see the README).
   */
  memoryMb: number;
  /** The worker's module (tests substitute their own). */
  workerUrl?: URL;
  /** What kustomize runs are run with (default: findKustomize()). */
  engine?: KustomizeEngine;
}

export const DEFAULT_EVALUATION_MEMORY_MB = 1024;

// Run from the TypeScript sources (the tests), the worker is the compiled copy that the test setup builds.
const compiledWorker = import.meta.url.endsWith(".ts") ? new URL("../../dist/src/app/evaluation-worker.js", import.meta.url) : new URL("./evaluation-worker.js", import.meta.url);

export function isolatedEvaluator(options: IsolationOptions): Evaluator {
  return (facts, signal) => evaluateInWorker(facts, signal, options);
}

async function evaluateInWorker(facts: Promise<PullRequestFacts>, signal: AbortSignal, options: IsolationOptions): Promise<Verdict> {
  // Heard once the worker is started; a failure before then is not an unhandled rejection.
  facts.catch(() => undefined);
  signal.throwIfAborted();
  // Build sandboxes go below the evaluation's own folder (the worker's TMPDIR), removed whatever happens.
  const temporary = await mkdtemp(join(tmpdir(), "fleet-warden-evaluation-"));
  try {
    return await inWorker(facts, signal, { ...options, temporary });
  } finally {
    await rm(temporary, { recursive: true, force: true });
  }
}

async function inWorker(facts: Promise<PullRequestFacts>, signal: AbortSignal, options: IsolationOptions & { temporary: string }): Promise<Verdict> {
  // An abort while the folder was made fired its event already: it would never be heard.
  signal.throwIfAborted();
  const engine = options.engine ?? findKustomize();
  const worker = new Worker(options.workerUrl ?? compiledWorker, {
    env: { ...process.env, TMPDIR: options.temporary },
    resourceLimits: { maxOldGenerationSizeMb: options.memoryMb },
  });
  const kustomizeRuns = new AbortController();
  const running = new Set<Promise<EngineResult>>();
  let gathered: PullRequestFacts | undefined;
  let onAbort: (() => void) | undefined;

  const post = (message: ToWorker) => worker.postMessage(message);
  const answer = (id: number, work: Promise<unknown>) =>
    work.then(
      (value) => post({ kind: "answer", id, value }),
      (error: unknown) => post({ kind: "answer", id, error: errorMessage(error) }),
    );
  const runKustomizeHere = async (folder: string, limits: EngineLimits): Promise<EngineResult> => {
    const inside = relative(options.temporary, folder);
    if (inside === "" || inside.startsWith("..") || isAbsolute(inside)) return { ok: false, error: `refused: ${folder} is outside the evaluation's folder` };
    if (!engine) return { ok: false, error: "kustomize is not installed" };
    const run = runKustomize(engine, folder, limits, kustomizeRuns.signal);
    running.add(run);
    return run.finally(() => running.delete(run));
  };

  const ended = new Promise<Verdict>((resolve, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    worker.on("message", (message: FromWorker) => {
      switch (message.kind) {
        case "team":
          answer(message.id, gathered!.isTeamMember(message.team, message.login));
          break;
        case "kustomize":
          answer(message.id, runKustomizeHere(message.folder, message.limits));
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
    facts.then((ready) => {
      gathered = ready;
      const { baseFiles, headFiles, isTeamMember: _asked, ...rest } = ready;
      try {
        post({ kind: "input", input: { facts: rest, baseFiles: portableTree(baseFiles), headFiles: portableTree(headFiles) } });
      } catch (error) {
        reject(error);
      }
    }, reject);
  });

  try {
    return await ended;
  } finally {
    signal.removeEventListener("abort", onAbort!);
    kustomizeRuns.abort();
    await Promise.all([worker.terminate(), ...running]);
  }
}
