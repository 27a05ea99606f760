// Several written copies of one GitRepository: a cluster reads the one its Kustomizations deploy.
import { describe, expect, it } from "vitest";
import { FleetModel } from "../../src/core/fleet.js";
import { hasRivalDefinitions } from "../../src/core/flux.js";
import type { BuildResult } from "../../src/core/build/index.js";
import { podPrivileged } from "../../rules/pod-privileged.js";
import { postbuildVariables } from "../../rules/postbuild-variables.js";
import { buildChange, configMap, deployment, evaluateTrees, fluxKustomization, treeDir } from "./helpers.js";

const gitRepository = (name: string, namespace: string, ref = "branch: main") =>
  `apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\nspec:\n  interval: 1m\n  url: ssh://git@github.com/acme/fleet\n  ref:\n    ${ref}\n`;

/** A GitRepository of this repository whose spec.ignore writes `pattern`. */
const ignoring = (pattern: string, name = "lib", namespace = "team", ref = "branch: main") => `${gitRepository(name, namespace, ref)}  ignore: ${pattern}\n`;

const TEAM = "team/team (clusters/prod)";
/** flux-system/sources deploys team/lib from team-sources/; team/team builds ./lib through it. */
const base = {
  "clusters/prod/flux-system/gotk-sync.yaml": gitRepository("flux-system", "flux-system"),
  "clusters/prod/sources.yaml": fluxKustomization("sources", { path: "./team-sources" }),
  "team-sources/kustomization.yaml": "resources:\n  - lib.yaml\n",
  "team-sources/lib.yaml": gitRepository("lib", "team"),
  "clusters/prod/team.yaml": fluxKustomization("team", { path: "./lib", sourceRef: { kind: "GitRepository", name: "lib" } }, "team"),
  "lib/a.yaml": configMap("a"),
};
/** Not a manifest: Flux's generated kustomization for ./lib fails on it, which only a build of team/team shows. */
const breaksTheBuild = { "lib/b.yaml": "just: text\n" };

const raced = (change: string) =>
  `team/team (clusters/prod) is built from its GitRepository team/lib as it was: the change to it (it ${change}) takes effect once a Kustomization applies it, and until then source-controller serves the merged commit through it.`;
const teamBuild = (result: BuildResult) => result.head.find((build) => build.report.name === TEAM);

describe("which copy of a GitRepository a cluster reads", () => {
  it("builds the change when nothing deploys the other copy", async () => {
    const alone = await buildChange(base, breaksTheBuild);
    expect(teamBuild(alone)?.report.ok).toBe(false);
    // A pinned copy in a folder no Kustomization deploys (first in path order) must not hide the failure.
    const decoyed = await buildChange(base, { ...breaksTheBuild, "attic/lib.yaml": gitRepository("lib", "team", "tag: v0.0.1") });
    expect(teamBuild(decoyed)?.report.ok).toBe(false);
    expect(decoyed.notes.join("\n")).not.toContain("tag v0.0.1");
  });

  it("honours the deployed copy's pin over an undeployed copy on the fleet's branch", async () => {
    const pinned = { ...base, "team-sources/lib.yaml": gitRepository("lib", "team", "tag: v1.0.0"), "attic/lib.yaml": gitRepository("lib", "team") };
    const result = await buildChange(pinned, breaksTheBuild);
    expect(teamBuild(result)).toBeUndefined();
    expect(result.notes).toContain("team/team (clusters/prod) reads tag v1.0.0 of this repository, not the commit under review: it is not built.");
  });

  it("builds a Kustomization when any copy the cluster deploys reads this commit, and says so", async () => {
    // The tenant's own folder deploys a copy pinned to a tag: Flux applies both copies in turn.
    const result = await buildChange(base, { ...breaksTheBuild, "lib/source.yaml": gitRepository("lib", "team", "tag: v0.0.1") });
    expect(teamBuild(result)?.report.ok).toBe(false);
    expect(result.notes).toEqual(["team/team (clusters/prod) reads the GitRepository team/lib, of which one copy reads tag v0.0.1 of this repository and another this commit: it is built."]);
  });

  // In the next two, the base holds the pinned copy already: the change only breaks the build.
  it("builds when a pinned copy is rendered beside the Kustomization and another parent deploys one on the branch", async () => {
    const fleet = {
      ...base,
      "clusters/prod/team.yaml": fluxKustomization("tenants", { path: "./tenants" }),
      "tenants/team/team.yaml": fluxKustomization("team", { path: "./lib", sourceRef: { kind: "GitRepository", name: "lib" } }, "team"),
      "tenants/team/lib.yaml": gitRepository("lib", "team", "tag: v0.0.1"),
    };
    const result = await buildChange(fleet, breaksTheBuild);
    expect(teamBuild(result)?.report.ok).toBe(false);
  });

  it("builds when the Kustomization deploying the source reads it too, whatever an undeployed copy says", async () => {
    const fleet = {
      "clusters/prod/flux-system/gotk-sync.yaml": gitRepository("flux-system", "flux-system"),
      "clusters/prod/team.yaml": fluxKustomization("team", { path: "./lib", sourceRef: { kind: "GitRepository", name: "lib" } }, "team"),
      "clusters/prod/lib-sources.yaml": fluxKustomization("lib-sources", { path: "./infra/lib-sources", sourceRef: { kind: "GitRepository", name: "lib" } }, "team"),
      "infra/lib-sources/lib.yaml": gitRepository("lib", "team"),
      "lib/a.yaml": configMap("a"),
      "attic/lib.yaml": gitRepository("lib", "team", "tag: v0.0.1"),
    };
    const result = await buildChange(fleet, breaksTheBuild);
    expect(teamBuild(result)?.report.ok).toBe(false);
  });

  it("takes a GitRepository patch for no copy of its own", async () => {
    const patched = {
      ...base,
      "team-sources/kustomization.yaml": "resources:\n  - lib.yaml\npatches:\n  - path: slower.yaml\n",
      "team-sources/slower.yaml": "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: lib\n  namespace: team\nspec:\n  interval: 10m\n",
    };
    const result = await buildChange(patched, breaksTheBuild);
    expect(teamBuild(result)?.report.ok).toBe(false);
    expect(result.notes).toEqual([]);
  });

  it("builds from a source the cluster deploys twice alike", async () => {
    const result = await buildChange(base, { "lib/source.yaml": gitRepository("lib", "team") });
    expect(teamBuild(result)?.report.ok).toBe(true);
    expect(teamBuild(result)?.objects.map((object) => object.ref.kind).sort()).toEqual(["ConfigMap", "GitRepository"]);
  });
});

