// Only what a change can affect is built: through bases, overlays, Flux spec.path and the Flux objects themselves.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildAffected } from "../../src/core/build/index.js";
import { configSchema } from "../../src/core/config.js";
import { FleetModel } from "../../src/core/fleet.js";
import { buildChange, deployment, fluxKustomization, recordingEngine, repository, treeDir } from "./helpers.js";

const fleet = {
  "apps/base/kustomization.yaml": "resources:\n  - deployment.yaml\n",
  "apps/base/deployment.yaml": deployment("web"),
  "apps/staging/kustomization.yaml": "resources:\n  - ../base\nnamespace: staging\n",
  "apps/production/kustomization.yaml": "resources:\n  - ../base\nnamespace: production\n",
  "clusters/staging/apps.yaml": fluxKustomization("apps", { path: "./apps/staging", prune: true }),
  "clusters/production/apps.yaml": fluxKustomization("apps", { path: "./apps/production", prune: true }),
  "clusters/production/infra.yaml": fluxKustomization("infra", { path: "./infra", prune: true }),
  "infra/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: infra\n",
  "infra/account.yaml": "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: infra\n  namespace: infra\n",
  "tenant/kustomization.yaml": "resources:\n  - team.yaml\n",
  "tenant/team.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n",
  "README.md": "# fleet\n",
};
const built = (names: string[]) => [...names].sort();
// kustomize sorts keys; the diff keeps two lines of context.
const DIFF = "@@ -14,4 +14,4 @@\n     spec:\n       containers:\n-        - image: nginx:1.27\n+        - image: nginx:1.28\n           name: web";

describe("affected set", () => {
  it("a change to a shared base reaches every overlay in every cluster, and nothing else", async () => {
    const engine = recordingEngine();
    const result = await buildChange(fleet, { "apps/base/deployment.yaml": deployment("web", "nginx:1.28") }, { engine });
    expect(built(result.head.map((build) => build.report.name))).toEqual(["flux-system/apps (clusters/production)", "flux-system/apps (clusters/staging)"]);
    expect(result.base.map((build) => build.report.name).sort()).toEqual(built(result.head.map((build) => build.report.name)));
    expect(engine.runs).toHaveLength(4);
    const production = result.renderedDiff.find((diff) => diff.build === "flux-system/apps (clusters/production)");
    expect(production?.changes).toEqual([
      {
        ref: { apiVersion: "apps/v1", kind: "Deployment", namespace: "production", name: "web" },
        change: "modified",
        diff: DIFF,
      },
    ]);
  });

  it("a change to an unrelated file builds nothing", async () => {
    const engine = recordingEngine();
    const result = await buildChange(fleet, { "README.md": "# fleet, documented\n" }, { engine });
    expect(result.head).toEqual([]);
    expect(result.base).toEqual([]);
    expect(result.renderedDiff).toEqual([]);
    expect(engine.runs).toEqual([]);
  });

  it("a change to one Flux Kustomization builds that one, not its neighbours in the same file's cluster", async () => {
    const result = await buildChange(fleet, { "clusters/production/infra.yaml": fluxKustomization("infra", { path: "./infra", prune: true, targetNamespace: "x" }) });
    expect(result.head.map((build) => build.report.name)).toEqual(["flux-system/infra (clusters/production)"]);
  });

  it("a plain kustomization that no Flux Kustomization reaches is a root of its own", async () => {
    const result = await buildChange(fleet, { "tenant/team.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n" });
    expect(result.head.map((build) => build.report)).toEqual([{ name: "tenant", path: "tenant", ok: true, objects: 1 }]);
    expect(result.renderedDiff).toEqual([
      {
        build: "tenant",
        path: "tenant",
        changes: [
          { ref: { apiVersion: "v1", kind: "Namespace", name: "team-a" }, change: "added" },
          { ref: { apiVersion: "v1", kind: "Namespace", name: "team" }, change: "removed" },
        ],
      },
    ]);
  });

  it("warns when prune: true would delete a Namespace", async () => {
    const result = await buildChange(fleet, { "infra/namespace.yaml": null });
    const build = result.head.find((candidate) => candidate.report.name === "flux-system/infra (clusters/production)");
    expect(build?.issues).toEqual([
      {
        rule: "kustomize-build",
        path: "clusters/production/infra.yaml",
        line: 12,
        severity: "warning",
        message:
          "flux-system/infra (clusters/production) no longer renders Namespace infra, and prune: true makes Flux delete it with everything in it. If intended, keep this warning in mind; otherwise restore the object or annotate it kustomize.toolkit.fluxcd.io/prune: disabled first.",
      },
    ]);
  });

  it("without kustomize, says builds were skipped instead of pretending they passed", async () => {
    const result = await buildChange(fleet, { "apps/base/deployment.yaml": deployment("web", "nginx:1.28") }, { engine: null });
    expect(result.head).toEqual([]);
    expect(result.problems).toEqual([]);
    expect(result.notes).toEqual([
      "No kustomize found (KUSTOMIZE_BIN, kustomize or kubectl): 2 affected build(s) were not run and are not checked: flux-system/apps (clusters/production), flux-system/apps (clusters/staging).",
    ]);
  });
});

