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
  /** The tree for another thread, when it can be handed over more cheaply than by reading every file. */
  portable?(): PortableTree;
}

/**
 * A tree as another thread rebuilds it (structured-cloneable): the bytes held in memory in one shared buffer,
 * which the other thread reads without a copy, and the files that are on disk read from their folder.
 */
export interface PortableTree {
  paths: string[];
  /** Every readable file: at `offset` in `bytes`, or in `folder` when `offset` is -1. */
  entries: Array<{ path: string; offset: number; size: number }>;
  bytes: SharedArrayBuffer;
  folder?: string;
}

export function portableTree(files: TreeFiles): PortableTree {
  if (files.portable) return files.portable();
  const paths = [...files.paths()];
  const contents = paths.flatMap((path) => {
    const data = files.read(path);
    return data ? [[path, data] as const] : [];
  });
  return { paths, ...packFiles(contents) };
}

/** Files' bytes in one shared buffer, with where each one is. */
export function packFiles(files: Iterable<readonly [string, Buffer]>): Pick<PortableTree, "entries" | "bytes"> {
  const list = [...files];
  const bytes = new SharedArrayBuffer(list.reduce((total, [, data]) => total + data.length, 0));
  const packed = Buffer.from(bytes);
  let offset = 0;
  const entries = list.map(([path, data]) => {
    data.copy(packed, offset);
    offset += data.length;
    return { path, offset: offset - data.length, size: data.length };
  });
  return { entries, bytes };
}

export function treeFromPortable(tree: PortableTree): TreeFiles {
  const bytes = Buffer.from(tree.bytes);
  const entries = new Map(tree.entries.map((entry) => [entry.path, entry]));
  const onDisk = tree.folder === undefined ? undefined : folderFiles(tree.folder);
  return {
    paths: () => tree.paths,
    read: (path) => {
      const entry = entries.get(path);
      if (!entry) return undefined;
      return entry.offset >= 0 ? bytes.subarray(entry.offset, entry.offset + entry.size) : onDisk?.read(path);
    },
    size: (path) => entries.get(path)?.size,
  };
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