describe("a source the change pins or suspends", () => {
  it("still serves the merged commit until the change is applied: what reads it is built", async () => {
    for (const pinned of [gitRepository("lib", "team", "tag: v0.0.1"), `${gitRepository("lib", "team")}  suspend: true\n`]) {
      const result = await buildChange(base, { ...breaksTheBuild, "team-sources/lib.yaml": pinned });
      expect(teamBuild(result)?.report.ok).toBe(false);
      expect(result.notes.join("\n")).toMatch(
        /^team\/team \(clusters\/prod\) is built from its GitRepository team\/lib as it was: the change to it \(it reads (tag v0\.0\.1 of this repository|its last artifact \(it is suspended\))\) takes effect once a Kustomization applies it, and until then source-controller serves the merged commit through it\.$/,
      );
    }
  });

  it("is built from the source as it was: its new ignore rules or URL take effect later too", async () => {
    // The pinned copy also ignores the broken file: until it is applied, Flux reads the merged commit without that rule.
    const hiding = ignoring("/lib/b.yaml", "lib", "team", "tag: v0.0.1");
    const result = await buildChange(base, { ...breaksTheBuild, "team-sources/lib.yaml": hiding });
    expect(teamBuild(result)?.report.ok).toBe(false);
    const moved = await buildChange(base, { ...breaksTheBuild, "team-sources/lib.yaml": gitRepository("lib", "team").replace("acme/fleet", "acme/elsewhere") });
    expect(teamBuild(moved)?.report.ok).toBe(false);
    expect(moved.notes).toEqual([raced("reads another repository")]);
    // So does a deletion.
    const deleted = await buildChange(base, { ...breaksTheBuild, "team-sources/lib.yaml": null });
    expect(teamBuild(deleted)?.report.ok).toBe(false);
    expect(deleted.notes).toEqual([raced("is deleted")]);
  });

  it("is built when no Kustomization of the base read it, and the change adds one that does", async () => {
    const result = await buildChange({ ...base, "clusters/prod/team.yaml": null }, { ...breaksTheBuild, "clusters/prod/team.yaml": base["clusters/prod/team.yaml"], "team-sources/lib.yaml": gitRepository("lib", "team", "tag: v0.0.1") });
    expect(teamBuild(result)?.report.ok).toBe(false);
  });

  it("is built when kustomize gives the source its namespace, or an overlay unpinned it on the base", async () => {
    const unnamespaced = (ref: string) => gitRepository("lib", "team", ref).replace("  namespace: team\n", "");
    const tenant: Record<string, string> = {
      ...base,
      "clusters/prod/team.yaml": fluxKustomization("tenants", { path: "./tenants" }),
      "tenants/team/kustomization.yaml": "namespace: team\nresources:\n  - lib.yaml\n  - team.yaml\n",
      "tenants/team/lib.yaml": unnamespaced("branch: main"),
      "tenants/team/team.yaml": fluxKustomization("team", { path: "./lib", sourceRef: { kind: "GitRepository", name: "lib" } }, "x").replace("  namespace: x\n", ""),
    };
    delete tenant["team-sources/lib.yaml"];
    expect(teamBuild(await buildChange(tenant, { ...breaksTheBuild, "tenants/team/lib.yaml": unnamespaced("tag: v0.0.1") }))?.report.ok).toBe(false);
    // On the base, the overlay's patch makes the pinned source follow main; the change drops the patch.
    const patch = "patches:\n  - target:\n      kind: GitRepository\n    patch: |\n      - op: replace\n        path: /spec/ref\n        value: {branch: main}\n";
    const unpinned = { ...tenant, "tenants/team/lib.yaml": unnamespaced("tag: v1.0.0"), "tenants/team/kustomization.yaml": `${tenant["tenants/team/kustomization.yaml"]}${patch}` };
    expect(teamBuild(await buildChange(unpinned, { ...breaksTheBuild, "tenants/team/kustomization.yaml": tenant["tenants/team/kustomization.yaml"]! }))?.report.ok).toBe(false);
  });

  it("is not taken for a change when the base had no such Kustomization", async () => {
    const env = (name: string, branch: string) => ({
      [`clusters/${name}/tenants.yaml`]: fluxKustomization("tenants", { path: `./tenants/${name}` }),
      [`tenants/${name}/lib.yaml`]: gitRepository("lib", "team", `branch: ${branch}`),
      [`tenants/${name}/team.yaml`]: fluxKustomization("team", { path: "./lib", sourceRef: { kind: "GitRepository", name: "lib" } }, "team"),
    });
    const prod = { "clusters/prod/flux-system/gotk-sync.yaml": gitRepository("flux-system", "flux-system"), ...env("prod", "main"), "lib/a.yaml": configMap("a"), ...breaksTheBuild };
    const added = await buildChange(prod, { "clusters/staging/flux-system/gotk-sync.yaml": gitRepository("flux-system", "flux-system"), ...env("staging", "staging") });
    expect(added.head.map((build) => build.report.name)).not.toContain("team/team (clusters/staging)");
    expect(added.notes).toContain("team/team (clusters/staging) reads branch staging of this repository, not the commit under review: it is not built.");
  });

  it("is not built when the base pinned it already", async () => {
    const pinned = { ...base, "team-sources/lib.yaml": gitRepository("lib", "team", "tag: v0.0.1") };
    const result = await buildChange(pinned, { ...breaksTheBuild, "team-sources/lib.yaml": gitRepository("lib", "team", "tag: v0.0.2") });
    expect(teamBuild(result)).toBeUndefined();
    expect(result.notes).toEqual(["team/team (clusters/prod) reads tag v0.0.2 of this repository, not the commit under review: it is not built."]);
  });
});

