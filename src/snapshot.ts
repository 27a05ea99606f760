// A repository snapshot: a tar stream (GitHub's tarball or `git archive`) extracted to a temporary folder,
// regular files and folders only, never a link, never a path outside the root, within size and count caps.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";
import * as tar from "tar";
import type { SpecialFile } from "./core/types.js";
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

export async function extractSnapshot(
  stream: Readable,
  options: { strip: number; limits?: SnapshotLimits; label: string },
): Promise<Snapshot> {
  const limits = options.limits ?? defaultSnapshotLimits;
  const dir = await mkdtemp(join(tmpdir(), "fleet-warden-"));
  const snapshot: Snapshot = { dir, files: 0, bytes: 0, special: [], problems: [], dispose: () => rm(dir, { recursive: true, force: true }) };
  const skippedLarge: string[] = [];
  let overCount = false;
  let overTotal = false;
  try {
    await pipeline(
      stream,
      tar.x({
        cwd: dir,
        strip: options.strip,
        preservePaths: false,
        preserveOwner: false,
        noChmod: true,
        filter: (path, entry) => {
          const type = "type" in entry ? entry.type : "File";
          const relative = stripComponents(path, options.strip);
          if (relative === undefined) return false;
          if (type === "Directory") return true;
          if (type === "SymbolicLink" || type === "Link") {
            snapshot.special.push({ path: relative, kind: type === "Link" ? "hardlink" : "symlink", target: "linkpath" in entry ? String(entry.linkpath ?? "") : undefined });
            return false;
          }
          if (type !== "File" && type !== "OldFile" && type !== "ContiguousFile") {
            if (!type.endsWith("Header")) snapshot.special.push({ path: relative, kind: "other" });
            return false;
          }
          const size = entry.size ?? 0;
          if (size > limits.maxFileBytes) {
            skippedLarge.push(`${relative} (${formatBytes(size)})`);
            return false;
          }
          if (snapshot.files + 1 > limits.maxFiles) {
            overCount = true;
            return false;
          }
          if (snapshot.bytes + size > limits.maxTotalBytes) {
            overTotal = true;
            return false;
          }
          snapshot.files++;
          snapshot.bytes += size;
          return true;
        },
      }),
    );
  } catch (error) {
    await snapshot.dispose();
    throw error;
  }
  if (skippedLarge.length > 0) {
    snapshot.problems.push(`${options.label}: ${skippedLarge.length} file(s) over the ${formatBytes(limits.maxFileBytes)} per-file limit were not evaluated: ${skippedLarge.slice(0, 5).join(", ")}`);
  }
  if (overCount) snapshot.problems.push(`${options.label}: the repository has more than ${limits.maxFiles} files; files past the limit were not evaluated`);
  if (overTotal) snapshot.problems.push(`${options.label}: the repository is larger than ${formatBytes(limits.maxTotalBytes)}; files past the limit were not evaluated`);
  return snapshot;
}

/** The entry path with its first `strip` components removed; undefined when it would leave the root. */
function stripComponents(path: string, strip: number): string | undefined {
  const parts = path.split("/").filter((part) => part !== "" && part !== ".");
  const rest = parts.slice(strip).join("/");
  if (rest === "") return undefined;
  const normalized = posix.normalize(rest);
  if (normalized.startsWith("../") || normalized === ".." || posix.isAbsolute(normalized)) return undefined;
  return normalized;
}
