// Snapshots held in memory up to a budget, spilled to a temporary folder past it, and read back identical.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { portableTree, treeFromPortable } from "../src/core/files.js";
import { defaultSnapshotLimits, extractSnapshot, SnapshotCache, type Snapshot } from "../src/snapshot.js";
import { tempDir } from "./helpers/fleet.js";
import { tarball, type TarEntry } from "./helpers/tarball.js";

const binary = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x0a, 0xc3, 0x28]);
const entries: TarEntry[] = [
  { name: "acme-fleet-abc1234/zeta/app.yaml", text: "a: 1\n" },
  { name: "acme-fleet-abc1234/alpha/kustomization.yaml", text: "resources:\n  - app.yaml\n" },
  { name: "acme-fleet-abc1234/alpha/app.yaml", text: "b: 2\n" },
  { name: "acme-fleet-abc1234/logo.bin", text: binary },
  { name: "acme-fleet-abc1234/empty.yaml", text: "" },
];
const sorted = ["alpha/app.yaml", "alpha/kustomization.yaml", "empty.yaml", "logo.bin", "zeta/app.yaml"];

async function extract(archiveEntries: TarEntry[], memoryBytes = defaultSnapshotLimits.memoryBytes): Promise<Snapshot> {
  return extractSnapshot(Readable.from(await tarball(archiveEntries)), { strip: 1, gzip: true, label: "head snapshot", limits: { ...defaultSnapshotLimits, memoryBytes } });
}

/** Runs `work` with the temporary folder of this process pointed at a fresh folder of its own. */
async function inPrivateTmpdir<T>(work: (dir: string) => Promise<T>): Promise<T> {
  const dir = tempDir();
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  try {
    return await work(dir);
  } finally {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
  }
}

describe("snapshots in memory", () => {
  it("lists the files sorted and reads them back byte for byte, writing nothing to disk", async () => {
    await inPrivateTmpdir(async (tmp) => {
      const snapshot = await extract(entries);
      try {
        expect(snapshot.files.paths()).toEqual(sorted);
        expect(snapshot.files.read("logo.bin")).toEqual(binary);
        expect(snapshot.files.read("alpha/kustomization.yaml")?.toString("utf8")).toBe("resources:\n  - app.yaml\n");
        expect(snapshot.files.read("empty.yaml")).toEqual(Buffer.alloc(0));
        expect(snapshot.files.size("logo.bin")).toBe(7);
        expect(snapshot.files.size("empty.yaml")).toBe(0);
        // A folder, a missing file and a path outside are not files of the tree.
        for (const path of ["alpha", "missing.yaml", "../alpha/app.yaml"]) {
          expect(snapshot.files.read(path)).toBeUndefined();
          expect(snapshot.files.size(path)).toBeUndefined();
        }
        expect(snapshot.spillDir).toBeUndefined();
        expect(readdirSync(tmp)).toEqual([]);
      } finally {
        await snapshot.dispose();
      }
    });
  });

  it("leaves files under a .git folder out of the listing, as a folder's listing does", async () => {
    const snapshot = await extract([...entries, { name: "acme-fleet-abc1234/apps/.git/config", text: "[core]\n" }]);
    try {
      expect(snapshot.files.paths()).toEqual(sorted);
    } finally {
      await snapshot.dispose();
    }
  });
});

