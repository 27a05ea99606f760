// The kustomize engine behind one interface: the standalone binary when present, else `kubectl kustomize`,
// always run in a sandbox (scrubbed environment, empty HOME, proxies pointing nowhere, git protocols off,
// walled off from the network and the host's files where the machine allows it, a time, output and memory limit).
import { spawn, spawnSync } from "node:child_process";
import { accessSync, constants, mkdirSync, mkdtempSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { basename, delimiter, join, resolve } from "node:path";
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

function engineFor(found: string): KustomizeEngine {
  // Absolute: the wall mounts it from another folder than the one it was found from.
  const binary = resolve(found);
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
 * `KUSTOMIZE_ISOLATION`: `auto` (the default) walls kustomize off as far as the machine allows, `required` fails every
 * build that cannot be walled off completely, `network` every build that cannot at least run without a network (what
 * the former `KUSTOMIZE_NETWORK_ISOLATION=required` asked for), `off` never isolates.
 */
export type IsolationSetting = "auto" | "required" | "network" | "off";

/**
 * How kustomize is started. `wall`: in namespaces of its own (user, mount, network, IPC, PID), as an unprivileged user in
 * a root that holds only the build's sandbox and the binary, all read-only. `network`: without a network only
 * (`unshare -Un`). `none`: as it is. Short of the wall, `why` it is not walled off. Or not at all, and why.
 */
export type Isolation = { level: "wall" } | { level: "network" | "none"; why: string } | { refused: string };

/**
 * Vetting refuses every remote reference and every path out of the build before kustomize runs; the wall is what
 * stands behind it. Without a network, a reference that vetting missed reaches nothing, not even the host's loopback
 * (Go's proxy settings never cover it); without the host's filesystem, a path that vetting misread finds no
 * private key, no `/etc`, no `/proc`.
 * `wallFailure` says why the wall cannot stand here (undefined when it can): the probe runs the engine in one.
 */
export function isolationOf(setting: IsolationSetting, unshareFailure: () => string | undefined, wallFailure: () => string | undefined): Isolation {
  if (setting === "off") return { level: "none", why: "KUSTOMIZE_ISOLATION=off" };
  const noUnshare = unshareFailure();
  const failure = noUnshare ?? wallFailure();
  if (failure === undefined) return { level: "wall" };
  if (setting === "required") return { refused: `kustomize was not run: KUSTOMIZE_ISOLATION=required, and it cannot be walled off here (${failure})` };
  if (noUnshare === undefined) return { level: "network", why: failure };
  if (setting === "network") return { refused: `kustomize was not run: KUSTOMIZE_ISOLATION=network (or the former KUSTOMIZE_NETWORK_ISOLATION=required), and ${noUnshare}` };
  return { level: "none", why: failure };
}

export function isolationSetting(env: NodeJS.ProcessEnv = process.env): IsolationSetting {
  const current = env.KUSTOMIZE_ISOLATION?.trim().toLowerCase();
  const former = env.KUSTOMIZE_NETWORK_ISOLATION?.trim().toLowerCase();
  // The former name only ever required the network wall: its `required`, and any value it did not know, mean that.
  const value = current || (former && former !== "auto" && former !== "off" ? "network" : former) || "auto";
  if (value === "auto" || value === "required" || value === "network" || value === "off") return value;
  // A misspelt setting must not turn isolation off.
  return "required";
}

/** Whether `unshare -Un` runs here. */
export function canUnshare(): boolean {
  return runsHere("unshare", "-Un", "true");
}

/** Why `unshare -Un` does not run here; undefined when it does. */
export function unshareFailure(): string | undefined {
  if (canUnshare()) return undefined;
  return runsHere("unshare", "--version") ? "`unshare -Un` fails: unprivileged user namespaces are off" : "`unshare` (util-linux) is not installed";
}

/** What the App logs at start when kustomize is not walled off (and that was not asked for). */
export function isolationWarning(isolation: Isolation, setting: IsolationSetting): string | undefined {
  if ("refused" in isolation) return `every build will fail: ${isolation.refused}`;
  if (isolation.level === "wall" || setting === "off") return undefined;
  const reach = isolation.level === "network" ? "without a network but with this machine's files" : "with this machine's network and files";
  return `kustomize runs ${reach}, so only vetting keeps builds from them (${isolation.why}). The wall needs unprivileged user namespaces, util-linux (unshare, mount, setpriv), bash and a statically linked kustomize (the release binaries are); or set KUSTOMIZE_ISOLATION=required to fail builds instead (off: to accept it and hear no more of it).`;
}

/**
 * In the user and mount namespaces of `unshare -Umrn`, as their root: closes every file the App inherited (Node marks
 * only the first few close-on-exec, and an open folder would lead out of any root), makes the new root ($2) a
 * read-only mount of its own, mounts the sandbox ($1) read-only at its own path in it and the binary ($3) beside the
 * sandbox, then runs the binary in a user namespace nested in those, as a user without capabilities (so it can
 * neither mount nor chroot its way out), with IPC of its own, and as PID 1 of a namespace of its own (so whatever it
 * starts ends with it), chrooted in the new root.
 * A bind mount keeps the nosuid, nodev and noexec of its source, which a user namespace may not drop: a TMPDIR on a
 * tmpfs has them, so they are asked for (noexec but for the binary). A `mount` that ignores `ro` on a bind (busybox's)
 * fails the script, and so the probe, rather than leave the sandbox writable.
 */
const WALL_SCRIPT = [
  "set -e",
  'for fd in /proc/$$/fd/*; do fd=${fd##*/}; if [ "$fd" -gt 2 ]; then eval "exec $fd>&-"; fi; done',
  'root=$2 binary=$1.kustomize',
  'mount --bind -o ro,nosuid,nodev,noexec "$root" "$root"',
  'mount --bind -o ro,nosuid,nodev,noexec "$1" "$root$1"',
  'mount --bind -o ro,nosuid,nodev "$3" "$root$binary"',
  'for path in "$root" "$root$1" "$root$binary"; do if [ -w "$path" ]; then echo "mount left $path writable" >&2; exit 1; fi; done',
  "shift 3",
  'exec unshare --user --map-user=65534 --map-group=65534 --ipc --pid --kill-child --root="$root" --wd=/ "$binary" "$@"',
].join("; ");
const WALL_HOME = "/";

/** The command that runs `engine` on `build` inside the wall, whose root is the empty folder `root`. */
function wallCommand(engine: KustomizeEngine, build: KustomizeBuild, root: string): string[] {
  // The mount points: nothing else is made in the root, so nothing can collide with the sandbox's path.
  mkdirSync(join(root, build.sandbox), { recursive: true });
  writeFileSync(join(root, `${build.sandbox}.kustomize`), "");
  // Killed with the App, should it die first: nothing else would stop it.
  const withTheApp = ["setpriv", "--pdeathsig", "KILL", "--"];
  return [...withTheApp, "unshare", "-Umrn", "--", "bash", "-c", WALL_SCRIPT, "fleet-warden-wall", build.sandbox, root, engine.command, ...engine.args(build.folder)];
}

/** Why `engine` cannot build in the wall here (a dynamically linked binary, no mount namespace); undefined when it can. */
function wallFailure(engine: KustomizeEngine): string | undefined {
  const made: string[] = [];
  try {
    const sandbox = scratchFolder("fleet-warden-probe-");
    made.push(sandbox);
    const root = scratchFolder("fleet-warden-root-");
    made.push(root);
    writeFileSync(join(sandbox, "kustomization.yaml"), "resources: []\n");
    const [command, ...args] = wallCommand(engine, { sandbox, folder: sandbox }, root);
    // SIGKILL: the forking `unshare` in the wall outlives a SIGTERM.
    const probe = spawnSync(command!, args, { env: sandboxEnv(WALL_HOME), encoding: "utf8", timeout: 10_000, killSignal: "SIGKILL" });
    if (probe.status === 0) return undefined;
    // One line, without the probe's own paths: under `required` it is every build's error, in every check run.
    const why = (cleanError(probe.stderr ?? "") || probe.error?.message || `exit code ${probe.status}`).split("\n")[0]!.split(`${sandbox}.kustomize`).join("the binary").split(root).join("the root");
    return `${engine.description} (${basename(engine.command)}) cannot run in a root of its own: ${why}`;
  } catch (error) {
    return `the wall could not be set up: ${(error as Error).message}`;
  } finally {
    for (const folder of made) rmSync(folder, { recursive: true, force: true });
  }
}

const isolations = new Map<string, Isolation>();
/**
 * This process's isolation of `engine`, from KUSTOMIZE_ISOLATION and the machine: probed once per binary, and again
 * once the file at its path changed (an upgrade may bring a dynamically linked one).
 */
export function kustomizeIsolation(engine: KustomizeEngine): Isolation {
  const key = [engine.command, ...identityOf(engine.command)].join("\0");
  if (!isolations.has(key)) isolations.set(key, isolationOf(isolationSetting(), unshareFailure, () => wallFailure(engine)));
  return isolations.get(key)!;
}

function identityOf(path: string): string[] {
  try {
    const stat = statSync(path);
    return [String(stat.dev), String(stat.ino), String(stat.mtimeMs), String(stat.size)];
  } catch {
    return [];
  }
}

/** What the operator should hear of this machine's isolation of kustomize, if anything (nothing without one). */
export function kustomizeIsolationWarning(engine = findKustomize()): string | undefined {
  return engine && isolationWarning(kustomizeIsolation(engine), isolationSetting());
}

/**
 * A new empty folder in TMPDIR, by its resolved absolute path: the wall mounts by absolute path (a relative TMPDIR
 * left it no root), and kustomize names the paths it reads resolved (a TMPDIR reached through a link, as macOS's
 * `/tmp` is, would leave host paths in its errors).
 */
export function scratchFolder(prefix: string): string {
  return realpathSync(mkdtempSync(join(tmpdir(), prefix)));
}

/** A build: its sandbox (a folder holding only what kustomize may read) and the folder in it to build. */
export interface KustomizeBuild {
  sandbox: string;
  folder: string;
}

type Delegate = (build: KustomizeBuild, limits: EngineLimits) => Promise<EngineResult>;
let delegate: Delegate | undefined;

/**
 * Hands every kustomize run to `run`. An evaluation in a worker thread has the main thread run kustomize: a
 * terminated worker can neither stop the processes it started nor collect them once they exit.
 */
export function delegateKustomize(run: Delegate | undefined): void {
  delegate = run;
}

/** Runs the engine on `build` (absolute paths, the folder inside the sandbox); `signal` stops it. */
export async function runKustomize(engine: KustomizeEngine, build: KustomizeBuild, limits: EngineLimits = defaultEngineLimits, signal?: AbortSignal): Promise<EngineResult> {
  if (delegate) return delegate(build, limits);
  if (signal?.aborted || !(await turn(signal))) return { ok: false, error: STOPPED };
  try {
    return await runNow(engine, build, limits, signal);
  } finally {
    endTurn();
  }
}

function runNow(engine: KustomizeEngine, build: KustomizeBuild, limits: EngineLimits, signal?: AbortSignal): Promise<EngineResult> {
  if (signal?.aborted) return Promise.resolve({ ok: false, error: STOPPED });
  const isolation = kustomizeIsolation(engine);
  if ("refused" in isolation) return Promise.resolve({ ok: false, error: isolation.refused });
  const memoryMb = memoryMbOf(limits);
  const memoryCap = canLimitMemory() ? ["prlimit", `--data=${Math.round(memoryMb * 1024 * 1024)}`, "--"] : [];
  // The wall's root on the host, or the run's empty HOME.
  const scratch = scratchFolder("fleet-warden-home-");
  let run: string[];
  try {
    run =
      isolation.level === "wall"
        ? wallCommand(engine, build, scratch)
        : [...(isolation.level === "network" ? ["unshare", "-Un", "--"] : []), engine.command, ...engine.args(build.folder)];
  } catch (error) {
    rmSync(scratch, { recursive: true, force: true });
    throw error;
  }
  const [command, ...args] = [...memoryCap, ...run];
  const env = sandboxEnv(isolation.level === "wall" ? WALL_HOME : scratch);
  return new Promise<EngineResult>((resolve) => {
    // Its own process group, so that a stop also ends anything it started.
    const child = spawn(command!, args, { cwd: build.folder, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
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
      rmSync(scratch, { recursive: true, force: true });
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
