// What a GitRepository of this repository puts in its artifact besides ignore rules: a sparse checkout keeps only
// some folders (go-git's prefix match, checked by source-controller), and `include` copies in another repository's
// files, which fleet-warden cannot see: builds that read them are not run, and say so.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fluxPathExists } from "../../rules/flux-path-exists.js";
import { kustomizeBuild } from "../../rules/kustomize-build.js";
import { podPrivileged } from "../../rules/pod-privileged.js";
import { gitRepositoryTree } from "../../src/core/build/tree.js";
import { FleetModel } from "../../src/core/fleet.js";
import type { Build } from "../../src/core/types.js";
import { buildChange, configMap, evaluateTrees, fluxKustomization, treeDir } from "./helpers.js";

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

  it("rebuilds what it reads when spec.ignore, sparseCheckout or include changes (and as it was, applied meanwhile), and nothing otherwise", async () => {
    const asItWas = ["flux-system/infra (clusters/prod) with GitRepository flux-system/flux-system as it was", true];
    expect(await build("  ignore: |\n    /infra/\n")).toEqual([["flux-system/infra (clusters/prod)", false], asItWas]);
    expect(await build("  sparseCheckout:\n    - clusters\n")).toEqual([["flux-system/infra (clusters/prod)", false], asItWas]);
    // Rules that leave out nothing the build reads make the same build: not run twice.
    expect(await build("  sparseCheckout:\n    - infra\n")).toEqual([["flux-system/infra (clusters/prod)", true]]);
    expect(await build("  include:\n    - repository:\n        name: infra\n")).toEqual([["flux-system/infra (clusters/prod)", false], asItWas]);
    expect(await build("  timeout: 2m\n")).toEqual([]);
  });

  it("rebuilds what it reads when a change makes it fail (the last file a sparseCheckout entry names is deleted)", async () => {
    const sparse = {
      ...base,
      "clusters/prod/flux-system/gotk-sync.yaml": gitRepository("  sparseCheckout:\n    - clusters\n    - infra\n    - apps\n"),
      "clusters/prod/apps.yaml": fluxKustomization("apps", { path: "./apps" }),
      "apps/a.yaml": configMap("a"),
    };
    const result = await buildChange(sparse, { "infra/c.yaml": null, "clusters/prod/infra.yaml": null });
    expect(result.head.map((built) => [built.report.name, built.report.ok, built.issues[0]?.message])).toEqual([
      [
        "flux-system/apps (clusters/prod)",
        false,
        `spec.sourceRef: the GitRepository flux-system/flux-system fails: its spec.sparseCheckout entry "infra" names nothing in the repository (source-controller: "sparse checkout dir 'infra' does not exist"), so the Kustomization fails.`,
      ],
    ]);
  });
});