describe("snapshots past the memory budget", () => {
  it("writes the files past the budget to a temporary folder, reads them back identical, and removes the folder", async () => {
    // 10 bytes: "a: 1\n" (5 bytes) fits; the 24-byte kustomization does not, nor do later files over the 5 left.
    const snapshot = await extract(entries, 10);
    const spillDir = snapshot.spillDir;
    try {
      expect(spillDir).toBeDefined();
      expect(snapshot.files.paths()).toEqual(sorted);
      const onDisk = (path: string) => existsSync(join(spillDir!, path));
      expect(sorted.filter(onDisk)).toEqual(["alpha/kustomization.yaml", "logo.bin"]);
      expect(readFileSync(join(spillDir!, "logo.bin"))).toEqual(binary);
      expect(snapshot.files.read("logo.bin")).toEqual(binary);
      expect(snapshot.files.read("alpha/kustomization.yaml")?.toString("utf8")).toBe("resources:\n  - app.yaml\n");
      expect(snapshot.files.size("alpha/kustomization.yaml")).toBe(24);
      expect(snapshot.files.read("zeta/app.yaml")?.toString("utf8")).toBe("a: 1\n");
      expect(snapshot.files.read("alpha/app.yaml")?.toString("utf8")).toBe("b: 2\n");
    } finally {
      await snapshot.dispose();
    }
    expect(existsSync(spillDir!)).toBe(false);
    expect(snapshot.files.read("logo.bin")).toBeUndefined();
  });

  it("hands itself to another thread as one shared buffer for the files in memory and the spill folder for the rest", async () => {
    const snapshot = await extract(entries, 10);
    try {
      const portable = portableTree(snapshot.files);
      expect(portable.bytes.byteLength).toBe(10);
      expect(portable.folder).toBe(snapshot.spillDir);
      expect(portable.entries.filter((entry) => entry.offset === -1).map((entry) => entry.path).sort()).toEqual(["alpha/kustomization.yaml", "logo.bin"]);
      const rebuilt = treeFromPortable(structuredClone(portable));
      expect(rebuilt.paths()).toEqual(sorted);
      for (const path of sorted) {
        expect(rebuilt.read(path)).toEqual(snapshot.files.read(path));
        expect(rebuilt.size(path)).toBe(snapshot.files.size(path));
      }
      expect(rebuilt.read("missing.yaml")).toBeUndefined();
      // Packed once: the files in memory now live in the shared buffer, read by both sides in place.
      expect(portableTree(snapshot.files).bytes).toBe(portable.bytes);
      expect(snapshot.files.read("zeta/app.yaml")!.buffer).toBe(portable.bytes);
      expect(() => (snapshot.files as unknown as { add(path: string, data: Buffer): void }).add("late.yaml", Buffer.from("a: 1\n"))).toThrow(/already handed over/);
    } finally {
      await snapshot.dispose();
    }
  });

  it("fails, never overwrites, when an entry past the budget repeats a path, and leaves no folder behind", async () => {
    await inPrivateTmpdir(async (tmp) => {
      const repeated = [...entries, { name: "acme-fleet-abc1234/./logo.bin", text: "evil" }];
      await expect(extract(repeated, 10)).rejects.toThrow(/^head snapshot: cannot read the archive: EEXIST: logo.bin /);
      expect(readdirSync(tmp)).toEqual([]);
    });
  });

  it("fails when a path is a file in one entry and a folder in another, in memory or past the budget", async () => {
    const clashes: TarEntry[][] = [
      [{ name: "acme-fleet-abc1234/apps", text: "a: 1\n" }, { name: "acme-fleet-abc1234/apps/web.yaml", text: "b: 2\n" }],
      [{ name: "acme-fleet-abc1234/apps/web.yaml", text: "b: 2\n" }, { name: "acme-fleet-abc1234/apps", text: "a: 1\n" }],
    ];
    for (const clash of clashes) {
      for (const memoryBytes of [defaultSnapshotLimits.memoryBytes, 0]) {
        await expect(extract(clash, memoryBytes)).rejects.toThrow(/^head snapshot: cannot read the archive: EEXIST: apps(\/web\.yaml)? /);
      }
    }
  });
});

describe("snapshot cache", () => {
  const load = (archiveEntries: TarEntry[], memoryBytes?: number) => {
    const loads: Array<Promise<Snapshot>> = [];
    return { loads, load: () => (loads.push(extract(archiveEntries, memoryBytes)), loads.at(-1)!) };
  };

  it("reads a sha once for evaluations at the same time and after, and hands out snapshots that dispose does not empty", async () => {
    const cache = new SnapshotCache();
    const loader = load(entries);
    const [first, second] = await Promise.all([cache.get("acme/fleet@abc base", loader.load), cache.get("acme/fleet@abc base", loader.load)]);
    await first.dispose();
    const third = await cache.get("acme/fleet@abc base", loader.load);
    expect(loader.loads).toHaveLength(1);
    for (const snapshot of [second, third]) expect(snapshot.files.read("alpha/app.yaml")?.toString("utf8")).toBe("b: 2\n");
    expect(cache.bytes()).toBe((await loader.loads[0]!).bytes);
  });

  it("keeps neither a failed read nor a snapshot that spilled to disk (its evaluation removes the folder)", async () => {
    const cache = new SnapshotCache();
    await expect(cache.get("a", () => Promise.reject(new Error("502 Bad Gateway")))).rejects.toThrow("502 Bad Gateway");
    const retried = load(entries);
    await cache.get("a", retried.load);
    expect(retried.loads).toHaveLength(1);

    await inPrivateTmpdir(async () => {
      const spilling = load(entries, 10);
      const spilled = await cache.get("b", spilling.load);
      const again = await cache.get("b", spilling.load);
      expect(spilling.loads).toHaveLength(2);
      expect(spilled.spillDir).toBeDefined();
      await spilled.dispose();
      expect(existsSync(spilled.spillDir!)).toBe(false);
      expect(again.files.read("zeta/app.yaml")?.toString("utf8")).toBe("a: 1\n");
      await again.dispose();
    });
  });

  it("keeps nothing that was loading when it was cleared", async () => {
    const cache = new SnapshotCache();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const loading = cache.get("a", async () => (await gate, extract(entries)));
    cache.clear();
    release();
    expect((await loading).files.read("zeta/app.yaml")?.toString("utf8")).toBe("a: 1\n");
    expect(cache.bytes()).toBe(0);
    const again = load(entries);
    await cache.get("a", again.load);
    expect(again.loads).toHaveLength(1);
  });

  it("lets the least recently used snapshots go past its byte budget", async () => {
    const size = (await extract(entries)).bytes;
    const cache = new SnapshotCache(2 * size);
    const loaders = { a: load(entries), b: load(entries), c: load(entries) };
    await cache.get("a", loaders.a.load);
    await cache.get("b", loaders.b.load);
    await cache.get("a", loaders.a.load);
    await cache.get("c", loaders.c.load);
    expect(cache.bytes()).toBe(2 * size);
    await cache.get("a", loaders.a.load);
    await cache.get("b", loaders.b.load);
    expect([loaders.a.loads.length, loaders.b.loads.length, loaders.c.loads.length]).toEqual([1, 2, 1]);
  });
});
