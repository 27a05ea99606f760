// Names Flux's untar refuses (fluxcd/pkg/tar validRelPath: a `\` or a `../`, which a folder named `x..` makes): the
// GitRepository stores its artifact, but kustomize-controller cannot extract it, so every Kustomization on it fails,
// flux-system's included. A tenant adding such a file to its own folder stops the whole cluster's reconciliation.
import { describe, expect, it } from "vitest";
import { kustomizeBuild } from "../../rules/kustomize-build.js";
import { gitRepositoryTree } from "../../src/core/build/tree.js";
import { FleetModel } from "../../src/core/fleet.js";
import { buildChange, configMap, evaluateTrees, fluxKustomization, treeDir } from "./helpers.js";

const gitRepository = (name: string, spec = "", url = "ssh://git@github.com/acme/fleet") =>
  `apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: ${name}\n  namespace: flux-system\nspec:\n  interval: 1m\n  url: ${url}\n  ref:\n    branch: main\n${spec}`;
const fleet = {
  "clusters/prod/flux-system/gotk-sync.yaml": gitRepository("flux-system"),
  "clusters/prod/apps.yaml": fluxKustomization("apps", { path: "./apps", prune: true }),
  "clusters/prod/infra.yaml": fluxKustomization("infra", { path: "./infra", prune: true }),
  "apps/ok.yaml": configMap("ok"),
  "infra/ok.yaml": configMap("infra"),
};
const sourceFails = (reason: string) => `spec.sourceRef: the GitRepository flux-system/flux-system fails: ${reason}, so the Kustomization fails.`;
const refuses = (name: string, why: string) => `Flux's untar refuses ${name} in its artifact (${why}; rename it, or exclude it in .sourceignore)`;
const DOTS = `a name containing "../": a folder name ends in ".."`;
const BACKSLASH = "a name containing a backslash";

describe("an artifact entry Flux's untar refuses", () => {
  it("fails every Kustomization on the GitRepository, at its sourceRef, naming the entry and the fix", async () => {
    for (const [path, why] of [["apps/notes../readme.md", DOTS], ["apps/a\\b.md", BACKSLASH]] as const) {
      const verdict = await evaluateTrees(fleet, { [path]: "hello\n" }, [kustomizeBuild]);
      expect(verdict.conclusion).toBe("failure");
      expect(verdict.findings.map((finding) => [finding.path, finding.line, finding.message])).toEqual([
        ["clusters/prod/apps.yaml", 8, sourceFails(refuses(path, why))],
        ["clusters/prod/infra.yaml", 8, sourceFails(refuses(path, why))],
      ]);
    }
  });

  it("is no failure once .sourceignore leaves the entry out, nor for a file whose own name ends in ..", async () => {
    const heads: Record<string, string>[] = [{ "apps/notes../readme.md": "hello\n", "apps/.sourceignore": "notes../\n" }, { "apps/a\\b.md": "hello\n", ".sourceignore": "*.md\n" }, { "apps/notes..": "hello\n" }];
    for (const head of heads) {
      const verdict = await evaluateTrees(fleet, head, [kustomizeBuild]);
      expect(verdict.findings).toEqual([]);
      expect(verdict.conclusion).toBe("success");
    }
  });

  it("names a folder the archive keeps although every file in it is ignored", () => {
    const files = { "apps/a\\b/readme.md": "hello\n", "apps/ok.yaml": configMap("ok"), ".sourceignore": "*.md\n" };
    const tree = gitRepositoryTree(new FleetModel(treeDir(files)));
    expect(tree.paths).toEqual([".sourceignore", "apps/ok.yaml"]);
    expect(tree.fails).toBe(refuses("apps/a\\b", BACKSLASH));
    expect(tree.refusedEntry).toBe("apps/a\\b");
    // An ignored folder is no entry: nothing refused.
    expect(gitRepositoryTree(new FleetModel(treeDir({ ...files, ".sourceignore": "*.md\na\\\\b/\n" }))).fails).toBeUndefined();
  });

  it("names a symbolic link, or a folder holding only one: the archive writes both", () => {
    const model = new FleetModel(treeDir({ "apps/ok.yaml": configMap("ok") }));
    const link = (path: string) => ({ path, kind: "symlink" as const, target: "../ok.yaml" });
    expect(gitRepositoryTree(model, {}, [link("apps/x../sub/l")]).fails).toBe(refuses("apps/x../sub/l", DOTS));
    expect(gitRepositoryTree(model, {}, [link("apps/a\\b")]).fails).toBe(refuses("apps/a\\b", BACKSLASH));
    expect(gitRepositoryTree(model, {}, [link("apps/plain")]).fails).toBeUndefined();
    expect(gitRepositoryTree(model, { ignore: "/apps/x../\n" }, [link("apps/x../sub/l")]).fails).toBeUndefined();
  });

  it("fails a GitRepository that includes such an artifact: source-controller cannot extract it to copy it", async () => {
    const result = await buildChange({}, {
      ...fleet,
      "clusters/prod/flux-system/gotk-sync.yaml": gitRepository("flux-system", "  include:\n    - repository:\n        name: fleet-a\n      fromPath: lib\n      toPath: apps/lib\n"),
      "clusters/prod/flux-system/fleet-a.yaml": gitRepository("fleet-a", "", "https://github.com/acme/fleet.git"),
      "lib/ok.yaml": configMap("lib"),
      "docs/notes../readme.md": "hello\n",
    });
    const fleetA = refuses("docs/notes../readme.md", DOTS);
    expect(result.head.map((build) => [build.report.name, build.issues.map((issue) => issue.message)])).toEqual([
      ["flux-system/apps (clusters/prod)", [sourceFails(`its spec.include of GitRepository flux-system/fleet-a cannot be copied: ${fleetA}`)]],
      ["flux-system/infra (clusters/prod)", [sourceFails(`its spec.include of GitRepository flux-system/fleet-a cannot be copied: ${fleetA}`)]],
    ]);
  });
});
