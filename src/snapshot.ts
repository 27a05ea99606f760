// A repository snapshot: a tar stream (GitHub's gzipped tarball, or `git archive`) extracted to a temporary folder,
// regular files only, never a link, never a path outside the root, within size and count caps.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, posix } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { extract as tarExtract } from "tar-stream";
import type { PullRequestFacts, SpecialFile } from "./core/types.js";
import { formatBytes } from "./core/yaml.js";

export interface SnapshotLimits {
  maxFiles: number;
  maxTotalBytes: number;
  maxFileBytes: number;
}

export const defaultSnapshotLimits: SnapshotLimits = {
  maxFiles: 50_000,
  maxTotalBytes: 512 * 1024 * 1024,
  maxFileBytes: 64 * 1024 * 1024,
};

export interface Snapshot {
  dir: string;
  files: number;
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
}

export async function extractSnapshot(stream: Readable, options: ExtractOptions): Promise<Snapshot> {
  const limits = options.limits ?? defaultSnapshotLimits;
  // The stream is consumed before the first await: a child process's stdout that nobody reads when the
  // process exits is drained and lost (Node's flushStdio), which made a fast `git archive` extract to nothing.
  const dirReady = mkdtemp(join(tmpdir(), "fleet-warden-"));
  const snapshot: Snapshot = { dir: "", files: 0, bytes: 0, special: [], problems: [], dispose: async () => rm(await dirReady, { recursive: true, force: true }) };
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
    if (snapshot.files + 1 > limits.maxFiles) {
      overCount = true;
      return skip();
    }
    if (snapshot.bytes + size > limits.maxTotalBytes) {
      overTotal = true;
      return skip();
    }
    snapshot.files++;
    snapshot.bytes += size;
    // The entry is read into memory (it is under the per-file cap) and written while the archive goes on:
    // writing one file at a time made extraction several times slower than `tar -x`.
    const chunks: Buffer[] = [];
    body.on("data", (chunk: unknown) => chunks.push(chunk as Buffer));
    body.on("error", next);
    body.on("end", () => {
      const data = Buffer.concat(chunks);
      // "wx": a path that already exists (a duplicate entry) is an error, never an overwrite through something else.
      const write = dirReady.then(async (dir) => {
        const target = join(dir, relative);
        await folder(dirname(target));
        await writeFile(target, data, { flag: "wx", mode: 0o644 });
      });
      writes.track(write, data.length).then(() => next(), next);
    });
  });

  const writes = new BoundedWrites();
  // Each folder is created once, not once per file in it.
  const folders = new Map<string, Promise<unknown>>();
  const folder = (path: string) => {
    let created = folders.get(path);
    if (!created) folders.set(path, (created = mkdir(path, { recursive: true })));
    return created;
  };

  const extracted = options.gzip ? pipeline(stream, createGunzip(), extract) : pipeline(stream, extract);
  try {
    [snapshot.dir] = await Promise.all([dirReady, extracted.then(() => writes.drain())]);
  } catch (error) {
    await snapshot.dispose();
    throw new Error(`${options.label}: cannot read the archive: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (skippedLarge.length > 0) {
    snapshot.problems.push(`${options.label}: ${skippedLarge.length} file(s) over the ${formatBytes(limits.maxFileBytes)} per-file limit were not evaluated: ${skippedLarge.slice(0, 5).join(", ")}`);
  }
  if (overCount) snapshot.problems.push(`${options.label}: the repository has more than ${limits.maxFiles} files; files past the limit were not evaluated`);
  if (overTotal) snapshot.problems.push(`${options.label}: the repository is larger than ${formatBytes(limits.maxTotalBytes)}; files past the limit were not evaluated`);
  return snapshot;
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

export interface SnapshotPair {
  base: Snapshot;
  head: Snapshot;
}

/**
 * Extracts base and head, then builds on them. If either extraction or the build fails, whatever was
 * extracted is removed; on success the caller owns the snapshots and removes them with `dispose`.
 */
export async function withSnapshots<T>(
  extract: { base: () => Promise<Snapshot>; head: () => Promise<Snapshot> },
  build: (pair: SnapshotPair) => Promise<T>,
): Promise<{ value: T; dispose(): Promise<void> }> {
  // allSettled, not all: a side still extracting when the other fails must be removed too.
  const [base, head] = await Promise.allSettled([extract.base(), extract.head()]);
  const extracted = [base, head].flatMap((side) => (side.status === "fulfilled" ? [side.value] : []));
  const dispose = async () => {
    await Promise.all(extracted.map((snapshot) => snapshot.dispose()));
  };
  try {
    if (base.status === "rejected") throw base.reason;
    if (head.status === "rejected") throw head.reason;
    return { value: await build({ base: base.value, head: head.value }), dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

/** The fields of PullRequestFacts that come from the two snapshots. */
export function snapshotFacts({ base, head }: SnapshotPair): Pick<PullRequestFacts, "baseDir" | "headDir" | "problems" | "specialFiles"> {
  return { baseDir: base.dir, headDir: head.dir, problems: [...base.problems, ...head.problems], specialFiles: head.special };
}