describe("what a GitRepository's ref reads", () => {
  const read = async (ref: string) => {
    const result = await buildChange({ ...base, "team-sources/lib.yaml": gitRepository("lib", "team", ref) }, breaksTheBuild);
    return teamBuild(result) ? "built" : result.notes.join("\n");
  };

  it("is the fleet's branch for an empty pin or the branch's own ref name, as source-controller's CheckoutStrategyForRef", async () => {
    expect(await read('branch: main\n    commit: ""')).toBe("built");
    expect(await read("branch: main\n    tag: ''")).toBe("built");
    expect(await read("name: refs/heads/main")).toBe("built");
    expect(await read("name: refs/tags/v1")).toBe("team/team (clusters/prod) reads name refs/tags/v1 of this repository, not the commit under review: it is not built.");
  });
});

describe("a GitRepository an overlay patches", () => {
  it("is one copy, as the parent renders it: the written one it came from is no other", async () => {
    const fleet = {
      "clusters/staging/flux-system/gotk-sync.yaml": gitRepository("flux-system", "flux-system"),
      "clusters/staging/tenants.yaml": fluxKustomization("tenants", { path: "./tenants/staging" }),
      "tenants/base/team/kustomization.yaml": "resources:\n  - lib.yaml\n  - team.yaml\n",
      "tenants/base/team/lib.yaml": gitRepository("lib", "team"),
      "tenants/base/team/team.yaml": fluxKustomization("team", { path: "./lib", sourceRef: { kind: "GitRepository", name: "lib" } }, "team"),
      "tenants/staging/kustomization.yaml": "resources:\n  - ../base/team\npatches:\n  - target:\n      kind: GitRepository\n      name: lib\n    patch: |\n      - op: replace\n        path: /spec/ref/branch\n        value: staging\n",
      "lib/a.yaml": configMap("a"),
    };
    const result = await buildChange(fleet, breaksTheBuild);
    expect(result.head.map((build) => build.report.name)).not.toContain("team/team (clusters/staging)");
    expect(result.notes).toEqual(["team/team (clusters/staging) reads branch staging of this repository, not the commit under review: it is not built."]);
  });
});

describe("a change that holds no manifest, where copies of a GitRepository compete", () => {
  it("finds what each cluster deploys all the same: its own folder's pinned copy counts no more than the others", async () => {
    const fleet = {
      ...base,
      "clusters/prod/team.yaml": fluxKustomization("tenants", { path: "./tenants" }),
      "tenants/team/team.yaml": fluxKustomization("team", { path: "./lib", sourceRef: { kind: "GitRepository", name: "lib" } }, "team"),
      "lib/kustomization.yaml": "resources:\n  - a.yaml\n  - cm.json\n  - source.yaml\n",
      "lib/source.yaml": gitRepository("lib", "team", "tag: v0.0.1"),
      "lib/cm.json": `${JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "j" } })}\n`,
    };
    const result = await buildChange(fleet, { "lib/cm.json": "[not, a, manifest]\n" });
    expect(result.head.map((build) => `${build.report.name} ${build.report.ok}`)).toEqual(["team/team (clusters/prod) false"]);
  });
});

