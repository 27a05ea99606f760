// A folder on disk as the files of a tree: regular files only, links never followed, .git left out.
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { folderFiles, listFiles, portableTree, treeFromPortable } from "../../src/core/files.js";
import { tempDir, writeTree } from "../helpers/fleet.js";

describe("folderFiles", () => {
  it("lists regular files sorted, without .git, links or special files, and reads them", () => {
    const dir = tempDir();
    writeTree(dir, { "b/app.yaml": "a: 1\n", "a.yaml": "b: 2\n", ".git/config": "[core]\n", "b/.git/HEAD": "ref\n" });
    mkdirSync(join(dir, "empty"));
    symlinkSync("/etc/passwd", join(dir, "b/passwd.yaml"));
    symlinkSync(join(dir, "b"), join(dir, "linked"));
    const files = folderFiles(dir);
    expect(files.paths()).toEqual(["a.yaml", "b/app.yaml"]);
    expect(listFiles(dir)).toEqual(["a.yaml", "b/app.yaml"]);
    expect(files.read("b/app.yaml")?.toString("utf8")).toBe("a: 1\n");
    expect(files.size("b/app.yaml")).toBe(5);
    for (const path of ["b", "missing.yaml"]) {
      expect(files.read(path)).toBeUndefined();
      expect(files.size(path)).toBeUndefined();
    }
  });
});

describe("portableTree", () => {
  it("packs a tree without a cheaper form (a folder) into one buffer that rebuilds the same tree", () => {
    const dir = tempDir();
    writeTree(dir, { "b/app.yaml": "a: 1\n", "a.yaml": "b: 22\n", "c/empty.yaml": "" });
    const files = folderFiles(dir);
    const portable = portableTree(files);
    expect(portable.folder).toBeUndefined();
    expect(portable.bytes.byteLength).toBe(11);
    const rebuilt = treeFromPortable(structuredClone(portable));
    expect(rebuilt.paths()).toEqual(["a.yaml", "b/app.yaml", "c/empty.yaml"]);
    expect(rebuilt.read("a.yaml")?.toString("utf8")).toBe("b: 22\n");
    expect(rebuilt.read("b/app.yaml")?.toString("utf8")).toBe("a: 1\n");
    expect(rebuilt.read("c/empty.yaml")?.length).toBe(0);
    expect(rebuilt.size("a.yaml")).toBe(6);
    for (const path of ["b", "missing.yaml"]) {
      expect(rebuilt.read(path)).toBeUndefined();
      expect(rebuilt.size(path)).toBeUndefined();
    }
  });
});