describe("spec.include", () => {
  const otherRepository = (name: string, url: string) =>
    gitRepository("").replace("name: flux-system\n", `name: ${name}\n`).replace("ssh://git@github.com/acme/fleet", url);
  const include = (name: string, extra = "") => `    - repository:\n        name: ${name}\n${extra}`;
  const privileged = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: miner\nspec:\n  containers:\n    - name: miner\n      image: busybox:1.36\n      securityContext:\n        privileged: true\n";
  /** flux-system including another repository's GitRepository `shared` at `toPath`. */
  const includingShared = (toPath: string) => ({
    "clusters/prod/flux-system/gotk-sync.yaml": gitRepository(`  include:\n${include("shared", `      toPath: ${toPath}\n`)}`),
    "clusters/prod/flux-system/shared.yaml": otherRepository("shared", "https://github.com/acme/shared.git"),
  });
  /** flux-system including `fleet-copy`, a GitRepository of this repository on the same branch. */
  const includingThisRepository = (fromAndTo: string, copy = otherRepository("fleet-copy", "https://github.com/acme/fleet.git")) => ({
    "clusters/prod/flux-system/gotk-sync.yaml": gitRepository(`  include:\n${include("fleet-copy", fromAndTo)}`),
    "clusters/prod/flux-system/fleet-copy.yaml": copy,
  });

  it("copies in an include of this repository at the same revision, as Flux does, and judges what it renders", async () => {
    const fleet = {
      ...includingThisRepository("      fromPath: shared/base\n      toPath: apps/vendor\n"),
      "clusters/prod/apps.yaml": fluxKustomization("apps", { path: "./apps" }),
      "apps/kustomization.yaml": "resources:\n  - local.yaml\n  - vendor\n",
      "apps/local.yaml": configMap("local"),
      "shared/base/kustomization.yaml": "resources:\n  - pod.yaml\n",
      "shared/base/pod.yaml": privileged,
    };
    const result = await buildChange({}, fleet);
    const apps = only(result.head, "flux-system/apps (clusters/prod)");
    expect(apps?.report.ok).toBe(true);
    expect(apps?.objects.map((object) => [object.ref.name, object.source?.path])).toEqual([
      ["local", "apps/local.yaml"],
      ["miner", "shared/base/pod.yaml"],
    ]);
    const verdict = await evaluateTrees({}, fleet, [kustomizeBuild, podPrivileged]);
    expect(verdict.findings.map((finding) => [finding.rule, finding.path, finding.line])).toEqual([["pod-privileged", "shared/base/pod.yaml", 10]]);
  });

  it("builds from what the included GitRepository served before the change too: its new ignore rule applies only later", async () => {
    const fleet = {
      ...includingThisRepository("      fromPath: shared/base\n      toPath: apps/vendor\n"),
      "clusters/prod/apps.yaml": fluxKustomization("apps", { path: "./apps" }),
      "apps/local.yaml": configMap("local"),
      "shared/base/config.yaml": configMap("shared"),
    };
    const hidden = otherRepository("fleet-copy", "https://github.com/acme/fleet.git") + "  ignore: /shared/base/pod.yaml\n";
    const verdict = await evaluateTrees(fleet, { "shared/base/pod.yaml": privileged, "clusters/prod/flux-system/fleet-copy.yaml": hidden }, [kustomizeBuild, podPrivileged]);
    expect(verdict.findings.map((finding) => [finding.rule, finding.path, finding.build])).toEqual([
      ["pod-privileged", "shared/base/pod.yaml", "flux-system/apps (clusters/prod) with GitRepository flux-system/flux-system as it was"],
    ]);
  });

  const cannotJudge = (name: string, reason: string) =>
    `flux-system/${name} (clusters/prod) cannot be judged: ${reason}, and fleet-warden sees only the files of the commit under review, so nothing Flux applies from this build is reviewed here. If that is intended, a platform owner can accept it with fleet-warden.io/ignore: kustomize-build on this Kustomization.`;

  it("keeps what an included copy of this repository cannot see unseen where it lands", async () => {
    const fleet = {
      ...includingThisRepository(
        "      fromPath: shared\n      toPath: apps/vendor\n",
        otherRepository("fleet-copy", "https://github.com/acme/fleet.git").replace("    branch: main\n", `    branch: main\n  include:\n${include("other", "      toPath: shared/ext\n")}`),
      ),
      "clusters/prod/apps.yaml": fluxKustomization("apps", { path: "./apps" }),
      "apps/kustomization.yaml": "resources:\n  - vendor/base\n  - vendor/ext/base\n",
      "shared/base/kustomization.yaml": "resources:\n  - config.yaml\n",
      "shared/base/config.yaml": configMap("shared"),
    };
    const result = await buildChange({}, fleet);
    expect(result.head.flatMap((build) => build.issues.map((issue) => issue.message))).toEqual([
      cannotJudge("apps", "it reads apps/vendor/ext/base, which GitRepository flux-system/other copies in (spec.include to apps/vendor/ext)"),
    ]);
  });

  const fleet = {
    "clusters/prod/flux-system/gotk-sync.yaml": gitRepository(`  include:\n${include("shared", "      fromPath: deploy\n      toPath: vendor/shared\n")}${include("charts")}`),
    "clusters/prod/flux-system/shared.yaml": otherRepository("shared", "https://github.com/acme/shared.git"),
    "clusters/prod/flux-system/charts.yaml": otherRepository("charts", "https://github.com/acme/charts.git"),
    // Entirely another repository's files.
    "clusters/prod/vendored.yaml": fluxKustomization("vendored", { path: "./vendor/shared/app" }),
    // This repository's overlay on another repository's base, with a remote base next to it.
    "clusters/prod/apps.yaml": fluxKustomization("apps", { path: "./apps" }),
    "apps/kustomization.yaml": "resources:\n  - local.yaml\n  - ../vendor/shared/base\n  - https://github.com/evil/payload//deploy?ref=main\n",
    "apps/local.yaml": configMap("local"),
    // Under the default toPath, the included repository's name.
    "clusters/prod/charts.yaml": fluxKustomization("charts", { path: "./charts" }),
    // Above an included folder, with the kustomization Flux generates: it would list the included files.
    "clusters/prod/vendor.yaml": fluxKustomization("vendor", { path: "./vendor" }),
    // Nothing included.
    "clusters/prod/infra.yaml": fluxKustomization("infra", { path: "./infra" }),
    "infra/c.yaml": configMap("c"),
  };

  it("does not build what reads another repository's included files: a finding on the head, refusals kept; builds the rest", async () => {
    const result = await buildChange({}, fleet);
    expect(result.head.map((build) => [build.report.name, build.report.ok])).toEqual([
      ["flux-system/apps (clusters/prod)", false],
      ["flux-system/charts (clusters/prod)", false],
      ["flux-system/infra (clusters/prod)", true],
      ["flux-system/vendor (clusters/prod)", false],
      ["flux-system/vendored (clusters/prod)", false],
      // The same folder as a plain kustomization: not built either, and judged through the Kustomization above.
      ["apps", false],
    ]);
    expect(result.head.flatMap((build) => build.issues.map((issue) => [issue.path, issue.line, issue.message]))).toEqual([
      ["apps/kustomization.yaml", 4, 'resources entry "https://github.com/evil/payload//deploy?ref=main": a remote resource; fleet-warden never fetches remote bases (Flux refuses them too when kustomize-controller runs with --no-remote-bases=true).'],
      ["clusters/prod/apps.yaml", 11, cannotJudge("apps", "it reads vendor/shared/base, which GitRepository flux-system/shared copies in (spec.include to vendor/shared)")],
      ["clusters/prod/charts.yaml", 11, cannotJudge("charts", "its spec.path ./charts reads charts, which GitRepository flux-system/charts copies in (spec.include)")],
      ["clusters/prod/vendor.yaml", 11, cannotJudge("vendor", "its spec.path ./vendor reads vendor/shared, which GitRepository flux-system/shared copies in (spec.include)")],
      ["clusters/prod/vendored.yaml", 11, cannotJudge("vendored", "its spec.path ./vendor/shared/app reads vendor/shared, which GitRepository flux-system/shared copies in (spec.include)")],
      // The plain kustomization apps refuses the same entry (one finding: the same line and message).
      ["apps/kustomization.yaml", 4, 'resources entry "https://github.com/evil/payload//deploy?ref=main": a remote resource; fleet-warden never fetches remote bases (Flux refuses them too when kustomize-controller runs with --no-remote-bases=true).'],
    ]);
    // On the base, the same builds are not run either, and carry no such finding: on the head it always counts.
    const unchanged = await buildChange(fleet, { "apps/local.yaml": configMap("local-2") });
    expect(unchanged.base.map((build) => [build.report.name, build.report.ok, build.issues.length])).toEqual([
      ["flux-system/apps (clusters/prod)", false, 1],
      ["apps", false, 1],
    ]);
  });

  it("is accepted by an exception on the Kustomization", async () => {
    const annotated = fluxKustomization("vendored", { path: "./vendor/shared/app" }).replace(
      "  namespace: flux-system\n",
      "  namespace: flux-system\n  annotations:\n    fleet-warden.io/ignore: kustomize-build\n    fleet-warden.io/ignore-reason: the shared repository is reviewed where it lives\n",
    );
    const excepted = { ...fleet, "clusters/prod/vendored.yaml": annotated };
    const verdict = await evaluateTrees(excepted, { "clusters/prod/vendored.yaml": annotated.replace("interval: 10m", "interval: 5m") }, [kustomizeBuild]);
    expect(verdict.findings).toEqual([]);
    expect(verdict.ignored.map((ignored) => [ignored.finding.path, ignored.reason])).toEqual([["clusters/prod/vendored.yaml", "the shared repository is reviewed where it lives"]]);
  });

  it("builds and judges a side that no longer reads included files, whatever the other side did", async () => {
    const head = { "apps/kustomization.yaml": "resources:\n  - local.yaml\n  - miner.yaml\n", "apps/miner.yaml": privileged };
    const verdict = await evaluateTrees(fleet, head, [kustomizeBuild, podPrivileged]);
    expect(verdict.findings.map((finding) => [finding.rule, finding.path, finding.line])).toEqual([["pod-privileged", "apps/miner.yaml", 10]]);
    expect(verdict.renderedDiff.find((diff) => diff.build === "flux-system/apps (clusters/prod)")).toBeUndefined();
  });

  const sourceFails = (reason: string) => `spec.sourceRef: the GitRepository flux-system/flux-system fails: ${reason}, so the Kustomization fails.`;

  it("fails the GitRepository when it copies onto a folder the checkout holds, onto the root, or a folder onto or below a file", async () => {
    const infraIssues = async (toPath: string, fromPath = "") => {
      const result = await buildChange({}, { ...fleet, "clusters/prod/flux-system/gotk-sync.yaml": gitRepository(`  include:\n${include("shared", `${fromPath ? `      fromPath: ${fromPath}\n` : ""}      toPath: ${toPath}\n`)}`) });
      return only(result.head, "flux-system/infra (clusters/prod)")?.issues.map((issue) => issue.message);
    };
    // Another repository's fromPath may be a file, which replaces the checkout's: left unseen, not failed.
    expect(await infraIssues("infra/c.yaml", "deploy/c.yaml")).toEqual([
      cannotJudge("infra", "its spec.path ./infra reads infra/c.yaml, which GitRepository flux-system/shared copies in (spec.include)"),
    ]);
    // All of its artifact is a folder: os.Rename cannot move it onto a file.
    expect(await infraIssues("infra/c.yaml")).toEqual([
      sourceFails("its spec.include of GitRepository flux-system/shared copies a folder to infra/c.yaml, which the checkout already holds, and source-controller cannot copy onto it"),
    ]);
    expect(await infraIssues("infra/c.yaml/vendor", "deploy/c.yaml")).toEqual([
      sourceFails("its spec.include of GitRepository flux-system/shared copies to infra/c.yaml/vendor, below infra/c.yaml, which the checkout already holds as a file, and source-controller cannot make a folder there"),
    ]);
    for (const toPath of ["infra", ".", "./"]) {
      expect(await infraIssues(toPath)).toEqual([
        sourceFails(`its spec.include of GitRepository flux-system/shared copies to ${toPath.startsWith(".") ? "." : toPath}, which the checkout already holds, and source-controller cannot copy onto it`),
      ]);
    }
  });

  it("judges what it can see below a Kustomization that cannot be judged, even once that is waived", async () => {
    const platform = {
      ...includingShared("apps/shared"),
      // Flux generates apps' kustomization: it lists apps/shared's files too.
      "clusters/prod/apps.yaml": fluxKustomization("apps", { path: "./apps" }),
      "apps/web/kustomization.yaml": "resources:\n  - ../shared/base\n",
    };
    const verdict = await evaluateTrees(platform, { "apps/miner/kustomization.yaml": "resources:\n  - pod.yaml\n", "apps/miner/pod.yaml": privileged }, [kustomizeBuild, podPrivileged]);
    expect(verdict.findings.map((finding) => [finding.rule, finding.path, finding.line])).toEqual([
      ["kustomize-build", "clusters/prod/apps.yaml", 11],
      ["pod-privileged", "apps/miner/pod.yaml", 10],
    ]);
    // apps/web reads the included folder: built alone it is not run either, rather than failing on a missing folder.
    expect(verdict.builds.map((build) => [build.name, build.ok])).toEqual([
      ["flux-system/apps (clusters/prod)", false],
      ["apps/miner", true],
    ]);
  });

  it("judges a folder that a kustomization which cannot be judged lists, once it is waived too", async () => {
    const waived = fluxKustomization("apps", { path: "./apps" }).replace(
      "  namespace: flux-system\n",
      "  namespace: flux-system\n  annotations:\n    fleet-warden.io/ignore: kustomize-build\n    fleet-warden.io/ignore-reason: shared base reviewed upstream\n",
    );
    const platform = {
      ...includingShared("apps/shared"),
      "clusters/prod/apps.yaml": waived,
      "apps/kustomization.yaml": "resources:\n  - shared/base\n  - web\n",
      "apps/web/kustomization.yaml": "resources:\n  - pod.yaml\n",
      "apps/web/pod.yaml": privileged.replace("privileged: true", "privileged: false"),
    };
    // Only a build sees it: an inline patch in the kustomization, no object file changed.
    const patched = "resources:\n  - pod.yaml\npatches:\n  - target:\n      kind: Pod\n    patch: |\n      - op: replace\n        path: /spec/containers/0/securityContext/privileged\n        value: true\n";
    const verdict = await evaluateTrees(platform, { "apps/web/kustomization.yaml": patched }, [kustomizeBuild, podPrivileged]);
    expect(verdict.findings.map((finding) => [finding.rule, finding.path])).toEqual([["pod-privileged", "apps/web/kustomization.yaml"]]);
    expect(verdict.ignored.map((ignored) => ignored.finding.path)).toEqual(["clusters/prod/apps.yaml"]);
  });

  it("is read by Flux's generated kustomization only down to a folder with its own kustomization", async () => {
    const fleet = {
      ...includingShared("apps/web/vendor"),
      "clusters/prod/apps.yaml": fluxKustomization("apps", { path: "./apps" }),
      "apps/web/kustomization.yaml": "resources:\n  - config.yaml\n",
      "apps/web/config.yaml": configMap("web"),
    };
    const result = await buildChange({}, fleet);
    expect(result.head.map((build) => [build.report.name, build.report.ok, names(build)])).toEqual([["flux-system/apps (clusters/prod)", true, ["web"]]]);
  });

  it("replaces a file with an included file, as source-controller's move does", async () => {
    const fleet = {
      ...includingThisRepository("      fromPath: shared/config.yaml\n      toPath: apps/config.yaml\n"),
      "clusters/prod/apps.yaml": fluxKustomization("apps", { path: "./apps" }),
      "apps/config.yaml": configMap("mine"),
      "shared/config.yaml": configMap("shared"),
    };
    const result = await buildChange({}, fleet);
    expect(result.head.map((build) => [build.report.name, build.report.ok, names(build)])).toEqual([["flux-system/apps (clusters/prod)", true, ["shared"]]]);
  });

  it("leaves included folders, and folders above them, to the build in flux-path-exists", async () => {
    const verdict = await evaluateTrees({}, fleet, [fluxPathExists]);
    expect(verdict.findings).toEqual([]);
    const without = await evaluateTrees({}, { ...fleet, "clusters/prod/flux-system/gotk-sync.yaml": gitRepository("") }, [fluxPathExists]);
    expect(without.findings.map((finding) => finding.path).sort()).toEqual(["clusters/prod/charts.yaml", "clusters/prod/vendor.yaml", "clusters/prod/vendored.yaml"]);
  });

  describe("in order, as source-controller copies each include in turn", () => {
    const thisRepository = (name: string, spec = "") => gitRepository(spec).replace("name: flux-system\n", `name: ${name}\n`).replace("ssh://git@github.com/acme/fleet", "https://github.com/acme/fleet.git");
    const library = {
      "clusters/prod/flux-system/fleet-a.yaml": thisRepository("fleet-a"),
      "clusters/prod/flux-system/fleet-b.yaml": thisRepository("fleet-b"),
      "clusters/prod/flux-system/shared.yaml": otherRepository("shared", "https://github.com/acme/shared.git"),
      "clusters/prod/vendor.yaml": fluxKustomization("vendor", { path: "./vendor" }),
      "lib/one/config.yaml": configMap("one"),
      "lib/two/config.yaml": configMap("two"),
      "lib/file.yaml": configMap("file"),
      "lib/other.yaml": configMap("other"),
      // Every file of it is ignored (*.png), the folder itself is not.
      "lib/images/diagram.png": "not an image\n",
    };
    /** What Flux builds at ./vendor when flux-system includes `[repository, fromPath, toPath]` in this order: the names it renders, or its issues. */
    const vendor = async (entries: [string, string, string][], files: Record<string, string> = {}) => {
      const includes = entries.map(([name, from, to]) => include(name, `${from ? `      fromPath: ${from}\n` : ""}      toPath: ${to}\n`)).join("");
      const result = await buildChange({}, { ...library, ...files, "clusters/prod/flux-system/gotk-sync.yaml": gitRepository(`  include:\n${includes}`) });
      const build = only(result.head, "flux-system/vendor (clusters/prod)");
      return build?.report.ok ? names(build) : build?.issues.map((issue) => issue.message);
    };
    const ontoFolder = (later: string, to: string, earlier: string) =>
      sourceFails(`its spec.include of GitRepository flux-system/${later} copies to ${to}, which its spec.include of GitRepository flux-system/${earlier} already put there, and source-controller cannot copy onto it`);

    it("copies a fromPath folder whose every file is ignored as the empty folder the artifact holds, and fails one it does not hold", async () => {
      expect(await vendor([["fleet-a", "lib/one", "vendor"], ["fleet-b", "lib/images", "vendor/images"]])).toEqual(["one"]);
      // The empty folder is there: a later include cannot be moved onto it.
      expect(await vendor([["fleet-b", "lib/images", "vendor/images"], ["fleet-a", "lib/two", "vendor/images"]])).toEqual([ontoFolder("fleet-a", "vendor/images", "fleet-b")]);
      const notHeld = (from: string) => [sourceFails(`its spec.include of GitRepository flux-system/fleet-b copies fromPath ${from}, which that artifact does not hold`)];
      expect(await vendor([["fleet-a", "lib/one", "vendor"], ["fleet-b", "lib/missing", "vendor/images"]])).toEqual(notHeld("lib/missing"));
      // A folder its ignore rules match is not archived at all.
      const ignoringImages = { "clusters/prod/flux-system/fleet-b.yaml": thisRepository("fleet-b", "  ignore: |\n    lib/images/\n") };
      expect(await vendor([["fleet-a", "lib/one", "vendor"], ["fleet-b", "lib/images", "vendor/images"]], ignoringImages)).toEqual(notHeld("lib/images"));
      // What the included copy itself cannot see (another repository's include) may hold it: unseen, not failed.
      const includingShared = { "clusters/prod/flux-system/fleet-b.yaml": thisRepository("fleet-b", `  include:\n${include("shared", "      toPath: lib/shared\n")}`) };
      expect(await vendor([["fleet-a", "lib/one", "vendor"], ["fleet-b", "lib/shared/base", "vendor/base"]], includingShared)).toEqual([
        cannotJudge("vendor", "its spec.path ./vendor reads vendor/base, which GitRepository flux-system/shared copies in (spec.include)"),
      ]);
    });

    it("copies a later include into a folder an earlier one made, and fails one onto any folder an include made, as os.Rename does", async () => {
      expect(await vendor([["fleet-a", "lib/one", "vendor"], ["fleet-b", "lib/two", "vendor/nested"]])).toEqual(["one", "two"]);
      expect(await vendor([["fleet-a", "lib", "vendor"], ["fleet-b", "lib/two", "vendor/one"]])).toEqual([ontoFolder("fleet-b", "vendor/one", "fleet-a")]);
      // The earlier include made vendor to hold vendor/nested.
      expect(await vendor([["fleet-a", "lib/two", "vendor/nested"], ["fleet-b", "lib/one", "vendor"]])).toEqual([ontoFolder("fleet-b", "vendor", "fleet-a")]);
      expect(await vendor([["fleet-a", "lib/one", "vendor"], ["fleet-b", "lib/two", "vendor"]])).toEqual([ontoFolder("fleet-b", "vendor", "fleet-a")]);
      // Whatever another repository holds, an include below it made vendor.
      expect(await vendor([["shared", "", "vendor/nested"], ["fleet-a", "lib/one", "vendor"]])).toEqual([ontoFolder("fleet-a", "vendor", "shared")]);
    });

    it("replaces an earlier include's file with a later one, and fails a folder onto it or an include below it", async () => {
      expect(await vendor([["fleet-a", "lib/file.yaml", "vendor/config.yaml"], ["fleet-b", "lib/other.yaml", "vendor/config.yaml"]])).toEqual(["other"]);
      expect(await vendor([["fleet-a", "lib/file.yaml", "vendor/x.yaml"], ["fleet-b", "lib/one", "vendor/x.yaml"]])).toEqual([
        sourceFails("its spec.include of GitRepository flux-system/fleet-b copies a folder to vendor/x.yaml, which its spec.include of GitRepository flux-system/fleet-a already put there, and source-controller cannot copy onto it"),
      ]);
      expect(await vendor([["fleet-a", "lib/file.yaml", "vendor/x.yaml"], ["fleet-b", "lib/other.yaml", "vendor/x.yaml/y.yaml"]])).toEqual([
        sourceFails("its spec.include of GitRepository flux-system/fleet-b copies to vendor/x.yaml/y.yaml, below vendor/x.yaml, which its spec.include of GitRepository flux-system/fleet-a already put there as a file, and source-controller cannot make a folder there"),
      ]);
      // Another repository's fromPath may be a file: a later file replaces it, or does not, unseen either way.
      expect(await vendor([["shared", "deploy/x.yaml", "vendor/x.yaml"], ["fleet-a", "lib/file.yaml", "vendor/x.yaml"]])).toEqual([
        cannotJudge("vendor", "its spec.path ./vendor reads vendor/x.yaml, which GitRepository flux-system/shared copies in (spec.include)"),
      ]);
    });
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
      `flux-system/apps (clusters/prod) reads the ExternalArtifact flux-system/apps, which is not built: ArtifactGenerator flux-system/flux-system, artifact apps: copy source "@monorepo/apps/**" may read apps/shared, which GitRepository flux-system/shared provides (spec.include), and fleet-warden sees only the files of the commit under review.`,
    ]);
    const elsewhere = await buildChange({}, fleet("  include:\n    - repository:\n        name: shared\n      toPath: vendor\n", "@monorepo/apps/**"));
    expect(only(elsewhere.head, "flux-system/apps (clusters/prod)")?.report.ok).toBe(true);
  });

  it("copies to a destination written with a leading slash (`@artifact//w/`) inside the artifact, as source-watcher joins it", async () => {
    const twice = generator("@monorepo/apps/**").replace('to: "@artifact/"\n', 'to: "@artifact/"\n        - from: "@monorepo/apps/a.yaml"\n          to: "@artifact//w/"\n');
    const result = await buildChange({}, { ...fleet("", "@monorepo/apps/**"), "clusters/prod/artifacts.yaml": twice, "apps/kustomization.yaml": "resources:\n  - a.yaml\n  - w/a.yaml\n" });
    expect(only(result.head, "flux-system/apps (clusters/prod)")?.report.error).toMatch(/^accumulating resources: .*'w\/a\.yaml'.*may not add resource with an already registered id: ConfigMap\.v1\.\[noGrp\]\/a/);
  });

  it("copies nothing from a GitRepository of this repository that follows another revision", async () => {
    const pinned = gitRepository("").replace("    branch: main\n", "    tag: v0.0.1\n").replace("name: flux-system\n  namespace", "name: pinned\n  namespace");
    const result = await buildChange({}, { ...fleet("", "@monorepo/apps/**"), "clusters/prod/artifacts.yaml": generator("@monorepo/apps/**").replace("name: flux-system\n  artifacts", "name: pinned\n  artifacts"), "clusters/prod/pinned.yaml": pinned });
    expect(result.head).toEqual([]);
    expect(result.notes).toEqual([
      `flux-system/apps (clusters/prod) reads the ExternalArtifact flux-system/apps, which is not built: ArtifactGenerator flux-system/flux-system, artifact apps: copy source "@monorepo/apps/**" is not this repository at the commit under review (only GitRepository sources of this repository on its branch are emulated).`,
    ]);
  });

  it("is built as the ArtifactGenerator generated it before the change too: its new copy patterns apply only later", async () => {
    const privileged = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: miner\nspec:\n  containers:\n    - name: miner\n      image: busybox:1.36\n      securityContext:\n        privileged: true\n";
    const before = fleet("", "@monorepo/apps/**");
    const verdict = await evaluateTrees(before, { "apps/miner.yaml": privileged, "clusters/prod/artifacts.yaml": generator("@monorepo/apps/a.yaml") }, [kustomizeBuild, podPrivileged]);
    expect(verdict.findings.map((finding) => [finding.rule, finding.path, finding.build])).toEqual([
      ["pod-privileged", "apps/miner.yaml", "flux-system/apps (clusters/prod) with the ExternalArtifact flux-system/apps generated as it was"],
    ]);
  });

  it("rebuilds the Kustomization on the artifact when the GitRepository's spec changes, and from the sources as they were", async () => {
    const before = fleet("", "@monorepo/apps/**");
    const result = await buildChange(before, { "clusters/prod/flux-system/gotk-sync.yaml": gitRepository("  ignore: |\n    /apps/a.yaml\n") });
    // Until the new spec is applied, source-controller serves the merged commit without the ignore rule: the artifact as it was.
    expect(result.head.map((build) => [build.report.name, build.report.ok, build.objects.length])).toEqual([
      ["flux-system/apps (clusters/prod)", false, 0],
      ["flux-system/apps (clusters/prod) with the ExternalArtifact flux-system/apps generated as it was", true, 1],
    ]);
    expect(result.base.map((build) => [build.report.name, build.objects.length])).toEqual([["flux-system/apps (clusters/prod)", 1]]);
  });
});