describe("a GitRepository written in JSON", () => {
  it("is found where a kustomization lists it, and what reads it is built", async () => {
    const json = {
      apiVersion: "source.toolkit.fluxcd.io/v1",
      kind: "GitRepository",
      metadata: { name: "lib", namespace: "team" },
      spec: { interval: "1m", url: "ssh://git@github.com/acme/fleet", ref: { branch: "main" } },
    };
    const fleet = { ...base, "team-sources/kustomization.yaml": "resources:\n  - lib.json\n", "team-sources/lib.json": `${JSON.stringify(json)}\n` };
    delete (fleet as Record<string, string>)["team-sources/lib.yaml"];
    const result = await buildChange(fleet, breaksTheBuild);
    expect(teamBuild(result)?.report.ok).toBe(false);
  });
});

describe("hasRivalDefinitions", () => {
  const rivals = (tree: Record<string, string>) => hasRivalDefinitions(new FleetModel(treeDir(tree)));

  it("is false for clusters that each define their own copy", () => {
    expect(
      rivals({
        "clusters/a/flux-system/gotk-sync.yaml": gitRepository("flux-system", "flux-system"),
        "clusters/b/flux-system/gotk-sync.yaml": gitRepository("flux-system", "flux-system", "branch: b"),
      }),
    ).toBe(false);
  });

  it("is true for differing copies one cluster may read", () => {
    expect(rivals({ "clusters/a/lib.yaml": gitRepository("lib", "team"), "shared/lib.yaml": gitRepository("lib", "team", "tag: v1") })).toBe(true);
    expect(rivals({ "clusters/a/lib.yaml": gitRepository("lib", "team"), "clusters/a/x/lib.yaml": gitRepository("lib", "team", "tag: v1") })).toBe(true);
    expect(rivals({ "clusters/a/lib.yaml": gitRepository("lib", "team"), "shared/lib.yaml": gitRepository("lib", "team") })).toBe(false);
  });
});

