// `npm run bench`: a synthetic fleet in a real git repository, four pull request shapes, and per shape the
// evaluation time, the GitHub calls the App makes (against a local stand-in), the kustomize builds, peak memory
// and the ratio to bare kustomize on the same roots. Flags: --clusters N --tenants N --runs N --second-tenants N.
import { execFileSync, spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, freemem, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout } from "node:timers/promises";
import { Probot } from "probot";
import { createApp, type EvaluationJob } from "../src/app/index.js";
import type { Scheduler } from "../src/app/scheduler.js";
import { findKustomize, type KustomizeEngine } from "../src/core/build/engine.js";
import { evaluate } from "../src/core/evaluate.js";
import type { Verdict } from "../src/core/types.js";
import { localFacts } from "../src/local.js";
import { SnapshotCache } from "../src/snapshot.js";
import { generateFleet, NO_OP_SHAPE, pullRequestShapes, REPOSITORY, type FleetSize, type PullRequestShape, type Tree } from "./fleet.js";
import { GitHubStandIn } from "./github-stand-in.js";

interface Options extends FleetSize {
  runs: number;
  secondTenants: number;
}

export function parseOptions(argv: string[]): Options {
  const options: Options = { clusters: 3, tenants: 80, runs: 3, secondTenants: 20 };
  const keys: Record<string, keyof Options> = { "--clusters": "clusters", "--tenants": "tenants", "--runs": "runs", "--second-tenants": "secondTenants" };
  for (let i = 0; i < argv.length; i += 2) {
    const key = keys[argv[i]!];
    const value = Number(argv[i + 1]);
    if (!key || !Number.isInteger(value) || value < (key === "secondTenants" ? 0 : 1)) throw new Error(`usage: bench [--clusters N] [--tenants N] [--runs N] [--second-tenants N] (got ${argv.slice(i, i + 2).join(" ")})`);
    options[key] = value;
  }
  return options;
}

const WRITE_PACING_MS = 1_100;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;

/** A git repository whose `main` holds the fleet and one branch per shape holds its change. */
export function createFleetRepository(size: FleetSize, shapes: PullRequestShape[]): { dir: string; sha(ref: string): string; files: number } {
  const dir = mkdtempSync(join(tmpdir(), "fleet-warden-bench-"));
  const env = { ...process.env, GIT_AUTHOR_DATE: "2026-01-01T00:00:00Z", GIT_COMMITTER_DATE: "2026-01-01T00:00:00Z" };
  const git = (...args: string[]) => execFileSync("git", ["-C", dir, ...args], { encoding: "utf8", env, maxBuffer: 1 << 28 }).trim();
  git("init", "--quiet", "--initial-branch=main");
  git("config", "user.email", "bench@fleet-warden.invalid");
  git("config", "user.name", "bench");
  git("config", "commit.gpgsign", "false");
  git("remote", "add", "origin", `git@github.com:${REPOSITORY.owner}/${REPOSITORY.name}.git`);
  const fleet = generateFleet(size);
  writeTree(dir, fleet);
  git("add", "--all");
  git("commit", "--quiet", "-m", "fleet");
  for (const shape of shapes) {
    git("checkout", "--quiet", "-b", shape.branch, "main");
    writeTree(dir, shape.head);
    git("add", "--all");
    git("commit", "--quiet", "-m", shape.id);
  }
  git("checkout", "--quiet", "main");
  return { dir, sha: (ref) => git("rev-parse", ref), files: Object.keys(fleet).length };
}

function writeTree(root: string, tree: Tree): void {
  for (const [path, text] of Object.entries(tree)) {
    const target = join(root, path);
    if (text === null) rmSync(target, { force: true });
    else {
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, text);
    }
  }
}

/** Peak resident memory while `work` runs, sampled (maxRSS of the process only ever grows). */
async function withPeakMemory<T>(work: () => Promise<T>): Promise<{ result: T; peakRss: number }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);
  try {
    const result = await work();
    return { result, peakRss: Math.max(peak, process.memoryUsage.rss()) };
  } finally {
    clearInterval(timer);
  }
}

export async function evaluateLocally(repo: string, shape: PullRequestShape): Promise<{ verdict: Verdict; ms: number }> {
  const started = performance.now();
  const { facts, dispose } = await localFacts({ repo, base: "main", head: shape.branch, author: shape.author });
  try {
    const verdict = await evaluate(facts);
    return { verdict, ms: performance.now() - started };
  } finally {
    await dispose();
  }
}

function runEngine(engine: KustomizeEngine, folder: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(engine.command, engine.args(folder), { cwd: folder, stdio: ["ignore", "ignore", "ignore"] });
    child.on("close", (code) => resolve(code === 0));
    child.on("error", () => resolve(false));
  });
}