describe("the ignore rules source-controller archives with", () => {
  const files = {
    "apps/ok.yaml": configMap("ok"),
    "apps/cloudbuild.yaml": "steps: []\n",
    "apps/logo.png": "png",
    "apps/.gitignore": "*.tmp\n",
    ".github/workflows/ci.yaml": "on: push\n",
  };
  const pathsWith = (extra: Record<string, string>, ignore?: string) => gitRepositoryTree(new FleetModel(treeDir({ ...files, ...extra })), ignore === undefined ? {} : { ignore }).paths;

  it("are read from a .sourceignore as bytes, as source-controller reads them: in UTF-16 its patterns match nothing", () => {
    const dir = treeDir(files);
    writeFileSync(join(dir, ".sourceignore"), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("apps/ok.yaml\n", "utf16le")]));
    expect(gitRepositoryTree(new FleetModel(dir)).paths).toContain("apps/ok.yaml");
  });

  it("drop Flux's default ignores, but for the VCS ones, once a .sourceignore anywhere or spec.ignore writes a pattern", () => {
    const defaultsOnly = ["apps/ok.yaml"];
    expect(pathsWith({})).toEqual(defaultsOnly);
    // Comments and blank lines are no pattern (fluxcd/pkg/sourceignore ReadPatterns).
    expect(pathsWith({ "docs/.sourceignore": "# nothing\n\n" }, "# nothing either\n")).toEqual(["apps/ok.yaml", "docs/.sourceignore"]);
    const vcsOnly = [".github/workflows/ci.yaml", "apps/cloudbuild.yaml", "apps/logo.png", "apps/ok.yaml"];
    expect(pathsWith({ "docs/.sourceignore": "/nothing/\n" })).toEqual([...vcsOnly, "docs/.sourceignore"]);
    expect(pathsWith({}, "/nothing/\n")).toEqual(vcsOnly);
  });

  it("fail a Flux build on a file the defaults no longer leave out", async () => {
    const build = async (extra: Record<string, string>) => {
      const result = await buildChange({}, { "clusters/prod/flux-system/gotk-sync.yaml": gitRepository(""), "clusters/prod/apps.yaml": fluxKustomization("apps", { path: "./apps" }), ...files, ...extra });
      return only(result.head, "flux-system/apps (clusters/prod)")?.issues.map((issue) => [issue.path, issue.message]);
    };
    expect(await build({})).toEqual([]);
    const failure = (by: string) => [
      [
        "apps/cloudbuild.yaml",
        `apps/cloudbuild.yaml is not a Kubernetes manifest (a document without apiVersion and kind), and Flux generates a kustomization listing every YAML file under apps: the build fails. Move the file out of the folder or exclude it with .sourceignore. Flux's default ignores would leave it out, but ${by} writes an ignore pattern, and then they are off.`,
      ],
    ];
    // The message names what turned the defaults off: the first file, in source-controller's order, to write a pattern.
    expect(await build({ "docs/.sourceignore": "# nothing\n", "team/.sourceignore": "/docs/\n", "zoo/.sourceignore": "x\n" })).toEqual(failure("team/.sourceignore"));
    expect(await build({ "clusters/prod/flux-system/gotk-sync.yaml": gitRepository("  ignore: /docs/\n") })).toEqual(failure("the GitRepository's spec.ignore"));
  });

  it("fail a Flux build whose folder they empty, saying that Flux applies nothing from it", async () => {
    const build = async (prune: boolean, ignore: string) => {
      const fleet = { "clusters/prod/flux-system/gotk-sync.yaml": gitRepository(""), "clusters/prod/apps.yaml": fluxKustomization("apps", { path: "./apps", prune }), "apps/ok.yaml": configMap("ok") };
      const result = await buildChange({}, { ...fleet, ".sourceignore": ignore });
      return only(result.head, "flux-system/apps (clusters/prod)")?.issues.map((issue) => `${issue.rule} ${issue.path}:${issue.line} ${issue.message}`);
    };
    const empty = `spec.path "./apps" holds no file of the Flux source (.sourceignore or the GitRepository's spec.ignore leaves out every file under it): Flux applies nothing from it`;
    expect(await build(true, "apps/*.yaml\n")).toEqual([`kustomize-build clusters/prod/apps.yaml:11 ${empty}, and with prune: true it deletes everything it applied before.`]);
    expect(await build(false, "apps/*.yaml\n")).toEqual([`kustomize-build clusters/prod/apps.yaml:11 ${empty}.`]);
    // An ignored folder is not in the artifact at all.
    expect((await build(true, "/apps/\n"))?.[0]).toContain('spec.path "./apps" is not a folder of the Flux source');
  });

  it("are read a folder's own .sourceignore first, then its sub-folders' in name order, the last match winning", () => {
    const tree = gitRepositoryTree(
      new FleetModel(
        treeDir({
          "apps/ok.yaml": configMap("ok"),
          "apps/.sourceignore": "extra.yaml\n",
          // "-x" sorts before ".sourceignore" as a string, but Flux reads apps/.sourceignore first all the same.
          "apps/-x/.sourceignore": "!extra.yaml\n",
          "apps/-x/extra.yaml": configMap("kept"),
          "apps/x/extra.yaml": configMap("ignored"),
        }),
      ),
    );
    expect(tree.paths).toEqual(["apps/-x/.sourceignore", "apps/-x/extra.yaml", "apps/.sourceignore", "apps/ok.yaml"]);
  });
});