describe("a Kustomization Flux may build from more than one artifact", () => {
  const AS_IT_WAS = `${TEAM} with GitRepository team/lib as it was`;
  const build = (result: BuildResult, name: string) => result.head.find((candidate) => candidate.report.name === name);

  it("is built with its source's old rules too when the change adds an ignore rule (applied only later)", async () => {
    const result = await buildChange(base, { ...breaksTheBuild, "team-sources/lib.yaml": ignoring("/lib/b.yaml") });
    // Once applied, the new rule leaves the file out; until then, the merged commit is served without it.
    expect(teamBuild(result)?.report.ok).toBe(true);
    expect(build(result, AS_IT_WAS)?.report).toMatchObject({ ok: false, variantOf: TEAM });
    expect(result.notes).toEqual([
      `${TEAM} is also built with GitRepository team/lib as it was: a change to a GitRepository's spec.ignore, sparseCheckout or include takes effect once a Kustomization applies it, and until then source-controller serves the merged commit with the rules it had.`,
    ]);
  });

  it("is built as every copy the cluster deployed was, not only the first", async () => {
    // The first copy leaves b.yaml out already; the change gives the second the same rule together with b.yaml.
    const fleet = {
      ...base,
      "team-sources/lib.yaml": ignoring("/lib/b.yaml"),
      "clusters/prod/more-sources.yaml": fluxKustomization("more-sources", { path: "./zz-sources" }),
      "zz-sources/lib.yaml": gitRepository("lib", "team"),
    };
    const result = await buildChange(fleet, { ...breaksTheBuild, "zz-sources/lib.yaml": ignoring("/lib/b.yaml") });
    expect(result.head.filter((candidate) => candidate.report.name.startsWith(TEAM)).map((candidate) => `${candidate.report.name} ${candidate.report.ok}`)).toEqual([
      `${TEAM} true`,
      `${AS_IT_WAS} (its copy 2) false`,
    ]);
    expect(result.notes).toContain(
      `${TEAM} is also built with GitRepository team/lib as it was (its copy 2): a change to a GitRepository's spec.ignore, sparseCheckout or include takes effect once a Kustomization applies it, and until then source-controller serves the merged commit with the rules it had.`,
    );
  });

  it("judges what the source as it was applies", async () => {
    const privileged = deployment("evil").replace(/(\n\s*)image: (.*)/, "$1image: $2$1securityContext:$1  privileged: true");
    const verdict = await evaluateTrees(base, { "lib/evil.yaml": privileged, "team-sources/lib.yaml": ignoring("/lib/evil.yaml") }, [podPrivileged]);
    expect(verdict.findings.map((finding) => `${finding.rule} ${finding.path} ${finding.build}`)).toEqual([`pod-privileged lib/evil.yaml ${AS_IT_WAS}`]);
  });

  it("names the Kustomization, not the build, in its findings: one the base had too stays pre-existing", async () => {
    const usesVariable = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  url: "https://${UNDEFINED}/x"\n';
    const postBuild = { postBuild: { substitute: { CLUSTER: "prod" } } };
    const fleet = { ...base, "clusters/prod/team.yaml": fluxKustomization("team", { path: "./lib", sourceRef: { kind: "GitRepository", name: "lib" }, ...postBuild }, "team"), "lib/a.yaml": usesVariable };
    const verdict = await evaluateTrees(fleet, { "team-sources/lib.yaml": ignoring("/lib/drafts/") }, [postbuildVariables]);
    expect(verdict.findings).toEqual([]);
    expect(verdict.preExisting.map((finding) => finding.message)).toEqual([
      "${UNDEFINED} in ConfigMap a is not defined by team/team (clusters/prod)'s postBuild variables, so Flux replaces it with an empty string. Define UNDEFINED in postBuild.substitute or substituteFrom, or give a default with ${UNDEFINED:=value}.",
    ]);
  });

  it("diffs the build from the source as it was against the base's", async () => {
    const result = await buildChange(base, { "lib/c.yaml": configMap("c"), "team-sources/lib.yaml": ignoring("/lib/c.yaml") });
    const changes = (name: string) => result.renderedDiff.find((diff) => diff.build === name)?.changes.map((change) => `${change.change} ${change.ref.name}`);
    expect(changes(TEAM)).toEqual([]);
    expect(changes(AS_IT_WAS)).toEqual(["added c"]);
  });

  it("is not built twice when the change to its source leaves the artifact as it was", async () => {
    const slower = gitRepository("lib", "team").replace("interval: 1m", "interval: 5m");
    const result = await buildChange(base, { ...breaksTheBuild, "team-sources/lib.yaml": slower });
    expect(result.head.map((candidate) => candidate.report.name)).not.toContain(AS_IT_WAS);
    expect(result.notes).toEqual([]);
  });

  it("is built through every copy the cluster deploys, whatever copy comes first", async () => {
    // The tenant's own folder deploys a copy on the fleet's branch that ignores the broken file: Flux applies both copies in turn.
    const result = await buildChange(base, { ...breaksTheBuild, "lib/source.yaml": ignoring("/lib/b.yaml") });
    const other = `${TEAM} with the GitRepository team/lib of team-sources/lib.yaml`;
    expect(teamBuild(result)?.report.ok).toBe(true);
    expect(build(result, other)?.report).toMatchObject({ ok: false, variantOf: TEAM });
    expect(result.notes).toContain(
      `${TEAM} is also built with the GitRepository team/lib of team-sources/lib.yaml: the cluster deploys more than one copy of the GitRepository team/lib, and each one serves this commit with its own spec.ignore, sparseCheckout or include.`,
    );
  });

  it("is compared with the build it was when the copy's file is renamed", async () => {
    const fleet = {
      ...base,
      "lib/b.yaml": configMap("b"),
      "clusters/prod/more-sources.yaml": fluxKustomization("more-sources", { path: "./zz-sources" }),
      "zz-sources/lib.yaml": ignoring("/lib/b.yaml"),
    };
    const result = await buildChange(fleet, { "zz-sources/lib.yaml": null, "zz-sources/renamed.yaml": ignoring("/lib/b.yaml"), "lib/a.yaml": configMap("a", { key: "changed" }) });
    const changes = result.renderedDiff.filter((diff) => diff.build.startsWith(TEAM)).map((diff) => `${diff.build}: ${diff.changes.map((change) => `${change.change} ${change.ref.name}`).join(", ")}`);
    expect(changes).toEqual([`${TEAM}: modified a`, `${TEAM} with the GitRepository team/lib of zz-sources/lib.yaml: modified a`]);
  });

  it("says so only when such a build runs", async () => {
    const fleet = {
      ...base,
      "lib/source.yaml": ignoring("/lib/b.yaml"),
      "clusters/prod/other.yaml": fluxKustomization("other", { path: "./other" }),
      "other/x.yaml": configMap("x"),
    };
    const result = await buildChange(fleet, { "other/x.yaml": configMap("x", { key: "changed" }) });
    expect(result.head.map((candidate) => candidate.report.name)).toEqual(["flux-system/other (clusters/prod)"]);
    expect(result.notes).toEqual([]);
  });

  it("diffs a copy's build against the base's likeliest build when the base had no such copy", async () => {
    // Another deployed copy, which leaves b.yaml out.
    const fleet = { ...base, "lib/b.yaml": configMap("b") };
    const copied = { "clusters/prod/more-sources.yaml": fluxKustomization("more-sources", { path: "./zz-sources" }), "zz-sources/lib.yaml": ignoring("/lib/b.yaml") };
    const result = await buildChange(fleet, copied);
    const copy = result.renderedDiff.find((diff) => diff.build === `${TEAM} with the GitRepository team/lib of zz-sources/lib.yaml`);
    expect(copy?.changes.map((change) => `${change.change} ${change.ref.name}`)).toEqual(["removed b"]);
  });
});

