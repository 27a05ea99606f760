// Each evaluation runs in a worker thread. A pull request that makes the evaluation spin or swell (an input no
// limit foresaw) then costs that worker, not the process: webhooks, /ping and the other evaluations go on, and
// the deadline is a hard one. kustomize runs in this thread, at the worker's request. When an evaluation fails or
// is stopped, its worker is terminated, the kustomize runs still going are stopped (and collected) and the
// evaluation's temporary folder is removed. A worker whose evaluation ended well waits for the next one: a fresh
// worker loads the modules again and runs cold code, which made a small evaluation three times as slow.
import { rm } from "node:fs/promises";
import { isAbsolute, relative } from "node:path";
import { Worker } from "node:worker_threads";
import { findKustomize, runKustomize, scratchFolder, type EngineLimits, type EngineResult, type KustomizeBuild, type KustomizeEngine } from "../core/build/engine.js";
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

/** The worker ended without a verdict. */
class WorkerGone extends Error {
  constructor(
    message: string,
    readonly silentReusedWorker: boolean,
  ) {
    super(message);
  }
}

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
  /** Idle workers kept for the next evaluations (default 2): as many as evaluations run at once. */
  poolSize?: number;
}

/** A worker is retired after this many evaluations, so that nothing can build up in it for ever. */
const EVALUATIONS_PER_WORKER = 100;
/** A worker whose heap grew past this is retired rather than kept idle with it. */
const RETAINED_HEAP_BYTES = 256 * 1024 * 1024;

export const DEFAULT_EVALUATION_MEMORY_MB = 1024;

// Run from the TypeScript sources (the tests), the worker is the compiled copy that the test setup builds.
const compiledWorker = import.meta.url.endsWith(".ts") ? new URL("../../dist/src/app/evaluation-worker.js", import.meta.url) : new URL("./evaluation-worker.js", import.meta.url);

export function isolatedEvaluator(options: IsolationOptions): Evaluator {
  const pool = new WorkerPool(options);
  return (facts, signal) => evaluateInWorker(pool, facts, signal, options);
}

interface PooledWorker {
  worker: Worker;
  evaluations: number;
  exited?: boolean;
}

/** Workers that finished an evaluation well, kept (unreferenced: they do not hold the process open) for the next. */
class WorkerPool {
  private readonly idle: PooledWorker[] = [];

  constructor(private readonly options: IsolationOptions) {}

  take(): PooledWorker {
    const pooled = this.idle.pop() ?? this.start();
    pooled.worker.ref();
    pooled.evaluations++;
    return pooled;
  }

  /** `heapBytes`: the worker's heap after its evaluation, when it reported it. */
  give(pooled: PooledWorker, heapBytes = 0): void {
    if (pooled.exited) return;
    if (pooled.evaluations >= EVALUATIONS_PER_WORKER || heapBytes > RETAINED_HEAP_BYTES || this.idle.length >= (this.options.poolSize ?? 2)) {
      void pooled.worker.terminate();
      return;
    }
    pooled.worker.unref();
    this.idle.push(pooled);
  }

  private start(): PooledWorker {
    const worker = new Worker(this.options.workerUrl ?? compiledWorker, { resourceLimits: { maxOldGenerationSizeMb: this.options.memoryMb } });
    const pooled: PooledWorker = { worker, evaluations: 0 };
    // An idle worker that ends (it should not) leaves the pool; errors of a busy one are its evaluation's.
    worker.on("exit", () => {
      pooled.exited = true;
      const index = this.idle.indexOf(pooled);
      if (index !== -1) this.idle.splice(index, 1);
    });
    worker.on("error", () => undefined);
    // An idle worker has nothing to say: a message means work of its last evaluation still runs in it.
    worker.on("message", () => {
      if (this.idle.includes(pooled)) void worker.terminate();
    });
    return pooled;
  }
}

async function evaluateInWorker(pool: WorkerPool, facts: Promise<PullRequestFacts>, signal: AbortSignal, options: IsolationOptions): Promise<Verdict> {
  // Heard once the worker is started; a failure before then is not an unhandled rejection.
  facts.catch(() => undefined);
  signal.throwIfAborted();
  // Build sandboxes go below the evaluation's own folder (the worker's TMPDIR), removed whatever happens.
  // Resolved, as the sandboxes made below it are (scratchFolder): the main thread checks they lie inside it.
  const temporary = scratchFolder("fleet-warden-evaluation-");
  try {
    try {
      return await inWorker(pool, facts, signal, { ...options, temporary });
    } catch (error) {
      // A kept worker that ended before it answered anything (it died idle, unseen): once more, in a new one.
      if (!(error instanceof WorkerGone && error.silentReusedWorker)) throw error;
      return await inWorker(pool, facts, signal, { ...options, temporary });
    }
  } finally {
    // A folder that cannot be removed is left behind rather than the verdict lost.
    await rm(temporary, { recursive: true, force: true, maxRetries: 3 }).catch(() => undefined);
  }
}