describe("spec.include through the checkout", () => {
  const thisRepository = (name: string) =>
    gitRepository("").replace("name: flux-system\n", `name: ${name}\n`).replace("ssh://git@github.com/acme/fleet", "https://github.com/acme/fleet.git");
  const privileged = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: miner\nspec:\n  containers:\n    - name: miner\n      image: busybox:1.36\n      securityContext:\n        privileged: true\n";
  const fleet = (fromPath: string, toPath: string) => ({
    "clusters/prod/flux-system/gotk-sync.yaml": gitRepository(`  include:\n    - repository:\n        name: fleet-a\n      fromPath: ${fromPath}\n      toPath: ${toPath}\n`),
    "clusters/prod/flux-system/fleet-a.yaml": thisRepository("fleet-a"),
    "clusters/prod/apps.yaml": fluxKustomization("apps", { path: "./apps" }),
    "apps/ok.yaml": configMap("ok"),
    "lib/pod.yaml": privileged,
  });
  const sourceFails = (reason: string) => `spec.sourceRef: the GitRepository flux-system/flux-system fails: ${reason}, so the Kustomization fails.`;
  const link = (path: string, target: string) => ({ path, kind: "symlink" as const, target });

  it("fails onto .git, the folder go-git keeps in the checkout", async () => {
    const result = await buildChange({}, fleet("apps", ".git"));
    expect(only(result.head, "flux-system/apps (clusters/prod)")?.issues.map((issue) => issue.message)).toEqual([
      sourceFails("its spec.include of GitRepository flux-system/fleet-a copies to .git, which the checkout already holds, and source-controller cannot copy onto it"),
    ]);
  });

  it("lands where a symbolic link of the checkout points, as securejoin resolves it (relative, absolute, above the root)", async () => {
    for (const target of ["apps", "/apps", "../../apps", "./other/../apps"]) {
      const result = await buildChange({}, fleet("lib", "vendor/x"), { specialFiles: [link("vendor", target)] });
      const apps = only(result.head, "flux-system/apps (clusters/prod)");
      expect(apps?.report.ok).toBe(true);
      expect(apps?.objects.map((object) => [object.ref.name, object.source?.path])).toEqual([
        ["ok", "apps/ok.yaml"],
        ["miner", "lib/pod.yaml"],
      ]);
    }
    // Without the link, the copy lands in vendor/x, which ./apps does not read.
    const plain = await buildChange({}, fleet("lib", "vendor/x"));
    expect(names(only(plain.head, "flux-system/apps (clusters/prod)"))).toEqual(["ok"]);
  });

  it("fails onto a folder a link names, or through a loop of links", async () => {
    const onto = await buildChange({}, fleet("lib", "vendor"), { specialFiles: [link("vendor", "apps")] });
    expect(only(onto.head, "flux-system/apps (clusters/prod)")?.issues.map((issue) => issue.message)).toEqual([
      sourceFails("its spec.include of GitRepository flux-system/fleet-a copies to apps (its toPath vendor goes through the symbolic link vendor), which the checkout already holds, and source-controller cannot copy onto it"),
    ]);
    const loop = await buildChange({}, fleet("lib", "a/x"), { specialFiles: [link("a", "b"), link("b", "a")] });
    expect(only(loop.head, "flux-system/apps (clusters/prod)")?.issues.map((issue) => issue.message)).toEqual([
      sourceFails(
        "its spec.include of GitRepository flux-system/fleet-a copies to a/x, which goes through more than 255 symbolic links or resolves to a path longer than 4096 bytes, and source-controller cannot resolve it",
      ),
    ]);
    // A link to a path longer than Linux allows: Lstat fails with ENAMETOOLONG, at once, whatever the depth.
    const model = new FleetModel(treeDir(fleet("lib", "vendor/x")));
    const includes = [{ path: "vendor/x", toPath: "vendor/x", from: "lib", source: "GitRepository flux-system/fleet-a", namespace: "flux-system", name: "fleet-a", tree: gitRepositoryTree(model) }];
    expect(gitRepositoryTree(model, { includes }, [link("vendor", "x/".repeat(2048))]).fails).toContain("longer than 4096 bytes");
    expect(gitRepositoryTree(model, { includes }, [link("vendor", "x/".repeat(2000))]).fails).toBeUndefined();
  });

  it("counts the links it follows among what shapes the tree, and checks links out as a sparse checkout does", () => {
    const model = new FleetModel(treeDir(fleet("lib", "vendor/x")));
    const includes = [{ path: "vendor/x", toPath: "vendor/x", from: "lib", source: "GitRepository flux-system/fleet-a", namespace: "flux-system", name: "fleet-a", tree: gitRepositoryTree(model) }];
    const tree = gitRepositoryTree(model, { includes }, [link("vendor", "apps"), link("unused", "apps")]);
    expect(tree.paths).toContain("apps/x/pod.yaml");
    expect(tree.definitionPaths).toEqual(["vendor"]);
    // A sparse checkout leaves the link out: the copy lands in vendor/x.
    expect(gitRepositoryTree(model, { includes, sparseCheckout: ["apps", "clusters", "lib"] }, [link("vendor", "apps")]).paths).toContain("vendor/x/pod.yaml");
    // A sparse entry naming a link names something: source-controller's os.Lstat finds it.
    expect(gitRepositoryTree(model, { sparseCheckout: ["vendor", "apps"] }, [link("vendor", "apps")]).fails).toBeUndefined();
    expect(gitRepositoryTree(model, { sparseCheckout: ["vendor", "apps"] }).fails).toContain(`entry "vendor" names nothing`);
  });

  it("maps a folder whose first file an include replaced back through one of its own files", async () => {
    const result = await buildChange({}, {
      ...fleet("lib/kustomization.yaml", "apps/kustomization.yaml"),
      "apps/kustomization.yaml": "resources:\n  - unused.yaml\n",
      "apps/unused.yaml": configMap("not-deployed"),
      "apps/used.yaml": configMap("deployed"),
      "lib/kustomization.yaml": "resources:\n  - used.yaml\n",
    });
    expect(only(result.head, "flux-system/apps (clusters/prod)")?.report).toEqual({ name: "flux-system/apps (clusters/prod)", path: "apps", ok: true, objects: 1 });
    expect(names(only(result.head, "flux-system/apps (clusters/prod)"))).toEqual(["deployed"]);
    // apps/ is what Flux builds: not a plain root rendering the repository's own apps/kustomization.yaml; nor is lib/,
    // whose kustomization Flux reads as apps'.
    expect(result.head.map((build) => build.report.name)).toEqual(["flux-system/apps (clusters/prod)"]);
  });
});