describe("a parent built from another copy of its source", () => {
  it("deploys children that are built from every artifact their source may serve: the copies take turns", async () => {
    // Copy A (bootstrap's) leaves out child-b.yaml; copy B (a team's) leaves out child-a.yaml and apps/b/evil.yaml.
    // Through B, flux-system deploys apps from child-b.yaml: ./apps/b, whose evil.yaml copy A serves.
    const withIgnore = (name: string, rules: string) => ignoring(`|\n${rules.split(" ").map((rule) => `    ${rule}`).join("\n")}`, name, "flux-system");
    const fleet = {
      "clusters/prod/flux-system/gotk-sync.yaml": `${withIgnore("flux-system", "/clusters/prod/child-b.yaml")}---\n${fluxKustomization("flux-system", { path: "./clusters/prod" })}`,
      "clusters/prod/flux-system/kustomization.yaml": "resources:\n  - gotk-sync.yaml\n",
      "clusters/prod/team.yaml": fluxKustomization("team", { path: "./teams/team" }),
      "teams/team/source.yaml": withIgnore("flux-system", "/clusters/prod/child-a.yaml /apps/b/evil.yaml"),
      "clusters/prod/child-a.yaml": fluxKustomization("apps", { path: "./apps/a" }),
      "clusters/prod/child-b.yaml": fluxKustomization("apps", { path: "./apps/b" }),
      "apps/a/a.yaml": configMap("a"),
      "apps/b/b.yaml": configMap("b"),
    };
    const result = await buildChange(fleet, { "apps/b/evil.yaml": configMap("evil") });
    const apps = result.head.filter((build) => build.report.name.startsWith("flux-system/apps (clusters/prod)"));
    const viaB = "flux-system/flux-system (clusters/prod) with the GitRepository flux-system/flux-system of teams/team/source.yaml";
    expect(apps.map((build) => `${build.report.name}: ${build.objects.map((object) => object.ref.name).join(",")}`)).toEqual([
      "flux-system/apps (clusters/prod): a",
      // apps as B's build deploys it, read through A (the likeliest) and through B.
      `flux-system/apps (clusters/prod) as ${viaB} deploys it: b,evil`,
      `flux-system/apps (clusters/prod) with the GitRepository flux-system/flux-system of teams/team/source.yaml as ${viaB} deploys it: b`,
    ]);
  });

  const lib = { kind: "GitRepository", name: "lib" };
  const fleet = (sources: string) => ({
    "clusters/prod/flux-system/gotk-sync.yaml": gitRepository("flux-system", "flux-system"),
    "clusters/prod/sources.yaml": fluxKustomization("sources", { path: `./${sources}` }),
    [`${sources}/kustomization.yaml`]: "resources:\n  - lib.yaml\n",
    [`${sources}/lib.yaml`]: gitRepository("lib", "team"),
    "clusters/prod/team.yaml": fluxKustomization("team", { path: "./lib", sourceRef: lib }, "team"),
    "lib/a.yaml": configMap("a"),
  });
  // Through the tenant's copy, which leaves out lib/kustomization.yaml, team/team deploys c as written: ./lib/evil.
  // Through the platform's, the kustomization patches c to ./lib/c.
  const retarget = JSON.stringify([{ op: "replace", path: "/spec/path", value: "./lib/c" }]);
  const change = {
    "lib/source.yaml": ignoring("/lib/kustomization.yaml"),
    "lib/kustomization.yaml": `resources:\n  - a.yaml\n  - c.yaml\n  - source.yaml\npatches:\n  - target:\n      kind: Kustomization\n      name: c\n    patch: '${retarget}'\n`,
    "lib/c.yaml": fluxKustomization("c", { path: "./lib/evil", sourceRef: lib }, "team"),
    "lib/c/cm.yaml": configMap("c"),
    "lib/evil/cm.yaml": configMap("evil"),
  };
  const rendered = (result: BuildResult) =>
    result.head
      .filter((build) => build.report.name.startsWith("team/c (clusters/prod)"))
      .map((build) => `${build.report.name}: ${build.objects.map((object) => object.ref.name).join(",")}`)
      .sort();

  it("deploys its own rendering of a child Kustomization, built as a variant of the child, whichever copy comes first", async () => {
    // The tenant's copy (lib/source.yaml) comes first, then second. c reads team/lib too, through either copy: the same build.
    expect(rendered(await buildChange(fleet("team-sources"), change))).toEqual([
      "team/c (clusters/prod) as team/team (clusters/prod) with the GitRepository team/lib of team-sources/lib.yaml deploys it: c",
      "team/c (clusters/prod): evil",
    ]);
    expect(rendered(await buildChange(fleet("a-sources"), change))).toEqual([
      "team/c (clusters/prod) as team/team (clusters/prod) with the GitRepository team/lib of lib/source.yaml deploys it: evil",
      "team/c (clusters/prod): c",
    ]);
  });
});

