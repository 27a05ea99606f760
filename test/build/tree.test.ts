// The files of a GitRepository artifact: Flux's default ignores, every .sourceignore in its folder, then spec.ignore.
import { describe, expect, it } from "vitest";
import { gitRepositoryTree } from "../../src/core/build/tree.js";
import { FleetModel } from "../../src/core/fleet.js";
import { treeDir } from "./helpers.js";

const fleet = {
  "apps/web/deployment.yaml": "kind: A\n",
  "apps/web/README.md": "# web\n",
  "apps/web/keep.md": "# kept\n",
  "apps/web/logo.png": "png",
  "apps/cache/config.yaml": "kind: B\n",
  "apps/tmp/scratch.yaml": "kind: C\n",
  "apps/nested/tmp/kept.yaml": "kind: D\n",
  "apps/.sourceignore": "*.md\n!keep.md\ncache/\n/tmp\n",
  "docs/README.md": "# docs\n",
  "docs/cache": "a file named like an ignored folder\n",
  "secrets/.sops.yaml": "creation_rules: []\n",
  ".github/workflows/ci.yaml": "on: push\n",
  "clusters/prod/apps.yaml": "kind: E\n",
  "clusters/prod/local.yaml": "kind: F\n",
};

describe("GitRepository artifact", () => {
  it("applies folder-scoped .sourceignore rules (unanchored, anchored, folders only, negated) and spec.ignore last, and then no default ignore but the VCS ones", () => {
    const tree = gitRepositoryTree(new FleetModel(treeDir(fleet)), { ignore: "/clusters/**/local.yaml\n" });
    expect(tree.paths).toEqual([
      ".github/workflows/ci.yaml",
      "apps/.sourceignore",
      "apps/nested/tmp/kept.yaml",
      "apps/web/deployment.yaml",
      "apps/web/keep.md",
      "apps/web/logo.png",
      "clusters/prod/apps.yaml",
      "docs/README.md",
      "docs/cache",
      "secrets/.sops.yaml",
    ]);
    expect(tree.definitionPaths).toEqual(["apps/.sourceignore"]);
  });

  it("reads ! and # after a negation as part of the name, as go-git does, not as minimatch negation or comment", () => {
    const files = { "a/!kept.yaml": "kind: A\n", "a/#kept.yaml": "kind: B\n", "a/dropped.yaml": "kind: C\n", "a/notes.txt": "text\n" };
    for (const ignore of ["*.yaml\n!!kept.yaml\n!#kept.yaml\n", "*.yaml\n!/a/!kept.yaml\n!/a/#kept.yaml\n"]) {
      expect(gitRepositoryTree(new FleetModel(treeDir(files)), { ignore }).paths).toEqual(["a/!kept.yaml", "a/#kept.yaml", "a/notes.txt"]);
    }
    expect(gitRepositoryTree(new FleetModel(treeDir(files)), { ignore: "/!nothing/\n" }).paths).toEqual(["a/!kept.yaml", "a/#kept.yaml", "a/dropped.yaml", "a/notes.txt"]);
  });

  it("matches as go-git and Go's filepath.Match do: a leading space is part of the name, no {a,b} braces, [!x] is no negation", () => {
    const files = { "a/evil.yaml": "kind: A\n", "a/vil.yaml": "kind: B\n", "a/!vil.yaml": "kind: C\n", "a/ spaced.yaml": "kind: D\n", "a/trailing.yaml": "kind: E\n" };
    const rules = " evil.yaml\nevil.{yaml,x}\n[!x]vil.yaml\n spaced.yaml\ntrailing.yaml   \n";
    const tree = gitRepositoryTree(new FleetModel(treeDir({ ...files, "a/.sourceignore": rules })), undefined);
    // Flux deploys evil.yaml and vil.yaml: no line matches them.
    expect(tree.paths).toEqual(["a/.sourceignore", "a/evil.yaml", "a/vil.yaml"]);
  });

  it("reads .sourceignore lines as Go's bufio.Scanner and TrimSpace do", () => {
    const paths = (sourceignore: string) =>
      gitRepositoryTree(new FleetModel(treeDir({ "a/.sourceignore": sourceignore, "a/x.yaml": "kind: A\n", "a/cloudbuild.yaml": "kind: B\n" }))).paths;
    // A byte-order mark is no space to Go: a pattern, so the default ignores are off and cloudbuild.yaml is kept.
    expect(paths("\uFEFF")).toEqual(["a/.sourceignore", "a/cloudbuild.yaml", "a/x.yaml"]);
    // NEL is a space to Go: no pattern, the defaults stay.
    expect(paths("\u0085\n")).toEqual(["a/.sourceignore", "a/x.yaml"]);
    // The last line's \r is dropped too.
    expect(paths("*.yaml\n!x.yaml\r")).toEqual(["a/.sourceignore", "a/x.yaml"]);
    // A line of 64 KiB ends the scan: the pattern after it is never read.
    expect(paths(`#${"-".repeat(64 * 1024)}\nx.yaml\n`)).toEqual(["a/.sourceignore", "a/x.yaml"]);
    expect(paths(`#${"-".repeat(64 * 1024 - 2)}\nx.yaml\n`)).toEqual(["a/.sourceignore", "a/cloudbuild.yaml"]);
  });

  it("reads a .sourceignore that is a symbolic link through it, as Flux's os.Open does", () => {
    const model = new FleetModel(treeDir({ "a/patterns.txt": "/nothing/\n", "a/cloudbuild.yaml": "kind: B\n", "a/x.yaml": "kind: A\n" }));
    const link = (target: string) => [{ path: "a/.sourceignore", kind: "symlink" as const, target }];
    // The linked file writes a pattern: Flux's default ignores are off, cloudbuild.yaml is deployed.
    const tree = gitRepositoryTree(model, {}, link("patterns.txt"));
    expect(tree.paths).toEqual(["a/cloudbuild.yaml", "a/patterns.txt", "a/x.yaml"]);
    expect(tree.definitionPaths).toEqual(["a/.sourceignore", "a/patterns.txt"]);
    // A link out of the checkout names no file we can read: no pattern.
    expect(gitRepositoryTree(model, {}, link("../../etc/hostname")).paths).toEqual(["a/patterns.txt", "a/x.yaml"]);
  });

  it("keeps everything but the defaults without ignore rules", () => {
    const withoutRules = Object.fromEntries(Object.entries(fleet).filter(([path]) => path !== "apps/.sourceignore"));
    expect(gitRepositoryTree(new FleetModel(treeDir(withoutRules))).paths).toEqual(
      Object.keys(withoutRules)
        .filter((path) => !path.startsWith(".github/") && !path.endsWith(".png") && !path.endsWith(".sops.yaml"))
        .sort(),
    );
  });
});
