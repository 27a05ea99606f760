// The kustomize engine behind one interface: the standalone binary when present, else `kubectl kustomize`,
// always run in a sandbox (scrubbed environment, empty HOME, proxies pointing nowhere, git protocols off,
// a network namespace of its own where the machine allows one, a time, output and memory limit).
import { spawn, spawnSync } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { basename, delimiter, join } from "node:path";
import { formatBytes } from "../yaml.js";

export interface KustomizeEngine {
  /** e.g. "kustomize" or "kubectl kustomize", for notes. */
  description: string;
  command: string;
  args(folder: string): string[];
}

export interface EngineLimits {
  timeoutMs: number;
  maxOutputBytes: number;
  /** Memory one kustomize run may take, in MiB (its data segment: Go's heap); default KUSTOMIZE_MEMORY_MB, else 1024. */
  memoryMb?: number;
}

export const defaultEngineLimits: EngineLimits = { timeoutMs: 30_000, maxOutputBytes: 64 * 1024 * 1024 };

const DEFAULT_MEMORY_MB = 1024;

function memoryMbOf(limits: EngineLimits): number {
  const configured = Number(process.env.KUSTOMIZE_MEMORY_MB);
  return limits.memoryMb ?? (Number.isFinite(configured) && configured > 0 ? configured : DEFAULT_MEMORY_MB);
}

const probed = new Map<string, boolean>();
/** Whether a command runs here (exits 0), asked once per process. */
function runsHere(command: string, ...args: string[]): boolean {
  const key = [command, ...args].join(" ");
  if (!probed.has(key)) probed.set(key, spawnSync(command, args, { stdio: "ignore", timeout: 5_000 }).status === 0);
  return probed.get(key)!;
}

/** Whether `prlimit` (util-linux) can cap a process's memory here. */
export function canLimitMemory(): boolean {
  return runsHere("prlimit", `--data=${256 * 1024 * 1024}`, "--", "true");
}

/**
 * kustomize runs at once in this process, whatever the evaluations (each may take its memory limit): a pull request
 * that makes every build large cannot multiply them by the evaluations running.
 */
const MAX_RUNNING = Math.max(2, availableParallelism());
let running = 0;
const waiting: Array<() => void> = [];

/** A run's turn; false when `signal` aborted first. */
function turn(signal?: AbortSignal): Promise<boolean> {
  if (running < MAX_RUNNING) {
    running++;
    return Promise.resolve(true);
  }
  return new Promise((resolve) => {
    const start = () => {
      signal?.removeEventListener("abort", stop);
      running++;
      resolve(true);
    };
    const stop = () => {
      waiting.splice(waiting.indexOf(start), 1);
      resolve(false);
    };
    waiting.push(start);
    signal?.addEventListener("abort", stop, { once: true });
  });
}

function endTurn(): void {
  running--;
  waiting.shift()?.();
}

/** `limit`: stopped at fleet-warden's own time or output limit, which Flux does not share. */
export type EngineResult = { ok: true; output: string } | { ok: false; error: string; limit?: true };

const STOPPED = "kustomize was stopped: the evaluation ended";
const LOAD_RESTRICTOR = ["--load-restrictor", "LoadRestrictionsNone"];
const NOWHERE = "http://127.0.0.1:9";

/** KUSTOMIZE_BIN, then `kustomize` on PATH, then `kubectl kustomize`; undefined when none exists. */
export function findKustomize(env: NodeJS.ProcessEnv = process.env): KustomizeEngine | undefined {
  const explicit = env.KUSTOMIZE_BIN;
  if (explicit) return isExecutable(explicit) ? engineFor(explicit) : undefined;
  const kustomize = onPath("kustomize", env.PATH);
  if (kustomize) return engineFor(kustomize);
  const kubectl = onPath("kubectl", env.PATH);
  return kubectl ? engineFor(kubectl) : undefined;
}