describe("Kustomizations rendered by Kustomizations", () => {
  const pathPatch = (path: string) => `  - target:\n      kind: Kustomization\n    patch: |\n      - op: replace\n        path: /spec/path\n        value: ${path}\n`;
  const tenants = {
    "clusters/prod/tenants.yaml": fluxKustomization("tenants", { path: "./tenants/prod" }),
    "clusters/dev/tenants.yaml": fluxKustomization("tenants", { path: "./tenants/dev" }),
    "tenants/base/kustomization.yaml": "resources:\n  - sync.yaml\n",
    // The tenant reads this repository through a GitRepository of its own namespace.
    "tenants/base/sync.yaml": `apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: team\n  namespace: apps\nspec:\n  url: ssh://git@github.com/acme/fleet\n  ref:\n    branch: main\n---\n${fluxKustomization("team", { path: "./team/base", sourceRef: { kind: "GitRepository", name: "team" } }, "apps")}`,
    "tenants/prod/kustomization.yaml": `resources:\n  - ../base\npatches:\n${pathPatch("./team/prod")}`,
    "tenants/dev/kustomization.yaml": `resources:\n  - ../base\npatches:\n${pathPatch("./team/dev")}`,
    "team/prod/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: prod\n",
    "team/dev/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dev\n",
  };

  it("builds the tenant Kustomization as each cluster's overlay renders it, and only where the change reaches", async () => {
    const engine = recordingEngine();
    const result = await buildChange(tenants, { "team/prod/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: prod-2\n" }, { engine });
    // Each cluster's unchanged parent is built once for both sides to find the tenant; the tenant on each side.
    expect(engine.runs).toHaveLength(4);
    expect(result.head.map((build) => build.report)).toEqual([{ name: "apps/team (clusters/prod)", path: "team/prod", ok: true, objects: 1 }]);
    expect(result.renderedDiff.map((diff) => diff.changes.map((change) => `${change.change} ${change.ref.name}`))).toEqual([["added prod-2", "removed prod"]]);
  });

  it("runs nothing when no manifest changed", async () => {
    const engine = recordingEngine();
    const result = await buildChange({ ...tenants, "README.md": "# fleet\n" }, { "README.md": "# the fleet\n" }, { engine });
    expect(result.head).toEqual([]);
    expect(engine.runs).toEqual([]);
  });

  it("builds parents when the change touches a file one reads that is no manifest (a JSON patch, a `Kustomization`)", async () => {
    const timeout = (value: string) => JSON.stringify([{ op: "add", path: "/spec/timeout", value }]);
    const patched = {
      ...tenants,
      "tenants/prod/kustomization.yaml": `resources:\n  - ../base\npatches:\n${pathPatch("./team/prod")}  - path: timeout.json\n    target:\n      kind: Kustomization\n`,
      "tenants/prod/timeout.json": timeout("1m"),
    };
    const result = await buildChange(patched, { "tenants/prod/timeout.json": timeout("5m") });
    // The tenant Kustomization as the parent renders it changed: it is built, on both sides.
    expect(result.head.map((build) => build.report.name)).toEqual(["flux-system/tenants (clusters/prod)", "apps/team (clusters/prod)"]);
  });

  describe("a parent that only lists resources deploys its Kustomizations as written", () => {
    const listing = (spec: Record<string, unknown> = {}) => ({
      "clusters/prod/tenants.yaml": fluxKustomization("tenants", { path: "./tenants/prod", ...spec }),
      "tenants/prod/kustomization.yaml": "resources:\n  - team.yaml\n",
      "tenants/prod/team.yaml": fluxKustomization("team", { path: "./team/prod", sourceRef: { kind: "GitRepository", name: "flux-system", namespace: "flux-system" } }, "apps"),
      "team/prod/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: prod\n",
    });
    const change = { "team/prod/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: prod-2\n" };

    it("so it is not built to find them", async () => {
      const engine = recordingEngine();
      const result = await buildChange(listing(), change, { engine });
      expect(engine.runs).toHaveLength(2);
      expect(result.head.map((build) => build.report)).toEqual([{ name: "apps/team (clusters/prod)", path: "team/prod", ok: true, objects: 1 }]);
    });

    it("with the sources written next to them, not a same-named source of another cluster", async () => {
      const sync = (cluster: string, branch: string) =>
        `apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: team\n  namespace: apps\nspec:\n  url: https://github.com/acme/fleet.git\n  ref:\n    branch: ${branch}\n---\n${fluxKustomization("team", { path: `./team/${cluster}`, sourceRef: { kind: "GitRepository", name: "team" } }, "apps")}`;
      const fleet = {
        "clusters/canary/tenants.yaml": fluxKustomization("tenants", { path: "./tenants/canary" }),
        "clusters/prod/tenants.yaml": fluxKustomization("tenants", { path: "./tenants/prod" }),
        "tenants/canary/kustomization.yaml": "resources:\n  - sync.yaml\n",
        "tenants/canary/sync.yaml": sync("canary", "canary"),
        "tenants/prod/kustomization.yaml": "resources:\n  - sync.yaml\n",
        "tenants/prod/sync.yaml": sync("prod", "main"),
        "team/canary/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: canary\n",
        "team/prod/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: prod\n",
      };
      const result = await buildChange(fleet, {
        "team/canary/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: canary-2\n",
        "team/prod/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: prod-2\n",
      });
      expect(result.head.map((build) => build.report)).toEqual([{ name: "apps/team (clusters/prod)", path: "team/prod", ok: true, objects: 1 }]);
      // Only canary's tenant reads another branch, and the note says so of canary alone.
      expect(result.notes).toEqual(["apps/team (clusters/canary) reads branch canary of this repository, not the commit under review: it is not built."]);
    });

    it("with source-controller's defaults: no ref follows master, and a suspended source serves its last artifact", async () => {
      const source = (spec: string) =>
        `apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: team\n  namespace: apps\nspec:\n  url: https://github.com/acme/fleet.git\n${spec}---\n${fluxKustomization("team", { path: "./team", sourceRef: { kind: "GitRepository", name: "team" } }, "apps")}`;
      const fleet = (flux: string, team: string) => ({
        "clusters/prod/flux-system/gotk-sync.yaml": `apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  url: https://github.com/acme/fleet.git\n${flux}`,
        "clusters/prod/team.yaml": source(team),
        "team/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: team\n",
      });
      const change = { "team/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: team-2\n" };
      const notes = async (flux: string, team: string) => (await buildChange(fleet(flux, team), change)).notes;
      expect(await notes("  ref:\n    branch: main\n", "")).toEqual(["apps/team (clusters/prod) reads branch master of this repository, not the commit under review: it is not built."]);
      expect(await notes("", "")).toEqual([]);
      expect(await notes("", "  ref:\n    branch: master\n")).toEqual([]);
      expect(await notes("", "  suspend: true\n")).toEqual(["apps/team (clusters/prod) reads its last artifact (it is suspended), not the commit under review: it is not built."]);
    });

    it("in every cluster that deploys the same file", async () => {
      const fleet = {
        "clusters/a/root.yaml": fluxKustomization("root", { path: "./clusters/a" }),
        "clusters/a/shared/kustomization.yaml": "resources:\n  - apps.yaml\n",
        "clusters/a/shared/apps.yaml": fluxKustomization("apps", { path: "./apps" }),
        "clusters/b/root.yaml": fluxKustomization("root", { path: "./clusters/b" }),
        "clusters/b/kustomization.yaml": "resources:\n  - root.yaml\n  - ../a/shared\n",
        "apps/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: apps\n",
      };
      const result = await buildChange(fleet, { "apps/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: apps-2\n" });
      expect(result.head.map((build) => build.report.name).sort()).toEqual(["flux-system/apps (clusters/a)", "flux-system/apps (clusters/b)"]);
    });

    it("in a JSON file as well as in YAML", async () => {
      const json = JSON.stringify({
        apiVersion: "kustomize.toolkit.fluxcd.io/v1",
        kind: "Kustomization",
        metadata: { name: "team", namespace: "apps" },
        spec: { interval: "10m", path: "./team/prod", sourceRef: { kind: "GitRepository", name: "flux-system", namespace: "flux-system" } },
      });
      const fleet: Record<string, string> = { ...listing(), "tenants/prod/kustomization.yaml": "resources:\n  - team.json\n", "tenants/prod/team.json": `${json}\n` };
      delete fleet["tenants/prod/team.yaml"];
      const result = await buildChange(fleet, change);
      expect(result.head.map((build) => build.report)).toEqual([{ name: "apps/team (clusters/prod)", path: "team/prod", ok: true, objects: 1 }]);
    });

    it("unless its Flux spec changes what it deploys", async () => {
      const engine = recordingEngine();
      const result = await buildChange(listing({ namePrefix: "prod-" }), change, { engine });
      expect(engine.runs).toHaveLength(3);
      // The parent, built once for both sides to find the Kustomization, counts: two builds, three runs.
      expect([result.base.length + result.head.length, result.kustomizeRuns]).toEqual([2, 3]);
      expect(result.head.map((build) => build.report.name)).toEqual(["apps/prod-team (clusters/prod)"]);
    });

    it("or its kustomization does more than list resources", async () => {
      const engine = recordingEngine();
      const result = await buildChange({ ...listing(), "tenants/prod/kustomization.yaml": "resources:\n  - team.yaml\ncommonLabels:\n  env: prod\n" }, change, { engine });
      expect(engine.runs).toHaveLength(3);
      expect(result.head.map((build) => build.report.name)).toEqual(["apps/team (clusters/prod)"]);
    });
  });

  it("finds a tenant's source where the parent's kustomization puts it, and never builds the unpatched Kustomization alone", async () => {
    const unnamespaced = (text: string) => text.replace("  namespace: flux-system\n", "");
    const fleet = {
      "clusters/prod/tenants.yaml": fluxKustomization("tenants", { path: "./tenants/prod" }),
      // The base gives the tenant's GitRepository (this repository) and Kustomization their namespace.
      "tenants/base/kustomization.yaml": "namespace: apps\nresources:\n  - sync.yaml\n",
      "tenants/base/sync.yaml": `apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: team\nspec:\n  url: https://github.com/acme/fleet.git\n  ref:\n    branch: main\n---\n${unnamespaced(fluxKustomization("team", { path: "./team/base", sourceRef: { kind: "GitRepository", name: "team" } }))}`,
      "tenants/prod/kustomization.yaml": `resources:\n  - ../base\npatches:\n${pathPatch("./team/prod")}`,
      "team/prod/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: prod\n",
    };
    const result = await buildChange(fleet, { "team/prod/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: prod-2\n" });
    expect(result.head.map((build) => build.report)).toEqual([{ name: "apps/team (clusters/prod)", path: "team/prod", ok: true, objects: 1 }]);
  });

  it("rebuilds the tenant Kustomization when its parent's overlay changes it", async () => {
    const result = await buildChange(tenants, { "tenants/dev/kustomization.yaml": `resources:\n  - ../base\npatches:\n${pathPatch("./team/prod")}` });
    expect(result.head.map((build) => build.report.name).sort()).toEqual(["apps/team (clusters/dev)", "flux-system/tenants (clusters/dev)"]);
    expect(result.head.find((build) => build.report.name === "apps/team (clusters/dev)")?.report.path).toBe("team/prod");
  });
});