describe("per-cluster copies of one GitRepository, each cluster deploying its own", () => {
  const fleet: Record<string, string> = { "apps/team/base/kustomization.yaml": "resources:\n  - cm.yaml\n", "apps/team/base/cm.yaml": configMap("base") };
  for (const [cluster, other] of [["production", "staging"], ["staging", "production"]]) {
    fleet[`clusters/${cluster}/flux-system/gotk-sync.yaml`] = gitRepository("flux-system", "flux-system");
    fleet[`clusters/${cluster}/tenants.yaml`] = fluxKustomization("tenants", { path: `./tenants/${cluster}` });
    fleet[`tenants/${cluster}/kustomization.yaml`] = "resources:\n  - team.yaml\n";
    // Each copy leaves out the other cluster's settings: built through it, the other cluster's overlay fails.
    fleet[`tenants/${cluster}/team.yaml`] = `${ignoring(`/apps/team/${other}/settings.properties`, "team")}---\n${fluxKustomization("team", { path: `./apps/team/${cluster}`, sourceRef: { kind: "GitRepository", name: "team" } }, "team")}`;
    fleet[`apps/team/${cluster}/kustomization.yaml`] = "resources:\n  - ../base\nconfigMapGenerator:\n  - name: settings\n    files:\n      - settings.properties\n";
    fleet[`apps/team/${cluster}/settings.properties`] = `cluster=${cluster}\n`;
  }

  it("are told apart by what each cluster deploys, also when the change holds no manifest: one build each, no note", async () => {
    const result = await buildChange(fleet, { "apps/team/production/settings.properties": "cluster=production\nreplicas=3\n" });
    expect(result.head.map((build) => `${build.report.name} ${build.report.ok}`)).toEqual(["team/team (clusters/production) true"]);
    expect(result.notes).toEqual([]);
  });
});

describe("a second copy of flux-system/flux-system", () => {
  it("does not set the fleet's branch: bootstrap's copy does, even when another, first in path order, is deployed", async () => {
    const fleet = {
      ...base,
      "clusters/prod/flux-system/gotk-sync.yaml": `${gitRepository("flux-system", "flux-system")}---\n${fluxKustomization("flux-system", { path: "./clusters/prod" })}`,
      "clusters/prod/dev-team/kustomization.yaml": "resources:\n  - source.yaml\n",
      "clusters/prod/dev-team/source.yaml": gitRepository("flux-system", "flux-system", "branch: decoy"),
    };
    // team/lib follows main, the fleet's branch: what reads it is built.
    expect(teamBuild(await buildChange(fleet, breaksTheBuild))?.report.ok).toBe(false);
  });

  it("never comes before bootstrap's, in clusters/<name>/flux-system/, even first in path order and on another branch", async () => {
    const fleet = {
      "clusters/prod/flux-system/gotk-sync.yaml": `${gitRepository("flux-system", "flux-system")}---\n${fluxKustomization("flux-system", { path: "./clusters/prod" })}`,
      "clusters/prod/team.yaml": fluxKustomization("team", { path: "./lib" }),
      // Not even applied: its folder's kustomization lists nothing.
      "clusters/prod/dev-team/kustomization.yaml": "resources: []\n",
      "clusters/prod/dev-team/source.yaml": ignoring("/lib/local/", "flux-system", "flux-system", "branch: decoy"),
      "lib/a.yaml": configMap("a"),
    };
    const result = await buildChange(fleet, { "lib/local/evil.yaml": "just: text\n" });
    expect(result.head.map((build) => `${build.report.name} ${build.report.ok}`)).toEqual(["flux-system/team (clusters/prod) false"]);
  });

  it("is one more artifact; the cluster's own copy, which bootstrap applies, comes first, deployed by a Kustomization or not", async () => {
    const fleet = {
      "clusters/prod/flux-system/gotk-sync.yaml": gitRepository("flux-system", "flux-system"),
      "clusters/prod/team.yaml": fluxKustomization("team", { path: "./lib" }),
      "lib/a.yaml": configMap("a"),
      "lib/source.yaml": ignoring("/lib/local/", "flux-system", "flux-system"),
    };
    const result = await buildChange(fleet, { "lib/local/evil.yaml": "just: text\n" });
    expect(result.head.map((build) => `${build.report.name} ${build.report.ok}`)).toEqual([
      "flux-system/team (clusters/prod) false",
      "flux-system/team (clusters/prod) with the GitRepository flux-system/flux-system of lib/source.yaml true",
    ]);
  });
});