function engineFor(binary: string): KustomizeEngine {
  if (basename(binary).startsWith("kubectl")) {
    // kubectl asks an API server for its version first, by default the host's 127.0.0.1:8080: nowhere instead.
    return { description: "kubectl kustomize", command: binary, args: (folder) => [`--server=${NOWHERE}`, "kustomize", folder, ...LOAD_RESTRICTOR] };
  }
  return { description: "kustomize", command: binary, args: (folder) => ["build", folder, ...LOAD_RESTRICTOR] };
}

function onPath(name: string, path = ""): string | undefined {
  return path
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, name))
    .find(isExecutable);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Nothing of the caller's environment but PATH: no tokens, no kubeconfig, no git or proxy settings. */
export function sandboxEnv(home: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: home,
    XDG_CONFIG_HOME: home,
    XDG_CACHE_HOME: home,
    LANG: "C",
    HTTP_PROXY: NOWHERE,
    HTTPS_PROXY: NOWHERE,
    ALL_PROXY: NOWHERE,
    http_proxy: NOWHERE,
    https_proxy: NOWHERE,
    all_proxy: NOWHERE,
    NO_PROXY: "",
    no_proxy: "",
    GIT_ALLOW_PROTOCOL: "",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_TERMINAL_PROMPT: "0",
  };
}

/**
 * `KUSTOMIZE_NETWORK_ISOLATION`: `auto` (the default) runs kustomize without a network where the machine allows
 * unprivileged user namespaces, `required` fails every build where it does not, `off` never isolates.
 */
export type NetworkIsolationSetting = "auto" | "required" | "off";

/** How kustomize is started: under `unshare`, as it is, or not at all (and why). */
export type NetworkIsolation = { prefix: string[] } | { refused: string };

/**
 * A user and network namespace of its own (`unshare -Un`) holds nothing but a loopback that is down. Vetting
 * refuses every remote reference before kustomize runs; this is the wall behind it, since Go's proxy settings
 * never cover loopback addresses: a reference that vetting missed would reach the host's own services.
 */
export function networkIsolationOf(setting: NetworkIsolationSetting, canUnshare: () => boolean): NetworkIsolation {
  if (setting === "off") return { prefix: [] };
  if (canUnshare()) return { prefix: ["unshare", "-Un", "--"] };
  if (setting === "required") {
    return { refused: "kustomize was not run: KUSTOMIZE_NETWORK_ISOLATION=required, and this machine gives it no network namespace of its own (`unshare -Un` fails: unprivileged user namespaces are off)" };
  }
  return { prefix: [] };
}

export function networkIsolationSetting(env: NodeJS.ProcessEnv = process.env): NetworkIsolationSetting {
  const value = env.KUSTOMIZE_NETWORK_ISOLATION?.trim().toLowerCase() || "auto";
  if (value === "auto" || value === "required" || value === "off") return value;
  // A misspelt setting must not turn isolation off.
  return "required";
}

/** Whether `unshare -Un` runs here. */
export function canUnshare(): boolean {
  return runsHere("unshare", "-Un", "true");
}

/** What the App logs at start when kustomize is not isolated (and that was not asked for). */
export function networkIsolationWarning(isolation: NetworkIsolation, setting: NetworkIsolationSetting): string | undefined {
  if ("refused" in isolation) return `every build will fail: ${isolation.refused}`;
  if (isolation.prefix.length > 0 || setting === "off") return undefined;
  return "kustomize runs with this machine's network: unprivileged user namespaces are off (`unshare -Un` fails), so only vetting keeps builds from remote references. Allow them, or set KUSTOMIZE_NETWORK_ISOLATION=required to fail builds instead.";
}

let isolation: NetworkIsolation | undefined;
/** This process's isolation of kustomize, from KUSTOMIZE_NETWORK_ISOLATION and the machine. */
export function kustomizeNetworkIsolation(): NetworkIsolation {
  isolation ??= networkIsolationOf(networkIsolationSetting(), canUnshare);
  return isolation;
}

type Delegate = (folder: string, limits: EngineLimits) => Promise<EngineResult>;
let delegate: Delegate | undefined;

