// The choices the flux graph's folder walk makes, pinned so that indexing it (a pull request controls how many
// folders and files there are) cannot change them: which files a generated kustomization holds, in which order,
// which nested kustomization folders it adds whole, and which GitRepository is each cluster's own sync.
import { describe, expect, it } from "vitest";
import { FleetModel } from "../../../src/core/fleet.js";
import { fluxGraph, type ClusterObject } from "../../../rules/lib/flux-graph.js";
import { tempDir, writeTree, type Tree } from "../../helpers/fleet.js";

const model = (tree: Tree) => {
  const root = tempDir();
  writeTree(root, tree);
  return new FleetModel(root);
};

const gitRepository = (name: string, url: string) =>
  `apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: ${name}\n  namespace: flux-system\nspec:\n  interval: 1m\n  ref:\n    branch: main\n  url: ${url}\n`;

const kustomization = (name: string, path: string, source = "flux-system") =>
  `apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: ${name}\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ${path}\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: ${source}\n`;

/** A Flux object whose name says which file it is in. */
const release = (name: string) => `apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: ${name}\n  namespace: apps\nspec:\n  interval: 5m\n`;

const kustomize = (...resources: string[]) => `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n${resources.map((resource) => `  - ${resource}\n`).join("")}`;

const listed = (objects: ClusterObject[]) => objects.map((object) => `${object.cluster}|${object.ref.kind} ${object.ref.name}|${object.doc.path}`);