/** Bare kustomize on the roots the evaluation built, base and head, as many at once as there are cores. */
async function bareKustomize(engine: KustomizeEngine, checkouts: { base: string; head: string }, roots: string[]): Promise<number> {
  const folders = roots.flatMap((root) => [join(checkouts.base, root), join(checkouts.head, root)]);
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < folders.length) await runEngine(engine, folders[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(availableParallelism(), folders.length) }, worker));
  return performance.now() - started;
}

function checkout(repo: string, ref: string): string {
  const dir = mkdtempSync(join(tmpdir(), "fleet-warden-bench-checkout-"));
  execFileSync("sh", ["-c", `git -C "${repo}" archive "${ref}" | tar -x -C "${dir}"`]);
  return dir;
}

export interface AppHarness {
  standIn: GitHubStandIn;
  /**
   * Delivers a synchronize event for `shape` and waits for the evaluation; returns its duration and calls.
   * Cold unless `snapshotsCached`: the App's snapshot cache is emptied first.
   */
  evaluate(shape: PullRequestShape, number: number, snapshotsCached?: boolean): Promise<{ ms: number; calls: number; writes: number; conclusion: unknown }>;
  stop(): Promise<void>;
}

const privateKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString();

/** The App as production runs it (Probot's Octokit with its retry and throttling plugins), against the stand-in. */
export async function appHarness(repo: { dir: string; sha(ref: string): string }): Promise<AppHarness> {
  const standIn = new GitHubStandIn(repo.dir, REPOSITORY.owner, REPOSITORY.name);
  await standIn.start();
  process.env.APP_ID = "1";
  const probot = new Probot({ appId: 1, privateKey, baseUrl: standIn.baseUrl, logLevel: "fatal" });
  let scheduler: Scheduler<EvaluationJob> | undefined;
  const snapshots = new SnapshotCache();
  await probot.load(createApp({ onScheduler: (created) => (scheduler = created), snapshots }));
  let delivery = 0;
  return {
    standIn,
    async evaluate(shape, number, snapshotsCached = false) {
      if (!snapshotsCached) snapshots.clear();
      const pull = { number, baseSha: repo.sha("main"), headSha: repo.sha(shape.branch), headBranch: shape.branch, author: shape.author };
      await standIn.open(pull);
      const repository = { id: 1001, name: REPOSITORY.name, full_name: `${REPOSITORY.owner}/${REPOSITORY.name}`, owner: { login: REPOSITORY.owner } };
      const payload = {
        action: "synchronize",
        number,
        pull_request: { number, state: "open", head: { sha: pull.headSha, ref: shape.branch, repo: repository }, base: { sha: pull.baseSha, ref: "main", repo: repository }, user: { login: shape.author } },
        repository,
        installation: { id: 42 },
      };
      const started = performance.now();
      await probot.receive({ id: `bench-${++delivery}`, name: "pull_request", payload } as unknown as Parameters<Probot["receive"]>[0]);
      await scheduler!.idle();
      const ms = performance.now() - started;
      return { ms, calls: standIn.calls().length, writes: standIn.writes(), conclusion: standIn.conclusion() };
    },
    stop: () => standIn.stop(),
  };
}

interface Row {
  shape: PullRequestShape;
  changedFiles: number;
  builds: number;
  kustomizeRuns: number;
  evaluationMs: number;
  bareMs: number;
  appMs: number;
  appCachedMs: number;
  calls: number;
  writes: number;
  peakRss: number;
  conclusion: string;
}

async function measure(options: Options): Promise<void> {
  const engine = findKustomize();
  if (!engine) throw new Error("the benchmark needs kustomize or kubectl on PATH (or KUSTOMIZE_BIN)");
  const shapes = pullRequestShapes(options);
  const startedAll = performance.now();
  const repo = createFleetRepository(options, shapes);
  const app = await appHarness(repo);
  const rows: Row[] = [];
  const cleanup: string[] = [repo.dir];
  try {
    const base = checkout(repo.dir, "main");
    cleanup.push(base);
    for (const [index, shape] of shapes.entries()) {
      const head = checkout(repo.dir, shape.branch);
      cleanup.push(head);
      const { result, peakRss } = await withPeakMemory(async () => {
        const evaluations = [];
        const bare = [];
        const appRuns = [];
        const appCachedRuns = [];
        for (let run = 0; run < options.runs; run++) {
          evaluations.push(await evaluateLocally(repo.dir, shape));
          const roots = [...new Set(evaluations[0]!.verdict.builds.filter((build) => build.ok).map((build) => build.path))];
          bare.push(await bareKustomize(engine, { base, head }, roots));
          // Probot paces writes one second apart: the last evaluation's writes age out of that window first.
          await setTimeout(WRITE_PACING_MS);
          appRuns.push(await app.evaluate(shape, 100 + index));
          await setTimeout(WRITE_PACING_MS);
          appCachedRuns.push(await app.evaluate(shape, 100 + index, true));
        }
        return { evaluations, bare, appRuns, appCachedRuns };
      });
      const verdict = result.evaluations[0]!.verdict;
      rows.push({
        shape,
        changedFiles: verdict.stats.changedFiles,
        builds: verdict.stats.builds,
        kustomizeRuns: verdict.stats.kustomizeRuns,
        evaluationMs: median(result.evaluations.map((evaluation) => evaluation.ms)),
        bareMs: median(result.bare),
        appMs: median(result.appRuns.map((appRun) => appRun.ms)),
        appCachedMs: median(result.appCachedRuns.map((appRun) => appRun.ms)),
        calls: median(result.appRuns.map((appRun) => appRun.calls)),
        writes: median(result.appRuns.map((appRun) => appRun.writes)),
        peakRss,
        conclusion: `${verdict.conclusion}${result.appRuns[0]!.conclusion === verdict.conclusion ? "" : ` (App: ${String(result.appRuns[0]!.conclusion)})`}`,
      });
      process.stderr.write(`  ${shape.id}: done\n`);
    }
  } finally {
    await app.stop();
  }

  const second = options.secondTenants > 0 ? await githubCallsAt({ clusters: options.clusters, tenants: options.secondTenants }, shapes.length) : undefined;
  for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
  print(options, repo.files, rows, engine, second, performance.now() - startedAll);
}