/**
 * Hands every kustomize run to `run`. An evaluation in a worker thread has the main thread run kustomize: a
 * terminated worker can neither stop the processes it started nor collect them once they exit.
 */
export function delegateKustomize(run: Delegate | undefined): void {
  delegate = run;
}

/** Runs the engine on `folder` (an absolute path inside a sandbox copy); `signal` stops it. */
export async function runKustomize(engine: KustomizeEngine, folder: string, limits: EngineLimits = defaultEngineLimits, signal?: AbortSignal): Promise<EngineResult> {
  if (delegate) return delegate(folder, limits);
  if (signal?.aborted || !(await turn(signal))) return { ok: false, error: STOPPED };
  try {
    return await runNow(engine, folder, limits, signal);
  } finally {
    endTurn();
  }
}

function runNow(engine: KustomizeEngine, folder: string, limits: EngineLimits, signal?: AbortSignal): Promise<EngineResult> {
  if (signal?.aborted) return Promise.resolve({ ok: false, error: STOPPED });
  const isolated = kustomizeNetworkIsolation();
  if ("refused" in isolated) return Promise.resolve({ ok: false, error: isolated.refused });
  const memoryMb = memoryMbOf(limits);
  const memoryCap = canLimitMemory() ? ["prlimit", `--data=${Math.round(memoryMb * 1024 * 1024)}`, "--"] : [];
  const [command, ...args] = [...isolated.prefix, ...memoryCap, engine.command, ...engine.args(folder)];
  const home = mkdtempSync(join(tmpdir(), "fleet-warden-home-"));
  return new Promise<EngineResult>((resolve) => {
    // Its own process group, so that a stop also ends anything it started.
    const child = spawn(command!, args, { cwd: folder, env: sandboxEnv(home), stdio: ["ignore", "pipe", "pipe"], detached: true });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let size = 0;
    let stopped: { error: string; limit?: true } | undefined;
    const stop = (error: string, limit?: true) => {
      stopped ??= { error, ...(limit ? { limit } : {}) };
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    };
    const timer = setTimeout(() => stop(`kustomize did not finish within ${limits.timeoutMs / 1000} s and was stopped`, true), limits.timeoutMs);
    const onAbort = () => stop(STOPPED);
    signal?.addEventListener("abort", onAbort, { once: true });
    child.stdout.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limits.maxOutputBytes) stop(`kustomize output exceeded ${formatBytes(limits.maxOutputBytes)} and was stopped`, true);
      else stdout.push(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      if (stderr.reduce((n, b) => n + b.length, 0) < 64 * 1024) stderr.push(chunk);
    });
    const finish = (result: EngineResult) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      rmSync(home, { recursive: true, force: true });
      resolve(result);
    };
    child.on("error", (error) => finish({ ok: false, error: `cannot run ${engine.description}: ${error.message}` }));
    child.on("close", (code) => {
      if (stopped) return finish({ ok: false, ...stopped });
      if (code === 0) return finish({ ok: true, output: Buffer.concat(stdout).toString("utf8") });
      const error = Buffer.concat(stderr).toString("utf8");
      // Go's runtime when the cap stops its heap from growing.
      if (memoryCap.length > 0 && /^fatal error: (?:runtime: )?(?:out of memory|cannot allocate memory)/m.test(error)) {
        return finish({ ok: false, error: `kustomize needed more than ${memoryMb} MiB of memory and was stopped`, limit: true });
      }
      finish({ ok: false, error: cleanError(error) || `${engine.description} exited with code ${code}` });
    });
  });
}

/** kubectl wraps kustomize's error in a klog line: keep the error itself. */
export function cleanError(stderr: string): string {
  const text = stderr.trim();
  const klog = /"command failed" err=(?:"((?:[^"\\]|\\.)*)"|<\s*([\s\S]*?)\s*>)\s*$/m.exec(text);
  if (klog) return (klog[1] !== undefined ? klog[1].replace(/\\(.)/g, "$1") : klog[2]!.replace(/^\t/gm, "")).trim();
  return text.replace(/^Error:\s*/m, "").trim();
}
