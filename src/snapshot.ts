// A repository snapshot: a tar stream (GitHub's gzipped tarball, or `git archive`) read into memory, regular files
// only, never a link, never a path outside the root, within size and count caps. Past a memory budget, further
// files go to a temporary folder and are read back when asked: a very large repository does not fill memory.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, posix } from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { extract as tarExtract } from "tar-stream";
import { folderFiles, isSkippedPath, packFiles, type PortableTree, type TreeFiles } from "./core/files.js";
import type { PullRequestFacts, SpecialFile } from "./core/types.js";
import { formatBytes } from "./core/yaml.js";

export interface SnapshotLimits {
  maxFiles: number;
  maxTotalBytes: number;
  maxFileBytes: number;
  /**
   * Bytes of files held in memory; files past it are written to a temporary folder. An evaluation holds two
   * snapshots and the App runs EVALUATION_CONCURRENCY evaluations at once (two on two cores), so snapshots
   * hold at most 4 × 64 MiB there, however large the repositories; most fleets fit whole.
   */
  memoryBytes: number;
}

export const defaultSnapshotLimits: SnapshotLimits = {
  maxFiles: 50_000,
  maxTotalBytes: 512 * 1024 * 1024,
  maxFileBytes: 64 * 1024 * 1024,
  memoryBytes: 64 * 1024 * 1024,
};

export interface Snapshot {
  files: TreeFiles;
  /** The temporary folder of the files past the memory budget, when there were any. */
  spillDir?: string;
  fileCount: number;
  bytes: number;
  /** Links and special files that were not extracted. */
  special: SpecialFile[];
  /** Limits that were hit: what was skipped, in words. */
  problems: string[];
  dispose(): Promise<void>;
}

export interface ExtractOptions {
  /** Leading path components to drop (GitHub wraps the tree in one folder). */
  strip: number;
  gzip: boolean;
  label: string;
  limits?: SnapshotLimits;
  /** A stream that sends nothing for this long is abandoned (a download that stalled): the extraction fails. */
  idleTimeoutMs?: number;
  /** Stops the extraction (and with it the stream): nobody waits for the snapshot any more. */
  signal?: AbortSignal;
}