describe("flux graph folder walk", () => {
  // apps/ has no kustomization file: Flux generates one from every YAML file below it, except inside folders
  // with their own kustomization file, which are added whole (the outermost ones only).
  const apps: Tree = {
    "apps/b.yaml": release("b"),
    "apps/b/c.yaml": release("b-c"),
    "apps/b-c/x.yaml": release("b-c-x"),
    "apps/notes.txt": "apiVersion: helm.toolkit.fluxcd.io/v2 (not YAML, never read)\n",
    "apps/plain/deeper/d.yml": release("d"),
    // Outer kustomization folders, in the tree's folder order: apps/a-b (its first file sorts before apps/a/'s) before apps/a.
    "apps/a/kustomization.yaml": kustomize("listed.yaml", "generated"),
    "apps/a/listed.yaml": release("a-listed"),
    "apps/a/unlisted.yaml": release("a-unlisted"),
    "apps/a/generated/g.yaml": release("a-generated"),
    "apps/a/generated/inner/Kustomization": kustomize("i.yaml"),
    "apps/a/generated/inner/i.yaml": release("a-generated-inner"),
    "apps/a/generated/inner/not-listed.yaml": release("a-generated-inner-unlisted"),
    "apps/a/inside/kustomization.yaml": kustomize("k.yaml"),
    "apps/a/inside/k.yaml": release("a-inside-unreached"),
    "apps/a-b/z.yaml": release("a-b-unlisted"),
    "apps/a-b/kustomization.yml": kustomize("y.yaml"),
    "apps/a-b/y.yaml": release("a-b-listed"),
    "apps/z/deep/kustomization.yaml": kustomize("w.yaml"),
    "apps/z/deep/w.yaml": release("z-deep"),
    "apps/z/deep/nested/kustomization.yaml": kustomize("v.yaml"),
    "apps/z/deep/nested/v.yaml": release("z-deep-nested-unreached"),
  };
  const cluster: Tree = {
    "clusters/prod/flux-system/gotk-sync.yaml": `${gitRepository("flux-system", "ssh://git@github.com/acme/fleet")}---\n${kustomization("flux-system", "./clusters/prod")}`,
    "clusters/prod/apps.yaml": kustomization("apps", "./apps"),
  };

  it("adds a generated folder's YAML files in path order, then its outermost kustomization folders in folder order", () => {
    const graph = fluxGraph(model({ ...cluster, ...apps }));
    expect(listed(graph.objects)).toEqual([
      "prod|Kustomization apps|clusters/prod/apps.yaml",
      "prod|GitRepository flux-system|clusters/prod/flux-system/gotk-sync.yaml",
      "prod|Kustomization flux-system|clusters/prod/flux-system/gotk-sync.yaml",
      "prod|HelmRelease b-c-x|apps/b-c/x.yaml",
      "prod|HelmRelease b|apps/b.yaml",
      "prod|HelmRelease b-c|apps/b/c.yaml",
      "prod|HelmRelease d|apps/plain/deeper/d.yml",
      "prod|HelmRelease a-b-listed|apps/a-b/y.yaml",
      "prod|HelmRelease a-listed|apps/a/listed.yaml",
      "prod|HelmRelease a-generated|apps/a/generated/g.yaml",
      "prod|HelmRelease a-generated-inner|apps/a/generated/inner/i.yaml",
      "prod|HelmRelease z-deep|apps/z/deep/w.yaml",
      // What no cluster applies comes last, in the tree's file order.
      "|HelmRelease a-inside-unreached|apps/a/inside/k.yaml",
      "|HelmRelease z-deep-nested-unreached|apps/z/deep/nested/v.yaml",
      "|HelmRelease a-b-unlisted|apps/a-b/z.yaml",
      "|HelmRelease a-generated-inner-unlisted|apps/a/generated/inner/not-listed.yaml",
      "|HelmRelease a-unlisted|apps/a/unlisted.yaml",
    ]);
    const appsKustomization = graph.kustomizations.find((object) => object.ref.name === "apps")!;
    expect(graph.appliedFiles(appsKustomization)).toEqual([
      "apps/b-c/x.yaml",
      "apps/b.yaml",
      "apps/b/c.yaml",
      "apps/plain/deeper/d.yml",
      "apps/a-b/kustomization.yml",
      "apps/a-b/y.yaml",
      "apps/a/kustomization.yaml",
      "apps/a/listed.yaml",
      "apps/a/generated/g.yaml",
      "apps/a/generated/inner/Kustomization",
      "apps/a/generated/inner/i.yaml",
      "apps/z/deep/kustomization.yaml",
      "apps/z/deep/w.yaml",
    ]);
  });

  it("generates the cluster folder itself the same way, nested kustomization folders added whole", () => {
    const graph = fluxGraph(model({ ...cluster, "clusters/prod/infra/kustomization.yaml": kustomize("one.yaml"), "clusters/prod/infra/one.yaml": release("one"), "clusters/prod/infra/two.yaml": release("two"), "clusters/prod/loose/three.yaml": release("three") }));
    expect(listed(graph.objects)).toEqual([
      "prod|Kustomization apps|clusters/prod/apps.yaml",
      "prod|GitRepository flux-system|clusters/prod/flux-system/gotk-sync.yaml",
      "prod|Kustomization flux-system|clusters/prod/flux-system/gotk-sync.yaml",
      "prod|HelmRelease three|clusters/prod/loose/three.yaml",
      "prod|HelmRelease one|clusters/prod/infra/one.yaml",
      "|HelmRelease two|clusters/prod/infra/two.yaml",
    ]);
  });

  it("generates the repository root for a Kustomization of path ./, without walking into kustomization folders", () => {
    const graph = fluxGraph(model({ ...cluster, "clusters/prod/apps.yaml": kustomization("everything", "./"), ...apps }));
    const everything = graph.kustomizations.find((object) => object.ref.name === "everything")!;
    expect(graph.appliedFiles(everything)).toEqual([
      "apps/b-c/x.yaml",
      "apps/b.yaml",
      "apps/b/c.yaml",
      "apps/plain/deeper/d.yml",
      "clusters/prod/apps.yaml",
      "clusters/prod/flux-system/gotk-sync.yaml",
      "apps/a-b/kustomization.yml",
      "apps/a-b/y.yaml",
      "apps/a/kustomization.yaml",
      "apps/a/listed.yaml",
      "apps/a/generated/g.yaml",
      "apps/a/generated/inner/Kustomization",
      "apps/a/generated/inner/i.yaml",
      "apps/z/deep/kustomization.yaml",
      "apps/z/deep/w.yaml",
    ]);
  });

  it("holds nothing for a Kustomization path that is a file or no folder", () => {
    const graph = fluxGraph(model({ ...cluster, "clusters/prod/apps.yaml": `${kustomization("file", "./apps/b.yaml")}---\n${kustomization("absent", "./apps/absent")}`, ...apps }));
    expect(graph.kustomizations.map((object) => `${object.ref.name}: ${graph.appliedFiles(object).join(", ")}`)).toEqual([
      "file: ",
      "absent: ",
      "flux-system: clusters/prod/apps.yaml, clusters/prod/flux-system/gotk-sync.yaml",
    ]);
  });

  it("applies a folder once per cluster however many Kustomizations name it, each listing its files", () => {
    const graph = fluxGraph(model({ ...cluster, "clusters/prod/apps.yaml": `${kustomization("apps", "./apps")}---\n${kustomization("again", "./apps/")}`, ...apps }));
    expect(graph.kustomizations.map((object) => `${object.ref.name}: ${graph.appliedFiles(object).length} files`)).toEqual(["apps: 13 files", "again: 13 files", "flux-system: 2 files"]);
    expect(graph.appliedFiles(graph.kustomizations[1]!)).toEqual(graph.appliedFiles(graph.kustomizations[0]!));
    expect(listed(graph.objects).filter((line) => line.startsWith("prod|HelmRelease"))).toHaveLength(9);
  });

  it("takes each cluster's own sync from its own folder, the first flux-system GitRepository there", () => {
    const other = "ssh://git@github.com/acme/other";
    const fleet = "ssh://git@github.com/acme/fleet";
    const graph = fluxGraph(
      model({
        // A Kustomization reads this repository through another GitRepository naming the same URL and branch as the cluster's sync.
        "clusters/prod/apps.yaml": `${gitRepository("mirror", fleet)}---\n${kustomization("apps", "./apps/prod", "mirror")}`,
        "clusters/prod/flux-system/gotk-sync.yaml": gitRepository("flux-system", fleet),
        "clusters/prod/zz-second-sync.yaml": gitRepository("flux-system", other),
        "clusters/prod-2/apps.yaml": `${gitRepository("mirror", fleet)}---\n${kustomization("apps", "./apps/prod-2", "mirror")}`,
        "clusters/prod-2/flux-system/gotk-sync.yaml": gitRepository("flux-system", other),
        "clusters/prod-3/apps.yaml": `${gitRepository("mirror", fleet)}---\n${kustomization("apps", "./apps/prod-3", "mirror")}`,
        "clusters/sync-of-prod-3.yaml": gitRepository("flux-system", fleet),
        "apps/prod/a.yaml": release("prod-app"),
        "apps/prod-2/a.yaml": release("prod-2-app"),
        "apps/prod-3/a.yaml": release("prod-3-app"),
      }),
    );
    // In the tree's folder order: clusters/prod-2/ holds the first file.
    expect(graph.clusters).toEqual(["prod-2", "prod-3", "prod"]);
    expect(graph.kustomizations.map((object) => `${object.cluster}: ${graph.readsThisRepository(object)}`)).toEqual(["prod-2: false", "prod-3: false", "prod: true"]);
    expect(graph.objects.filter((object) => object.ref.kind === "HelmRelease").map((object) => `${object.cluster}|${object.ref.name}`)).toEqual(["prod|prod-app", "|prod-2-app", "|prod-3-app"]);
  });
});