/** GitHub calls per shape on a fleet of another size: they must not depend on it. */
async function githubCallsAt(size: FleetSize, count: number): Promise<{ files: number; calls: number[] }> {
  const shapes = pullRequestShapes(size).slice(0, count);
  const repo = createFleetRepository(size, shapes);
  const app = await appHarness(repo);
  try {
    const calls = [];
    for (const [index, shape] of shapes.entries()) calls.push((await app.evaluate(shape, 200 + index)).calls);
    return { files: repo.files, calls };
  } finally {
    await app.stop();
    rmSync(repo.dir, { recursive: true, force: true });
  }
}

function print(options: Options, files: number, rows: Row[], engine: KustomizeEngine, second: { files: number; calls: number[] } | undefined, totalMs: number): void {
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const noOp = rows.find((row) => row.shape.id === NO_OP_SHAPE);
  const ratio = (ms: number, row: Row) => (row.builds > 0 && row.bareMs > 0 ? (ms / row.bareMs).toFixed(2) : "n/a");
  const mib = (bytes: number) => `${Math.round(bytes / (1024 * 1024))} MiB`;
  const lines = [
    `fleet-warden benchmark: ${options.clusters} clusters × ${options.tenants} tenants, ${files} files; median of ${options.runs} run(s); engine: ${engine.description}`,
    `machine: ${availableParallelism()} cores (${cpus()[0]?.model.trim() ?? "unknown"}), ${mib(totalmem())} memory (${mib(freemem())} free), node ${process.version}, temporary files in ${tmpdir()} (snapshots and build sandboxes: a tmpfs is much faster than a disk here, e.g. TMPDIR=/dev/shm)`,
    "",
    `| pull request | changed files | kustomize builds (base+head) | kustomize runs | evaluation | bare kustomize, same roots | ratio | ratio above no-op | App end to end | App, snapshots cached | GitHub calls (writes) | ${second ? `GitHub calls at ${options.secondTenants} tenants (${second.files} files) | ` : ""}peak RSS | verdict |`,
    `|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|${second ? "---:|" : ""}---:|---|`,
    ...rows.map((row, i) =>
      [
        `| ${row.shape.id}: ${row.shape.description}`,
        row.changedFiles,
        row.builds,
        row.kustomizeRuns,
        s(row.evaluationMs),
        s(row.bareMs),
        ratio(row.evaluationMs, row),
        noOp ? ratio(row.evaluationMs - noOp.evaluationMs, row) : "n/a",
        s(row.appMs),
        s(row.appCachedMs),
        `${row.calls} (${row.writes})`,
        ...(second ? [second.calls[i] ?? "n/a"] : []),
        mib(row.peakRss),
        `${row.conclusion} |`,
      ].join(" | "),
    ),
    "",
    "kustomize runs: the builds, less those both sides share, plus parents built to find the Kustomizations they deploy.",
    "evaluation: `fleet-warden check` on the local repository (snapshots by git archive, facts, builds, rules). Ratio above no-op: the evaluation time less the no-op change's (what judging any change costs before building), over bare kustomize.",
    "App end to end: webhook to completed check run and review, through Probot's Octokit (retry and throttling plugins on: GitHub's write pacing of one write per second is included) against a local GitHub stand-in; tarballs are prepared before the clock starts. Snapshots cached: the same evaluation again with the App's snapshot cache warm (what every later push pays for its base).",
    "GitHub calls: every request of one evaluation but the installation token (fetched once an hour); writes are check-run, review and merge calls. The image update also runs the auto-merge gate (statuses, check runs, merge).",
    `total benchmark time ${s(totalMs)}`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  measure(parseOptions(process.argv.slice(2))).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