export async function extractSnapshot(stream: Readable, options: ExtractOptions): Promise<Snapshot> {
  const limits = options.limits ?? defaultSnapshotLimits;
  const files = new SnapshotFiles(limits.memoryBytes);
  const snapshot: Snapshot = { files, fileCount: 0, bytes: 0, special: [], problems: [], dispose: () => files.dispose() };
  const skippedLarge: string[] = [];
  let overCount = false;
  let overTotal = false;

  const extract = tarExtract();
  extract.on("entry", (header, body, next) => {
    const skip = () => {
      body.on("end", () => next());
      body.resume();
    };
    const relative = stripComponents(header.name, options.strip);
    if (relative === undefined || header.type === "directory") return skip();
    if (header.type === "symlink" || header.type === "link") {
      snapshot.special.push({ path: relative, kind: header.type === "link" ? "hardlink" : "symlink", ...(header.linkname ? { target: header.linkname } : {}) });
      return skip();
    }
    if (header.type !== "file" && header.type !== "contiguous-file") {
      snapshot.special.push({ path: relative, kind: "other" });
      return skip();
    }
    const size = header.size ?? 0;
    if (size > limits.maxFileBytes) {
      skippedLarge.push(`${relative} (${formatBytes(size)})`);
      return skip();
    }
    if (snapshot.fileCount + 1 > limits.maxFiles) {
      overCount = true;
      return skip();
    }
    if (snapshot.bytes + size > limits.maxTotalBytes) {
      overTotal = true;
      return skip();
    }
    snapshot.fileCount++;
    snapshot.bytes += size;
    // The entry is read into memory (it is under the per-file cap), then kept there or, past the memory budget,
    // written while the archive goes on: writing one file at a time made extraction several times slower than `tar -x`.
    const chunks: Buffer[] = [];
    body.on("data", (chunk: unknown) => chunks.push(chunk as Buffer));
    body.on("error", next);
    body.on("end", () => {
      const data = Buffer.concat(chunks);
      let spilled: Promise<void> | undefined;
      try {
        spilled = files.add(relative, data);
      } catch (error) {
        return next(error as Error);
      }
      if (spilled) writes.track(spilled, data.length).then(() => next(), next);
      else next();
    });
  });

  const writes = new BoundedWrites();
  // The stream is consumed before the first await: a child process's stdout that nobody reads when the
  // process exits is drained and lost (Node's flushStdio), which made a fast `git archive` extract to nothing.
  const stages = [...(options.idleTimeoutMs !== undefined ? [idleWatch(options.idleTimeoutMs)] : []), ...(options.gzip ? [createGunzip()] : [])];
  const extracted = pipeline([stream, ...stages, extract], options.signal ? { signal: options.signal } : {});
  try {
    await extracted;
    await writes.drain();
  } catch (error) {
    // Writes still in flight would recreate files in the folder being removed.
    await writes.drain().catch(() => undefined);
    await snapshot.dispose();
    throw new Error(`${options.label}: cannot read the archive: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (files.spillDir !== undefined) snapshot.spillDir = files.spillDir;
  if (skippedLarge.length > 0) {
    snapshot.problems.push(`${options.label}: ${skippedLarge.length} file(s) over the ${formatBytes(limits.maxFileBytes)} per-file limit were not evaluated: ${skippedLarge.slice(0, 5).join(", ")}`);
  }
  if (overCount) snapshot.problems.push(`${options.label}: the repository has more than ${limits.maxFiles} files; files past the limit were not evaluated`);
  if (overTotal) snapshot.problems.push(`${options.label}: the repository is larger than ${formatBytes(limits.maxTotalBytes)}; files past the limit were not evaluated`);
  return snapshot;
}

/** Passes the bytes through, and fails when none came for `ms`. */
function idleWatch(ms: number): Transform {
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => watch.destroy(new Error(`no data for ${ms / 1000} s; the download was abandoned`)), ms);
  };
  const watch: Transform = new Transform({
    transform(chunk, _encoding, done) {
      arm();
      done(null, chunk);
    },
    flush(done) {
      clearTimeout(timer);
      done();
    },
    destroy(error, done) {
      clearTimeout(timer);
      done(error);
    },
  });
  arm();
  return watch;
}

/** A snapshot's files: in memory up to a budget, then in a temporary folder created when first needed. */
class SnapshotFiles implements TreeFiles {
  private readonly inMemory = new Map<string, Buffer>();
  /** Sizes of the files written to the spill folder. */
  private readonly spilled = new Map<string, number>();
  /** Every folder that holds a file: a path is a file or a folder, never both, as on disk. */
  private readonly folders = new Set<string>();
  private memoryUsed = 0;
  private listing?: string[];
  private spillReady?: Promise<string>;
  private packed?: Pick<PortableTree, "entries" | "bytes">;
  /** Each spill folder is created once, not once per file in it. */
  private readonly spillFolders = new Map<string, Promise<unknown>>();
  spillDir?: string;

  constructor(private readonly memoryBytes: number) {}

  /**
   * Keeps the file, in memory when it fits the budget; otherwise returns its write to the spill folder.
   * A path seen before, or a file where a folder is (or the reverse), throws EEXIST: never an overwrite.
   */
  add(path: string, data: Buffer): Promise<void> | undefined {
    if (this.packed) throw new Error(`${path}: the snapshot was already handed over; it takes no more files`);
    const parents = ancestors(path);
    if (this.inMemory.has(path) || this.spilled.has(path) || this.folders.has(path) || parents.some((parent) => this.inMemory.has(parent) || this.spilled.has(parent))) {
      throw Object.assign(new Error(`EEXIST: ${path} is more than once in the archive (as a file or a folder)`), { code: "EEXIST" });
    }
    for (const parent of parents) this.folders.add(parent);
    this.listing = undefined;
    if (this.memoryUsed + data.length <= this.memoryBytes) {
      this.inMemory.set(path, data);
      this.memoryUsed += data.length;
      return undefined;
    }
    this.spilled.set(path, data.length);
    this.spillReady ??= mkdtemp(join(tmpdir(), "fleet-warden-")).then((dir) => (this.spillDir = dir));
    return this.spillReady.then(async (dir) => {
      const target = join(dir, path);
      await this.spillFolder(dirname(target));
      // "wx": a path that already exists is an error, never an overwrite through something else.
      await writeFile(target, data, { flag: "wx", mode: 0o644 });
    });
  }

  paths(): readonly string[] {
    this.listing ??= [...this.inMemory.keys(), ...this.spilled.keys()].filter((path) => !isSkippedPath(path)).sort();
    return this.listing;
  }

  read(path: string): Buffer | undefined {
    const kept = this.inMemory.get(path);
    if (kept || !this.spilled.has(path) || this.spillDir === undefined) return kept;
    return folderFiles(this.spillDir).read(path);
  }

  size(path: string): number | undefined {
    return this.inMemory.get(path)?.length ?? this.spilled.get(path);
  }

  /**
   * Packs the files held in memory into one shared buffer, once, and keeps them there instead: an evaluation's
   * worker thread reads them in place, so a snapshot (a cached one too) is never held twice.
   */
  portable(): PortableTree {
    if (!this.packed) {
      this.packed = packFiles(this.inMemory);
      const view = Buffer.from(this.packed.bytes);
      for (const { path, offset, size } of this.packed.entries) this.inMemory.set(path, view.subarray(offset, offset + size));
    }
    const onDisk = [...this.spilled].map(([path, size]) => ({ path, offset: -1, size }));
    return { paths: [...this.paths()], entries: [...this.packed.entries, ...onDisk], bytes: this.packed.bytes, ...(this.spillDir !== undefined ? { folder: this.spillDir } : {}) };
  }

  async dispose(): Promise<void> {
    this.inMemory.clear();
    this.packed = undefined;
    this.spilled.clear();
    this.listing = undefined;
    const dir = await this.spillReady?.catch(() => undefined);
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }

  private spillFolder(path: string): Promise<unknown> {
    let created = this.spillFolders.get(path);
    if (!created) this.spillFolders.set(path, (created = mkdir(path, { recursive: true })));
    return created;
  }
}

/** "a/b/c" -> ["a", "a/b"]. */
function ancestors(path: string): string[] {
  const parts = path.split("/");
  return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join("/"));
}

/** Writes in flight, bounded in count and bytes; the first failure fails them all. */
class BoundedWrites {
  private readonly pending = new Set<Promise<void>>();
  private bytes = 0;
  private failure: unknown;

  /** Resolves when the next entry may be read: at once, or when enough writes have finished. */
  async track(write: Promise<void>, bytes: number): Promise<void> {
    this.bytes += bytes;
    const tracked: Promise<void> = write
      .catch((error: unknown) => {
        this.failure ??= error;
      })
      .finally(() => {
        this.pending.delete(tracked);
        this.bytes -= bytes;
      });
    this.pending.add(tracked);
    while (this.pending.size > 64 || this.bytes > 32 * 1024 * 1024) await Promise.race(this.pending);
    if (this.failure) throw this.failure;
  }

  async drain(): Promise<void> {
    await Promise.all(this.pending);
    if (this.failure) throw this.failure;
  }
}

/** The entry path with its first `strip` components removed; undefined when it would leave the root. */
function stripComponents(path: string, strip: number): string | undefined {
  const parts = path.split("/").filter((part) => part !== "" && part !== ".");
  if (parts.includes("..")) return undefined;
  const rest = parts.slice(strip).join("/");
  if (rest === "") return undefined;
  const normalized = posix.normalize(rest);
  if (normalized.startsWith("../") || normalized === ".." || posix.isAbsolute(normalized)) return undefined;
  return normalized;
}

/** A snapshot loading or loaded, and who waits for it. */
interface CacheEntry {
  snapshot: Promise<Snapshot>;
  /** Stops the load: aborted when every evaluation waiting for it has stopped waiting. */
  stop: AbortController;
  waiting: number;
  settled: boolean;
  /** The evaluation that started the load stopped waiting: a snapshot the cache does not keep is disposed. */
  starterGone: boolean;
  /** Bytes of a snapshot loaded and kept. */
  bytes?: number;
}

/**
 * Snapshots by repository and sha, shared by the evaluations of one process: every push to a pull request has
 * the same merge base, and a re-run reads the same head. Only snapshots held wholly in memory are kept (one that
 * spilled owns a folder on disk, which its evaluation removes); past the byte budget the least recently used go.
 * A load that fails, or that every evaluation waiting for it stopped waiting for (their `signal`), is stopped and
 * forgotten at once: the next evaluation loads again. A snapshot handed out by the cache is the cache's: its
 * `dispose` does nothing.
 */
export class SnapshotCache {
  private readonly entries = new Map<string, CacheEntry>();

  constructor(private readonly maxBytes = 256 * 1024 * 1024) {}

  /** `load` gets a signal that stops it; `signal` stops this caller's wait. */
  async get(key: string, load: (signal?: AbortSignal) => Promise<Snapshot>, signal?: AbortSignal): Promise<Snapshot> {
    signal?.throwIfAborted();
    const cached = this.entries.get(key);
    if (cached) {
      // Most recently used last, so that eviction takes the oldest.
      this.entries.delete(key);
      this.entries.set(key, cached);
      const snapshot = await this.wait(key, cached, signal, false).catch((error: unknown) => {
        if (signal?.aborted) throw error;
        return undefined;
      });
      // A failed or spilled load is not shared: this evaluation reads its own.
      return snapshot && cached.bytes !== undefined ? borrowed(snapshot) : load(signal);
    }
    const entry = this.start(key, load);
    const snapshot = await this.wait(key, entry, signal, true);
    // Not kept (spilled, too large, or the cache was cleared meanwhile): the snapshot is this evaluation's.
    return entry.bytes !== undefined ? borrowed(snapshot) : snapshot;
  }

  /** Bytes of the snapshots held. */
  bytes(): number {
    return [...this.entries.values()].reduce((sum, entry) => sum + (entry.bytes ?? 0), 0);
  }

  clear(): void {
    this.entries.clear();
  }

  private start(key: string, load: (signal?: AbortSignal) => Promise<Snapshot>): CacheEntry {
    const stop = new AbortController();
    const loaded = load(stop.signal).then(
      (snapshot) => {
        entry.settled = true;
        if (this.entries.get(key) === entry && snapshot.spillDir === undefined && snapshot.bytes <= this.maxBytes) {
          entry.bytes = snapshot.bytes;
          this.evict();
        } else {
          this.forget(key, entry);
          if (entry.starterGone) void snapshot.dispose();
        }
        return snapshot;
      },
      (error: unknown) => {
        entry.settled = true;
        this.forget(key, entry);
        throw error;
      },
    );
    const entry: CacheEntry = { snapshot: loaded, stop, waiting: 0, settled: false, starterGone: false };
    // Its waiters handle a failure; with none left, nobody is to hear of it.
    loaded.catch(() => undefined);
    this.entries.set(key, entry);
    return entry;
  }

  /**
   * The entry's snapshot, unless `signal` aborts first; the last waiter to stop waiting stops the load. `starter`:
   * this caller started the load (and owns a snapshot the cache does not keep).
   */
  private wait(key: string, entry: CacheEntry, signal: AbortSignal | undefined, starter: boolean): Promise<Snapshot> {
    if (entry.settled) return entry.snapshot;
    entry.waiting++;
    return new Promise<Snapshot>((resolve, reject) => {
      let waiting = true;
      const leave = () => {
        if (!waiting) return false;
        waiting = false;
        entry.waiting--;
        signal?.removeEventListener("abort", stopWaiting);
        return true;
      };
      const stopWaiting = () => {
        if (!leave()) return;
        reject(signal!.reason);
        if (starter) entry.starterGone = true;
        if (entry.waiting > 0 || entry.settled) return;
        this.forget(key, entry);
        entry.stop.abort();
      };
      signal?.addEventListener("abort", stopWaiting, { once: true });
      entry.snapshot.then(
        (snapshot) => leave() && resolve(snapshot),
        (error: unknown) => leave() && reject(error),
      );
    });
  }

  private forget(key: string, entry: CacheEntry): void {
    if (this.entries.get(key) === entry) this.entries.delete(key);
  }

  private evict(): void {
    for (const [key, entry] of this.entries) {
      if (this.bytes() <= this.maxBytes) return;
      // Loads in flight have no size yet and stay.
      if (entry.bytes === undefined) continue;
      this.entries.delete(key);
    }
  }
}

/** The snapshot for one evaluation, owned by the cache: in memory only, so it is released when no longer used. */
function borrowed(snapshot: Snapshot): Snapshot {
  return { ...snapshot, dispose: async () => {} };
}

export interface SnapshotPair {
  base: Snapshot;
  head: Snapshot;
  /** The base branch's tip, when the pull request is behind it (base is the merge base). */
  baseTip?: Snapshot;
}

/**
 * Extracts base and head, then builds on them. If either extraction or the build fails, whatever was
 * extracted is removed; on success the caller owns the snapshots and removes them with `dispose`.
 */
export async function withSnapshots<T>(
  extract: { base: () => Promise<Snapshot>; head: () => Promise<Snapshot>; baseTip?: () => Promise<Snapshot> },
  build: (pair: SnapshotPair) => Promise<T>,
): Promise<{ value: T; dispose(): Promise<void> }> {
  // allSettled, not all: a side still extracting when the other fails must be removed too.
  const [base, head, baseTip] = await Promise.allSettled([extract.base(), extract.head(), extract.baseTip?.()]);
  const extracted = [base, head, baseTip].flatMap((side) => (side.status === "fulfilled" && side.value ? [side.value] : []));
  const dispose = async () => {
    await Promise.all(extracted.map((snapshot) => snapshot.dispose()));
  };
  try {
    if (base.status === "rejected") throw base.reason;
    if (head.status === "rejected") throw head.reason;
    if (baseTip.status === "rejected") throw baseTip.reason;
    return { value: await build({ base: base.value, head: head.value, ...(baseTip.value ? { baseTip: baseTip.value } : {}) }), dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

/** The fields of PullRequestFacts that come from the two snapshots. */
export function snapshotFacts({ base, head, baseTip }: SnapshotPair): Pick<PullRequestFacts, "baseFiles" | "headFiles" | "baseTipFiles" | "problems" | "specialFiles" | "baseSpecialFiles"> {
  return {
    baseFiles: base.files,
    headFiles: head.files,
    ...(baseTip ? { baseTipFiles: baseTip.files } : {}),
    problems: [...base.problems, ...head.problems, ...(baseTip?.problems ?? [])],
    specialFiles: head.special,
    baseSpecialFiles: base.special,
  };
}
