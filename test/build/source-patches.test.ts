// A GitRepository is what the build that deploys it renders: a parent Kustomization whose overlay (or spec.patches,
// or namespace) reshapes a GitRepository decides what Flux fetches through it, for every Kustomization of the
// cluster that reads it, not only the ones that parent deploys.
import { describe, expect, it } from "vitest";
import { kustomizeBuild } from "../../rules/kustomize-build.js";
import type { Build } from "../../src/core/types.js";
import { buildChange, configMap, evaluateTrees, fluxKustomization, recordingEngine } from "./helpers.js";

const gitRepository = (name: string, namespace: string, extra = "") =>
  `apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\nspec:\n  interval: 1m\n  url: ssh://git@github.com/acme/fleet\n  ref:\n    branch: main\n${extra}`;

/** A kustomization listing `lib.yaml` with these extra fields (patches, namespace...). */
const sourcesKustomization = (extra = "") => `resources:\n  - lib.yaml\n${extra}`;
const jsonPatch = (operations: string) => `patches:\n  - target:\n      kind: GitRepository\n      name: lib\n    patch: |-\n${operations}`;
const toTag = jsonPatch("      - op: replace\n        path: /spec/ref\n        value:\n          tag: v0.0.1-evil\n");

/**
 * The Kustomization team/team reads the GitRepository team/lib, which another parent, flux-system/sources, deploys
 * from team-sources/ (its kustomization given here).
 */
const fleet = (sources: string, sourcesSpec: Record<string, unknown> = {}) => ({
  "clusters/prod/flux-system/gotk-sync.yaml": gitRepository("flux-system", "flux-system"),
  "clusters/prod/team.yaml": fluxKustomization("team", { path: "./lib", sourceRef: { kind: "GitRepository", name: "lib" } }, "team"),
  "clusters/prod/sources.yaml": fluxKustomization("sources", { path: "./team-sources", ...sourcesSpec }),
  "team-sources/lib.yaml": gitRepository("lib", "team"),
  "team-sources/kustomization.yaml": sources,
  "lib/kustomization.yaml": "resources:\n  - a.yaml\n  - b.yaml\n",
  "lib/a.yaml": configMap("a"),
  "lib/b.yaml": configMap("b"),
});

const TEAM = "team/team (clusters/prod)";
const only = (builds: Build[], name: string) => builds.find((build) => build.report.name === name);
const objectNames = (build: Build | undefined) => build?.objects.map((object) => object.ref.name);

