// The files of a tree, wherever they are: a snapshot mostly held in memory, or a folder on disk (tests, corpus).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

/** The regular files of a tree: a snapshot held in memory, or a folder on disk. */
export interface TreeFiles {
  /** Sorted POSIX paths of regular files, relative to the tree's root. */
  paths(): readonly string[];
  /** The file's bytes; undefined when it is not a regular file of the tree. */
  read(path: string): Buffer | undefined;
  /** The file's size in bytes without reading it; undefined when it is not a regular file of the tree. */
  size(path: string): number | undefined;
}

const SKIPPED_DIRS = new Set([".git"]);

/** A folder on disk, listed once when first asked. */
export function folderFiles(root: string): TreeFiles {
  let listing: string[] | undefined;
  return {
    paths: () => (listing ??= listFiles(root)),
    read: (path) => {
      try {
        return readFileSync(join(root, path));
      } catch {
        return undefined;
      }
    },
    size: (path) => {
      try {
        const stat = statSync(join(root, path));
        return stat.isFile() ? stat.size : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

/** True when a tree's listing leaves the path out: anything inside a `.git` folder. */
export function isSkippedPath(path: string): boolean {
  return path.split("/").some((part) => SKIPPED_DIRS.has(part));
}

/** Regular files only: links and special files in a snapshot are never followed. */
export function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, prefix: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) walk(join(dir, entry.name), rel);
      } else if (entry.isFile()) {
        out.push(rel);
      }
    }
  };
  walk(root, "");
  return out.sort();
}