describe("builds run once for identical inputs", () => {
  it("tells a changed binary file by its bytes, not by its UTF-8 reading (0x80 and 0x81 both read as U+FFFD)", async () => {
    const side = (byte: number) => {
      const dir = treeDir({ "apps/kustomization.yaml": "configMapGenerator:\n  - name: blob\n    files:\n      - blob.bin\n    options:\n      disableNameSuffixHash: true\n" });
      writeFileSync(join(dir, "apps/blob.bin"), Buffer.from([byte]));
      return new FleetModel(dir);
    };
    const changedFiles = [{ path: "apps/blob.bin", status: "modified" as const, addedLines: [], hunks: [], patchMissing: true }];
    const result = await buildAffected({ config: configSchema.parse({}), base: side(0x80), head: side(0x81), changedFiles, repository, specialFiles: [] });
    expect(result.renderedDiff.map((diff) => diff.changes.map((change) => `${change.change} ${change.ref.kind} ${change.ref.name}`))).toEqual([["modified ConfigMap blob"]]);
  });
});

describe("a build stopped at fleet-warden's own limits", () => {
  it("is a finding of the head alone: never pre-existing, since Flux may apply what was not judged", async () => {
    const sleeper = { description: "slow kustomize", command: "/bin/sh", args: () => ["-c", "sleep 5"] };
    const stopped = "kustomize build failed: kustomize did not finish within 0.2 s and was stopped";
    const result = await buildChange(fleet, { "apps/base/deployment.yaml": deployment("api") }, { engine: sleeper, limits: { timeoutMs: 200, maxOutputBytes: 1024 } });
    expect(result.base.map((build) => build.report.ok)).toEqual([false, false]);
    expect(result.base.flatMap((build) => build.issues)).toEqual([]);
    expect(result.head.flatMap((build) => build.issues.map((issue) => [issue.path, issue.message, issue.limit]))).toEqual([
      ["apps/production/kustomization.yaml", stopped, true],
      ["apps/staging/kustomization.yaml", stopped, true],
    ]);
  });
});