/** Whether `path` lies strictly below `folder`. */
function isInside(folder: string, path: string): boolean {
  const inside = relative(folder, path);
  return inside !== "" && !inside.startsWith("..") && !isAbsolute(inside);
}

async function inWorker(pool: WorkerPool, facts: Promise<PullRequestFacts>, signal: AbortSignal, options: IsolationOptions & { temporary: string }): Promise<Verdict> {
  // An abort while the folder was made fired its event already: it would never be heard.
  signal.throwIfAborted();
  const engine = options.engine ?? findKustomize();
  const pooled = pool.take();
  const worker = pooled.worker;
  // Messages carry the number of the evaluation whose work sent them: an earlier one's are never acted on.
  const evaluation = pooled.evaluations;
  let heard = false;
  let stale = false;
  const kustomizeRuns = new AbortController();
  const running = new Set<Promise<EngineResult>>();
  let gathered: PullRequestFacts | undefined;
  let heapBytes = 0;
  let settle!: { resolve(verdict: Verdict): void; reject(reason: unknown): void };
  const ended = new Promise<Verdict>((resolve, reject) => (settle = { resolve, reject }));

  const post = (message: ToWorker) => worker.postMessage(message);
  const answer = (id: number, work: Promise<unknown>) =>
    work.then(
      (value) => post({ kind: "answer", id, value }),
      (error: unknown) => post({ kind: "answer", id, error: errorMessage(error) }),
    );
  const runKustomizeHere = async (build: KustomizeBuild, limits: EngineLimits): Promise<EngineResult> => {
    // The sandbox is all kustomize sees in the wall: a folder of its own below the evaluation's, never more.
    if (!isInside(options.temporary, build.sandbox)) return { ok: false, error: `refused: ${build.sandbox} is outside the evaluation's folder` };
    if (build.folder !== build.sandbox && !isInside(build.sandbox, build.folder)) return { ok: false, error: `refused: ${build.folder} is outside its sandbox` };
    if (!engine) return { ok: false, error: "kustomize is not installed" };
    const run = runKustomize(engine, build, limits, kustomizeRuns.signal);
    running.add(run);
    return run.finally(() => running.delete(run));
  };
  const onMessage = (message: FromWorker) => {
    if (message.evaluation !== evaluation) {
      stale = true;
      return;
    }
    heard = true;
    switch (message.kind) {
      case "team":
        answer(message.id, gathered!.isTeamMember(message.team, message.login));
        break;
      case "commit-authors":
        answer(message.id, gathered!.commitAuthors?.() ?? Promise.resolve([]));
        break;
      case "kustomize":
        answer(message.id, runKustomizeHere(message.build, message.limits));
        break;
      case "verdict":
        heapBytes = message.heapBytes;
        settle.resolve(message.verdict);
        break;
      case "failed":
        settle.reject(Object.assign(new Error(message.message), { name: message.name }));
    }
  };
  const onError = (error: Error & { code?: string }) =>
    settle.reject(error.code === "ERR_WORKER_OUT_OF_MEMORY" ? new OutOfMemory(`The evaluation needed more than ${options.memoryMb} MiB of memory and was stopped.`) : error);
  const onExit = (code: number) => settle.reject(new WorkerGone(`the evaluation's worker stopped unexpectedly (exit code ${code})`, !heard && evaluation > 1));
  const onAbort = () => settle.reject(signal.reason);
  worker.on("message", onMessage).on("error", onError).on("exit", onExit);
  signal.addEventListener("abort", onAbort, { once: true });

  let posted = false;
  facts.then((ready) => {
    gathered = ready;
    const { baseFiles, headFiles, baseTipFiles, isTeamMember: _asked, commitAuthors, ...rest } = ready;
    try {
      const input = {
        facts: rest,
        commitAuthorsKnown: commitAuthors !== undefined,
        baseFiles: portableTree(baseFiles),
        headFiles: portableTree(headFiles),
        ...(baseTipFiles ? { baseTipFiles: portableTree(baseTipFiles) } : {}),
      };
      post({ kind: "input", evaluation, temporary: options.temporary, input });
      posted = true;
    } catch (error) {
      settle.reject(error);
    }
  }, settle.reject);

  let endedWell = false;
  try {
    const verdict = await ended;
    endedWell = true;
    return verdict;
  } finally {
    signal.removeEventListener("abort", onAbort);
    worker.off("message", onMessage).off("error", onError).off("exit", onExit);
    kustomizeRuns.abort();
    // A worker that never got its facts (they could not be gathered) is as good as new.
    const reusable = !stale && (endedWell || (!posted && !signal.aborted));
    await Promise.all([reusable ? undefined : worker.terminate(), ...running]);
    if (reusable) pool.give(pooled, heapBytes);
  }
}