describe("a GitRepository reshaped by the parent that deploys it", () => {
  it("reads another revision when that parent's overlay patches its ref to a tag: the other parent's Kustomization is a note, not a build", async () => {
    const result = await buildChange({}, fleet(sourcesKustomization(toTag)));
    expect(only(result.head, TEAM)).toBeUndefined();
    expect(result.notes).toEqual([`${TEAM} reads tag v0.0.1-evil of this repository, not the commit under review: it is not built.`]);
  });

  it("reads another revision when the parent's spec.patches patch its ref", async () => {
    const patches = [{ target: { kind: "GitRepository", name: "lib" }, patch: "- op: replace\n  path: /spec/ref\n  value:\n    tag: v0.0.1-evil\n" }];
    const result = await buildChange({}, fleet(sourcesKustomization(), { patches }));
    expect(only(result.head, TEAM)).toBeUndefined();
    expect(result.notes).toEqual([`${TEAM} reads tag v0.0.1-evil of this repository, not the commit under review: it is not built.`]);
  });

  it("reads another repository when a strategic-merge patch of that parent changes its url: nothing is built from this one", async () => {
    const toOther = "patches:\n  - patch: |-\n      apiVersion: source.toolkit.fluxcd.io/v1\n      kind: GitRepository\n      metadata:\n        name: lib\n        namespace: team\n      spec:\n        url: https://github.com/evil/fleet\n";
    const result = await buildChange({}, fleet(sourcesKustomization(toOther)));
    expect(result.head.map((build) => build.report.name)).toEqual(["flux-system/sources (clusters/prod)", "lib"]);
    expect(result.notes).toEqual([]);
  });

  it("reads this commit when the parent patches a pinned ref onto the fleet's branch: the Kustomization is built", async () => {
    const toMain = jsonPatch("      - op: replace\n        path: /spec/ref\n        value:\n          branch: main\n");
    const result = await buildChange({}, { ...fleet(sourcesKustomization(toMain)), "team-sources/lib.yaml": gitRepository("lib", "team").replace("branch: main", "tag: v1.0.0") });
    expect(objectNames(only(result.head, TEAM))).toEqual(["a", "b"]);
    expect(result.notes).toEqual([]);
  });

  it("is read as rendered when the parent that patches it is itself deployed by a parent", async () => {
    const result = await buildChange({}, {
      ...fleet(sourcesKustomization(toTag)),
      "clusters/prod/sources.yaml": fluxKustomization("platform", { path: "./platform" }),
      "platform/sources.yaml": fluxKustomization("sources", { path: "./team-sources" }),
    });
    expect(only(result.head, TEAM)).toBeUndefined();
    expect(result.notes).toEqual([`${TEAM} reads tag v0.0.1-evil of this repository, not the commit under review: it is not built.`]);
  });

  it("is read in the namespace the parent moves it to, before one written there", async () => {
    // team/lib as written follows main, but Flux applies the tag-pinned lib that the parent moves into team.
    const result = await buildChange({}, {
      ...fleet("resources:\n  - pinned.yaml\nnamespace: team\n"),
      "team-sources/pinned.yaml": gitRepository("lib", "elsewhere").replace("branch: main", "tag: v1.0.0"),
    });
    expect(only(result.head, TEAM)).toBeUndefined();
    expect(result.notes).toEqual([`${TEAM} reads tag v1.0.0 of this repository, not the commit under review: it is not built.`]);
  });

  it("builds from what the patched spec.ignore leaves, as Flux does: here a file the kustomization lists is gone", async () => {
    const ignore = jsonPatch("      - op: add\n        path: /spec/ignore\n        value: /lib/b.yaml\n");
    const result = await buildChange({}, fleet(sourcesKustomization(ignore)));
    const team = only(result.head, TEAM);
    expect(team?.report.ok).toBe(false);
    expect(team?.issues.map((issue) => [issue.path, issue.line, issue.message])).toEqual([
      [
        "lib/kustomization.yaml",
        3,
        `resources entry "b.yaml": lib/b.yaml is left out of the Flux source (by .sourceignore, spec.ignore, Flux's default ignores or spec.sparseCheckout), so the build fails.`,
      ],
    ]);
  });

  it("does not judge a folder that a patched spec.include fills from another repository", async () => {
    const include = jsonPatch("      - op: add\n        path: /spec/include\n        value:\n          - repository:\n              name: shared\n            toPath: lib/vendor\n");
    const verdict = await evaluateTrees({}, { ...fleet(sourcesKustomization(include)), "lib/kustomization.yaml": "resources:\n  - a.yaml\n  - vendor\n" }, [kustomizeBuild]);
    expect(verdict.findings.filter((finding) => finding.message.startsWith(TEAM)).map((finding) => [finding.path, finding.line, finding.message])).toEqual([
      [
        "clusters/prod/team.yaml",
        8,
        `${TEAM} cannot be judged: it reads lib/vendor, which GitRepository team/shared copies in (spec.include to lib/vendor), and fleet-warden cannot see another repository's files, so nothing Flux applies from this build is reviewed here. If that is intended, a platform owner can accept it with fleet-warden.io/ignore: kustomize-build on this Kustomization.`,
      ],
    ]);
  });

  it("does not copy in this repository's files through an include the other parent pins to a tag", async () => {
    const including = gitRepository("app", "team", "  include:\n    - repository:\n        name: lib\n      fromPath: lib\n      toPath: app/vendor\n");
    const verdict = await evaluateTrees({}, {
      ...fleet(sourcesKustomization(toTag)),
      "clusters/prod/team.yaml": `${fluxKustomization("team", { path: "./app", sourceRef: { kind: "GitRepository", name: "app" } }, "team")}---\n${including}`,
      "app/kustomization.yaml": "resources:\n  - vendor\n",
    }, [kustomizeBuild]);
    expect(verdict.findings.filter((finding) => finding.message.startsWith(TEAM)).map((finding) => [finding.path, finding.line, finding.message])).toEqual([
      [
        "clusters/prod/team.yaml",
        8,
        `${TEAM} cannot be judged: it reads app/vendor, which GitRepository team/lib copies in (spec.include to app/vendor), and fleet-warden cannot see another repository's files, so nothing Flux applies from this build is reviewed here. If that is intended, a platform owner can accept it with fleet-warden.io/ignore: kustomize-build on this Kustomization.`,
      ],
    ]);
  });

  it("builds as before when the parent leaves the GitRepository as written", async () => {
    const result = await buildChange({}, fleet(sourcesKustomization()));
    expect(only(result.head, TEAM)?.report.ok).toBe(true);
    expect(objectNames(only(result.head, TEAM))).toEqual(["a", "b"]);
    expect(result.notes).toEqual([]);
  });

  describe("on a change to what the Kustomization reads", () => {
    const change = { "lib/a.yaml": configMap("a", { key: "changed" }) };
    const parentRuns = async (sources: string) => {
      const engine = recordingEngine();
      const result = await buildChange(fleet(sources), change, { engine });
      return { result, runs: engine.runs.filter((folder) => folder.endsWith("/team-sources")).length };
    };

    it("reads a parent that deploys its sources as written without building it", async () => {
      const { result, runs } = await parentRuns(sourcesKustomization());
      expect(objectNames(only(result.head, TEAM))).toEqual(["a", "b"]);
      expect(runs).toBe(0);
    });

    it("builds a parent that patches them once for both sides, and reads the patched source on each", async () => {
      const { result, runs } = await parentRuns(sourcesKustomization(toTag));
      expect([only(result.base, TEAM), only(result.head, TEAM)]).toEqual([undefined, undefined]);
      expect(result.notes).toEqual([`${TEAM} reads tag v0.0.1-evil of this repository, not the commit under review: it is not built.`]);
      expect(runs).toBe(1);
    });
  });

  it("builds as before when the patch changes only a field that decides nothing of what is fetched", async () => {
    const interval = jsonPatch("      - op: replace\n        path: /spec/interval\n        value: 5m\n");
    const result = await buildChange({}, fleet(sourcesKustomization(interval)));
    expect(objectNames(only(result.head, TEAM))).toEqual(["a", "b"]);
    expect(result.notes).toEqual([]);
  });
});
