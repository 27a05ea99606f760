import { describe, expect, it } from "vitest";
import { isInDiff, parsePatch, touchesAddedLines } from "../../src/core/patch.js";
import { yamlSyntax } from "../../rules/yaml-syntax.js";
import { changedFilesBetween, parseGitDiff, unquoteGitPath } from "../../src/local.js";
import { evaluateChange, repoWithChange } from "../helpers/fleet.js";

const patch = `@@ -1,4 +1,5 @@
 apiVersion: v1
 kind: ConfigMap
-metadata: {}
+metadata:
+  name: a
 data: {}
@@ -10,2 +11,3 @@ spec:
 x: 1
+y: 2
 z: 3
\\ No newline at end of file`;

describe("parsePatch", () => {
  it("finds the head-side lines added and the hunks", () => {
    expect(parsePatch(patch)).toEqual({
      addedLines: [3, 4, 12],
      hunks: [
        { start: 1, end: 5 },
        { start: 11, end: 13 },
      ],
      submodule: false,
    });
  });

  it("answers whether a line is in the diff and whether a range was touched", () => {
    const file = { path: "a.yaml", status: "modified" as const, ...parsePatch(patch) };
    expect([isInDiff(file, 5), isInDiff(file, 6), isInDiff(file, 11)]).toEqual([true, false, true]);
    expect([touchesAddedLines(file, 1, 2), touchesAddedLines(file, 2, 3), touchesAddedLines(file, 12, 12)]).toEqual([false, true, true]);
  });

  it("handles a deletion-only hunk", () => {
    expect(parsePatch("@@ -3,2 +2,0 @@\n-a\n-b")).toEqual({ addedLines: [], hunks: [], submodule: false });
  });

  it("knows a submodule bump, as git and GitHub show one", () => {
    const bump = `@@ -1 +1 @@\n-Subproject commit ${"a".repeat(40)}\n+Subproject commit ${"b".repeat(40)}`;
    expect(parsePatch(bump)).toEqual({ addedLines: [1], hunks: [{ start: 1, end: 1 }], submodule: true });
    expect(parsePatch("@@ -1 +1 @@\n-a\n+Subproject commit is a phrase").submodule).toBe(false);
  });
});

describe("parseGitDiff", () => {
  it("reads statuses, renames and hunks from git diff output", () => {
    const output = `diff --git a/new.yaml b/new.yaml
new file mode 100644
index 0000000..1111111
--- /dev/null
+++ b/new.yaml
@@ -0,0 +1,2 @@
+a: 1
+b: 2
diff --git a/gone.yaml b/gone.yaml
deleted file mode 100644
index 1111111..0000000
--- a/gone.yaml
+++ /dev/null
@@ -1 +0,0 @@
-a: 1
diff --git a/old name.yaml b/dir/new name.yaml
similarity index 90%
rename from old name.yaml
rename to dir/new name.yaml
index 1111111..2222222 100644
--- a/old name.yaml
+++ b/dir/new name.yaml
@@ -1,2 +1,2 @@
 a: 1
-b: 2
+b: 3
diff --git a/logo.png b/logo.png
index 1111111..2222222 100644
Binary files a/logo.png and b/logo.png differ
`;
    expect(parseGitDiff(output)).toEqual([
      { path: "new.yaml", status: "added", addedLines: [1, 2], hunks: [{ start: 1, end: 2 }] },
      { path: "gone.yaml", status: "removed", addedLines: [], hunks: [] },
      { path: "dir/new name.yaml", previousPath: "old name.yaml", status: "renamed", addedLines: [2], hunks: [{ start: 1, end: 2 }] },
      { path: "logo.png", status: "modified", addedLines: [], hunks: [], patchMissing: true },
    ]);
  });
});

describe("paths git quotes", () => {
  // What git prints for names with a quote, a tab, a backslash or bytes outside ASCII (core.quotePath's default).
  const unusual = { quote: 'apps/a"b.yaml', tab: "apps/tab\tx.yaml", accented: "apps/é.yaml", backslash: "apps/c\\d.yaml" };

  it("are read back as the names they stand for", () => {
    expect(unquoteGitPath('"apps/a\\"b.yaml"')).toBe(unusual.quote);
    expect(unquoteGitPath('"apps/tab\\tx.yaml"')).toBe(unusual.tab);
    expect(unquoteGitPath('"apps/\\303\\251.yaml"')).toBe(unusual.accented);
    expect(unquoteGitPath('"apps/c\\\\d.yaml"')).toBe(unusual.backslash);
    expect(unquoteGitPath('"\\a\\b\\t\\n\\v\\f\\r"')).toBe("\u0007\b\t\n\v\f\r");
    expect(unquoteGitPath("apps/plain name.yaml")).toBe("apps/plain name.yaml");
    expect(unquoteGitPath(undefined)).toBeUndefined();
  });

  it("are in the change with their real names: added, modified, renamed, binary, with a space, and with ' b/' in a name", async () => {
    const repo = repoWithChange(
      { "apps/old name.yaml": "a: 1\nb: 2\nc: 3\nd: 4\n", [unusual.tab]: "t: 1\n", "apps/logo\u00e9.png": "\u0000\u0001", "apps/space name.yaml": "s: 1\n", "apps/bin ary b/x.bin": "\u0000\u0001" },
      { "apps/old name.yaml": null, "apps/space name.yaml": "s: 2\n", "apps/bin ary b/x.bin": "\u0000\u0002", [unusual.backslash]: "a: 1\nb: 2\nc: 3\nd: 5\n", [unusual.quote]: "q: 1\n", [unusual.accented]: "e: 1\n", [unusual.tab]: "t: 2\n", "apps/logo\u00e9.png": "\u0000\u0002" },
    );
    const files = await changedFilesBetween(repo.dir, "main", "change");
    expect(files.map((file) => [file.status, file.previousPath ?? "", file.path, file.addedLines])).toEqual([
      ["added", "", unusual.quote, [1]],
      ["modified", "", "apps/bin ary b/x.bin", []],
      ["renamed", "apps/old name.yaml", unusual.backslash, [4]],
      ["modified", "", "apps/logo\u00e9.png", []],
      ["modified", "", "apps/space name.yaml", [1]],
      ["modified", "", unusual.tab, [1]],
      ["added", "", unusual.accented, [1]],
    ]);
  });

  it("are judged: a broken file with such a name gets its finding", async () => {
    const verdict = await evaluateChange({}, { [unusual.quote]: "a: [\n", [unusual.tab]: "b: [\n", [unusual.accented]: "c: [\n", "apps/plain.yaml": "d: [\n" }, { rules: [yamlSyntax] });
    expect(verdict.findings.map((finding) => finding.path).sort()).toEqual(["apps/plain.yaml", unusual.quote, unusual.tab, unusual.accented].sort());
  });
});
