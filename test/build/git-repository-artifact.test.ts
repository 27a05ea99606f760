// What a GitRepository of this repository puts in its artifact besides ignore rules: a sparse checkout keeps only
// some folders (go-git's prefix match, checked by source-controller), and `include` copies in another repository's
// files, which fleet-warden cannot see: builds that read them are not run, and say so.
import { describe, expect, it } from "vitest";
import { fluxPathExists } from "../../rules/flux-path-exists.js";
import type { Build } from "../../src/core/types.js";
import { buildChange, configMap, evaluateTrees, fluxKustomization } from "./helpers.js";

const only = (builds: Build[], name: string) => builds.find((build) => build.report.name === name);
const names = (build: Build | undefined) => build?.objects.map((object) => object.ref.name).sort();

const gitRepository = (spec: string) =>
  `apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 1m\n  url: ssh://git@github.com/acme/fleet\n  ref:\n    branch: main\n${spec}`;

describe("spec.sparseCheckout", () => {
  const fleet = (sparse: string) => ({
    "clusters/prod/flux-system/gotk-sync.yaml": gitRepository(`  sparseCheckout:\n${sparse}`),
    "clusters/prod/apps.yaml": fluxKustomization("apps", { path: "./apps" }),
    "clusters/prod/infra.yaml": fluxKustomization("infra", { path: "./infra" }),
    "apps/a.yaml": configMap("a"),
    "apps/skipped/b.yaml": configMap("b"),
    "infra/c.yaml": configMap("c"),
    // Outside the checkout: go-git never writes it, so its rule does not apply.
    ".sourceignore": "apps/skipped/\n",
  });

  it("builds from the folders checked out, where a .sourceignore outside them does not apply", async () => {
    const result = await buildChange({}, fleet("    - ./apps\n    - clusters\n"));
    expect(only(result.head, "flux-system/apps (clusters/prod)")?.report.ok).toBe(true);
    expect(names(only(result.head, "flux-system/apps (clusters/prod)"))).toEqual(["a", "b"]);
    const infra = only(result.head, "flux-system/infra (clusters/prod)");
    expect(infra?.report.ok).toBe(false);
    expect(infra?.issues.map((issue) => issue.message)).toEqual([
      `spec.path "./infra" is not a folder of the Flux source (it does not exist, or .sourceignore or the GitRepository's spec.sparseCheckout leaves it out), so the Kustomization fails to build.`,
    ]);
  });

  it("keeps every path an entry starts, as go-git does, and fails the source when an entry names nothing", async () => {
    // `ap` keeps apps/ (a prefix), but source-controller then finds no `ap` in the checkout.
    const result = await buildChange({}, fleet("    - ap\n    - infra\n"));
    for (const name of ["flux-system/apps (clusters/prod)", "flux-system/infra (clusters/prod)"]) {
      expect(only(result.head, name)?.issues.map((issue) => [issue.path, issue.line, issue.message])).toEqual([
        [
          "clusters/prod/" + (name.includes("apps") ? "apps" : "infra") + ".yaml",
          8,
          `spec.sourceRef: the GitRepository flux-system/flux-system fails: its spec.sparseCheckout entry "ap" names nothing in the repository (source-controller: "sparse checkout dir 'ap' does not exist"), so the Kustomization fails.`,
        ],
      ]);
    }
    const prefixOnly = await buildChange({}, fleet("    - ap\n    - apps\n"));
    expect(only(prefixOnly.head, "flux-system/apps (clusters/prod)")?.issues[0]?.message).toContain(`entry "ap" names nothing`);
  });

  it("is flagged by flux-path-exists for every Kustomization whose folder it leaves out", async () => {
    const verdict = await evaluateTrees({}, fleet("    - apps\n    - clusters/\n"), [fluxPathExists]);
    expect(verdict.findings.filter((finding) => finding.rule === "flux-path-exists").map((finding) => [finding.path, finding.message])).toEqual([
      [
        "clusters/prod/infra.yaml",
        "Kustomization flux-system/infra: spec.path ./infra is outside the spec.sparseCheckout of GitRepository flux-system/flux-system, so Flux's artifact leaves it out; Flux fails to build the Kustomization and stops reconciling it.",
      ],
    ]);
  });
});

describe("a change to the GitRepository", () => {
  const base = {
    "clusters/prod/flux-system/gotk-sync.yaml": gitRepository(""),
    "clusters/prod/infra.yaml": fluxKustomization("infra", { path: "./infra" }),
    "infra/c.yaml": configMap("c"),
  };
  const build = async (spec: string) => {
    const result = await buildChange(base, { "clusters/prod/flux-system/gotk-sync.yaml": gitRepository(spec) });
    return result.head.map((built) => [built.report.name, built.report.ok]);
  };

  it("rebuilds what it reads when spec.ignore, sparseCheckout or include changes, and nothing otherwise", async () => {
    expect(await build("  ignore: |\n    /infra/\n")).toEqual([["flux-system/infra (clusters/prod)", false]]);
    expect(await build("  sparseCheckout:\n    - clusters\n")).toEqual([["flux-system/infra (clusters/prod)", false]]);
    expect(await build("  sparseCheckout:\n    - infra\n")).toEqual([["flux-system/infra (clusters/prod)", true]]);
    expect(await build("  timeout: 2m\n")).toEqual([]);
  });
});

