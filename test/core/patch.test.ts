import { describe, expect, it } from "vitest";
import { isInDiff, parsePatch, touchesAddedLines } from "../../src/core/patch.js";
import { parseGitDiff } from "../../src/local.js";

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
    });
  });

  it("answers whether a line is in the diff and whether a range was touched", () => {
    const file = { path: "a.yaml", status: "modified" as const, ...parsePatch(patch) };
    expect([isInDiff(file, 5), isInDiff(file, 6), isInDiff(file, 11)]).toEqual([true, false, true]);
    expect([touchesAddedLines(file, 1, 2), touchesAddedLines(file, 2, 3), touchesAddedLines(file, 12, 12)]).toEqual([false, true, true]);
  });

  it("handles a deletion-only hunk", () => {
    expect(parsePatch("@@ -3,2 +2,0 @@\n-a\n-b")).toEqual({ addedLines: [], hunks: [] });
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