describe("a kustomization folder named like a Flux build", () => {
  it("is named apart, on both sides alike, and compared with its own base build", async () => {
    const folder = `${TEAM} with GitRepository team/lib as it was`;
    const namespace = (labels = "") => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: payments\n${labels}`;
    const fleet = { ...base, [`${folder}/kustomization.yaml`]: "resources:\n  - ns.yaml\n", [`${folder}/ns.yaml`]: namespace() };
    const result = await buildChange(fleet, { "team-sources/lib.yaml": ignoring("/lib/b.yaml"), "lib/b.yaml": configMap("b"), [`${folder}/ns.yaml`]: namespace("  labels:\n    a: b\n") });
    const diff = result.renderedDiff.find((candidate) => candidate.build === `${folder} (folder)`);
    expect(diff?.changes.map((change) => `${change.change} ${change.ref.name}`)).toEqual(["modified payments"]);
  });
});

describe("more copies than fleet-warden builds", () => {
  it("refuse the Kustomization, rather than build some of its artifacts", async () => {
    const fleet: Record<string, string> = { ...base };
    for (let index = 0; index < 16; index++) {
      fleet[`lib/f${index}.yaml`] = configMap(`f${index}`);
      fleet[`clusters/prod/copy-${index}.yaml`] = fluxKustomization(`copy-${index}`, { path: `./copies/${index}` });
      fleet[`copies/${index}/lib.yaml`] = ignoring(`/lib/f${index}.yaml`);
    }
    const result = await buildChange(fleet, { "lib/a.yaml": configMap("a", { key: "changed" }) });
    expect(teamBuild(result)?.issues.map((issue) => issue.message)).toEqual([
      "spec.sourceRef: Flux may serve this Kustomization 17 different artifacts (copies of the GitRepository team/lib and of what it includes, each with its own rules), more than the 16 fleet-warden builds, so what it applies is not judged. Remove the extra copies.",
    ]);
    expect(result.head.filter((build) => build.report.name.startsWith(TEAM))).toHaveLength(1);
    // The change that adds the copy past the limit is refused too.
    const last = ["lib/f15.yaml", "clusters/prod/copy-15.yaml", "copies/15/lib.yaml"];
    const before = Object.fromEntries(Object.entries(fleet).filter(([path]) => !last.includes(path)));
    const added = await buildChange(before, Object.fromEntries(last.map((path) => [path, fleet[path]!])));
    expect(teamBuild(added)?.issues.map((issue) => issue.message.slice(0, 52))).toEqual(["spec.sourceRef: Flux may serve this Kustomization 17"]);
  });
});

describe("another copy of a GitRepository that a GitRepository includes", () => {
  const including = (from: string) => `${gitRepository("app", "team")}  include:\n    - repository:\n        name: lib\n      fromPath: ${from}\n      toPath: app/vendor\n`;
  /** team/app includes `from` of team/lib; the cluster deploys a Kustomization on each. */
  const includingFleet = (from: string) => ({
    ...base,
    "team-sources/kustomization.yaml": "resources:\n  - lib.yaml\n  - app.yaml\n",
    "team-sources/app.yaml": including(from),
    "clusters/prod/team.yaml": fluxKustomization("team", { path: "./app", sourceRef: { kind: "GitRepository", name: "app" } }, "team"),
    "clusters/prod/team-lib.yaml": fluxKustomization("team-lib", { path: "./lib/deploy", sourceRef: { kind: "GitRepository", name: "lib" } }, "team"),
    "app/local.yaml": configMap("local"),
  });

  it("is paired with each copy of what includes it, and each copy's own includes are read", async () => {
    const fleet = {
      ...includingFleet("lib/other"),
      "lib/other/c.yaml": configMap("c"),
      "lib/shared/b.yaml": configMap("b"),
      // The tenant's copies, first in path order: app includes lib/shared instead, lib leaves out what the change adds.
      "lib/deploy/app.yaml": including("lib/shared"),
      "lib/deploy/lib.yaml": ignoring("/lib/other/evil.yaml"),
    };
    const result = await buildChange(fleet, { "lib/other/evil.yaml": "just: text\n" });
    // Only the platform's copies of both serve it.
    expect(result.head.filter((build) => build.report.name.startsWith(TEAM) && !build.report.ok).map((build) => build.report.name)).toEqual([
      `${TEAM} with the GitRepository team/lib of team-sources/lib.yaml included and the GitRepository team/app of team-sources/app.yaml`,
    ]);
  });

  it("is one more artifact of what includes it: its rules cannot keep a file out of every build", async () => {
    const fleet = {
      ...includingFleet("lib/shared"),
      "lib/deploy/a.yaml": configMap("a"),
      // The tenant's own copy of team/lib, on the base already, leaves out what the change adds.
      "lib/deploy/source.yaml": ignoring("/lib/shared/evil.yaml"),
      "lib/shared/b.yaml": configMap("b"),
    };
    const result = await buildChange(fleet, { "lib/shared/evil.yaml": "just: text\n" });
    expect(result.head.filter((build) => build.report.name.startsWith(TEAM)).map((build) => `${build.report.name} ${build.report.ok}`)).toEqual([
      // The tenant's copy comes first in path order: the platform's makes the other build.
      `${TEAM} true`,
      `${TEAM} with the GitRepository team/lib of team-sources/lib.yaml included false`,
    ]);
  });
});