describe("spec.include", () => {
  const fleet = {
    "clusters/prod/flux-system/gotk-sync.yaml": gitRepository("  include:\n    - repository:\n        name: shared\n      fromPath: deploy\n      toPath: vendor/shared\n    - repository:\n        name: charts\n"),
    // Entirely another repository's files.
    "clusters/prod/vendored.yaml": fluxKustomization("vendored", { path: "./vendor/shared/app" }),
    // This repository's overlay on another repository's base.
    "clusters/prod/apps.yaml": fluxKustomization("apps", { path: "./apps" }),
    "apps/kustomization.yaml": "resources:\n  - local.yaml\n  - ../vendor/shared/base\n",
    "apps/local.yaml": configMap("local"),
    // Under the default toPath, the included repository's name.
    "clusters/prod/charts.yaml": fluxKustomization("charts", { path: "./charts" }),
    // Nothing included.
    "clusters/prod/infra.yaml": fluxKustomization("infra", { path: "./infra" }),
    "infra/c.yaml": configMap("c"),
  };

  it("does not build what reads included files, says why, and builds the rest", async () => {
    const result = await buildChange({}, fleet);
    expect(result.head.map((build) => build.report.name)).toEqual(["flux-system/infra (clusters/prod)"]);
    expect(result.head[0]?.report.ok).toBe(true);
    expect(result.notes.filter((note) => note.includes("is not built"))).toEqual([
      "flux-system/apps (clusters/prod) is not built: vendor/shared/base is in vendor/shared, which GitRepository flux-system/shared provides (spec.include), and fleet-warden cannot see another repository's files.",
      "flux-system/charts (clusters/prod) is not built: spec.path ./charts reads charts, which GitRepository flux-system/charts provides (spec.include), and fleet-warden cannot see another repository's files.",
      "flux-system/vendored (clusters/prod) is not built: spec.path ./vendor/shared/app reads vendor/shared, which GitRepository flux-system/shared provides (spec.include), and fleet-warden cannot see another repository's files.",
    ]);
  });

  it("fails nothing for folders the include provides", async () => {
    const verdict = await evaluateTrees({}, fleet, [fluxPathExists]);
    expect(verdict.conclusion).toBe("success");
    expect(verdict.findings).toEqual([]);
    // Without the include, the same paths are missing.
    const without = await evaluateTrees({}, { ...fleet, "clusters/prod/flux-system/gotk-sync.yaml": gitRepository("") }, [fluxPathExists]);
    expect(without.findings.map((finding) => finding.path).sort()).toEqual(["clusters/prod/charts.yaml", "clusters/prod/vendored.yaml"]);
    expect(without.builds.find((build) => build.name === "flux-system/apps (clusters/prod)")?.error).toContain("vendor/shared/base does not exist in the repository");
  });
});

describe("an ArtifactGenerator copying from such a GitRepository", () => {
  const generator = (from: string) =>
    `apiVersion: source.extensions.fluxcd.io/v1beta1\nkind: ArtifactGenerator\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  sources:\n    - alias: monorepo\n      kind: GitRepository\n      name: flux-system\n  artifacts:\n    - name: apps\n      copy:\n        - from: "${from}"\n          to: "@artifact/"\n`;
  const fleet = (spec: string, from: string) => ({
    "clusters/prod/flux-system/gotk-sync.yaml": gitRepository(spec),
    "clusters/prod/artifacts.yaml": generator(from),
    "clusters/prod/apps.yaml": fluxKustomization("apps", { path: "./", sourceRef: { kind: "ExternalArtifact", name: "apps" } }),
    "apps/a.yaml": configMap("a"),
  });

  it("fails when the GitRepository fails, and is not built when it copies included files", async () => {
    const failing = await buildChange({}, fleet("  sparseCheckout:\n    - nothing-here\n", "@monorepo/apps/**"));
    expect(only(failing.head, "flux-system/apps (clusters/prod)")?.issues.map((issue) => issue.message)).toEqual([
      `spec.sourceRef: the ExternalArtifact flux-system/apps is never produced (ArtifactGenerator flux-system/flux-system, artifact apps: the GitRepository of copy source "@monorepo/apps/**" fails: its spec.sparseCheckout entry "nothing-here" names nothing in the repository (source-controller: "sparse checkout dir 'nothing-here' does not exist")), so the Kustomization fails.`,
    ]);
    const included = await buildChange({}, fleet("  include:\n    - repository:\n        name: shared\n      toPath: apps/shared\n", "@monorepo/apps/**"));
    expect(included.head).toEqual([]);
    expect(included.notes).toEqual([
      `flux-system/apps (clusters/prod) reads the ExternalArtifact flux-system/apps, which is not built: ArtifactGenerator flux-system/flux-system, artifact apps: copy source "@monorepo/apps/**" may read apps/shared, which GitRepository flux-system/shared provides (spec.include), and fleet-warden cannot see another repository's files.`,
    ]);
    const elsewhere = await buildChange({}, fleet("  include:\n    - repository:\n        name: shared\n      toPath: vendor\n", "@monorepo/apps/**"));
    expect(only(elsewhere.head, "flux-system/apps (clusters/prod)")?.report.ok).toBe(true);
  });
});
