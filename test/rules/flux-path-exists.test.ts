import { describe, expect, it } from "vitest";
import { fluxPathExists } from "../../rules/flux-path-exists.js";
import type { Finding } from "../../src/core/types.js";
import { evaluateChange } from "../helpers/fleet.js";
import { ruleContext } from "../helpers/rule-context.js";
import { corpusTree } from "./lib/tenancy-fixtures.js";

const kustomization = (name: string, path: string, source = "flux-system") =>
  [
    "apiVersion: kustomize.toolkit.fluxcd.io/v1",
    "kind: Kustomization",
    "metadata:",
    `  name: ${name}`,
    "  namespace: flux-system",
    "spec:",
    "  interval: 10m",
    "  sourceRef:",
    "    kind: GitRepository",
    `    name: ${source}`,
    `  path: ${path}`,
    "  prune: true",
  ].join("\n");

const fleet = {
  "clusters/production/apps.yaml": kustomization("apps", "./apps/production"),
  "apps/production/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../base/podinfo\n",
  "apps/base/podinfo/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n",
};

describe("flux-path-exists", () => {
  it("accepts paths that exist, and ignores Kustomizations reading other sources", () => {
    const head = { ...fleet, "clusters/production/podinfo.yaml": kustomization("podinfo", "./kustomize", "podinfo") };
    expect(fluxPathExists.check(ruleContext({ head }))).toEqual([]);
  });

  it("flags a path that does not exist, on its line", () => {
    const head = { ...fleet, "clusters/production/apps.yaml": kustomization("apps", "./apps/prod") };
    expect(fluxPathExists.check(ruleContext({ head }))).toEqual([
      {
        path: "clusters/production/apps.yaml",
        line: 11,
        endLine: 11,
        message: "Kustomization flux-system/apps: spec.path ./apps/prod does not exist in this repository; Flux fails to build the Kustomization and stops reconciling it.",
        object: { apiVersion: "kustomize.toolkit.fluxcd.io/v1", kind: "Kustomization", name: "apps", namespace: "flux-system" },
      },
    ]);
  });

  it("flags a path that names a file, and resolves .. at the repository root as Flux does", () => {
    const head = {
      ...fleet,
      "clusters/production/apps.yaml": [kustomization("apps", "../other-repo"), "---", kustomization("config", "./apps/production/kustomization.yaml")].join("\n"),
    };
    expect(fluxPathExists.check(ruleContext({ head })).map((finding) => [finding.line, finding.message])).toEqual([
      [11, "Kustomization flux-system/apps: spec.path ../other-repo does not exist in this repository; Flux fails to build the Kustomization and stops reconciling it."],
      [24, "Kustomization flux-system/config: spec.path ./apps/production/kustomization.yaml is a file; Flux builds a folder."],
    ]);
  });

  it("reports the overlay patch that sets the path, for a tenant GitRepository on the cluster's own URL and branch", () => {
    const head = {
      ...fleet,
      "clusters/production/flux-system/gotk-sync.yaml":
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 1m0s\n  ref:\n    branch: main\n  url: ssh://git@github.com/acme/fleet\n",
      "clusters/production/tenants.yaml": kustomization("tenants", "./tenants/production"),
      "tenants/base/dev-team/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: apps\nresources:\n  - sync.yaml\n",
      "tenants/base/dev-team/sync.yaml": [
        "apiVersion: source.toolkit.fluxcd.io/v1",
        "kind: GitRepository",
        "metadata:",
        "  name: dev-team",
        "spec:",
        "  interval: 1m",
        "  url: https://github.com/acme/fleet.git",
        "  ref:",
        "    branch: main",
        "---",
        kustomization("dev-team", "./apps/dev-team/staging", "dev-team").replace("  namespace: flux-system\n", ""),
      ].join("\n"),
      "tenants/production/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../base/dev-team\npatches:\n  - path: dev-team-patch.yaml\n",
      "tenants/production/dev-team-patch.yaml": "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: dev-team\nspec:\n  path: ./apps/dev-team/production\n",
    };
    expect(fluxPathExists.check(ruleContext({ head })).map((finding) => [finding.path, finding.line, finding.message])).toEqual([
      ["tenants/production/dev-team-patch.yaml", 6, "Kustomization apps/dev-team: spec.path ./apps/dev-team/production does not exist in this repository; Flux fails to build the Kustomization and stops reconciling it."],
    ]);
  });

  it("fails a pull request that renames a folder a cluster still points at", async () => {
    const head = { "apps/production/kustomization.yaml": null, "apps/prod/kustomization.yaml": fleet["apps/production/kustomization.yaml"] };
    const verdict = await evaluateChange(fleet, head, { rules: [fluxPathExists] });
    expect(verdict.conclusion).toBe("failure");
    expect(verdict.findings.map((finding) => `${finding.path}:${finding.line}`)).toEqual(["clusters/production/apps.yaml:11"]);
  });

  describe("with the build (all rules, real kustomize)", () => {
    const renamed = { "apps/production/kustomization.yaml": null, "apps/prod/kustomization.yaml": fleet["apps/production/kustomization.yaml"] };
    const missing = "Kustomization flux-system/apps: spec.path ./apps/production does not exist in this repository; Flux fails to build the Kustomization and stops reconciling it.";
    const notAFolder = 'spec.path "./apps/production" is not a folder of the Flux source (it does not exist, or .sourceignore or the GitRepository\'s spec.sparseCheckout leaves it out), so the Kustomization fails to build.';
    const lines = (findings: Finding[]) => findings.map((finding) => `${finding.rule} ${finding.severity} ${finding.path}:${finding.line} ${finding.message}`);
    const withConfig = (config: string) => ({ ...fleet, ".github/fleet-warden.yml": config });

    it("reports a missing path once, through this rule, while the build still fails", async () => {
      const verdict = await evaluateChange(fleet, renamed);
      expect(verdict.conclusion).toBe("failure");
      expect(lines(verdict.findings)).toEqual([`flux-path-exists error clusters/production/apps.yaml:11 ${missing}`]);
      expect(verdict.builds.find((build) => build.name === "flux-system/apps (clusters/production)")).toMatchObject({ ok: false, error: notAFolder });
    });

    it("counts a path that was already missing once, as pre-existing", async () => {
      const broken = { ...fleet, ...renamed };
      const verdict = await evaluateChange(broken, { "clusters/production/apps.yaml": fleet["clusters/production/apps.yaml"].replace("interval: 10m", "interval: 5m") });
      expect(verdict.builds.find((build) => build.name === "flux-system/apps (clusters/production)")).toMatchObject({ ok: false, error: notAFolder });
      expect(verdict.conclusion).toBe("success");
      expect(lines(verdict.findings)).toEqual([]);
      expect(lines(verdict.preExisting)).toEqual([`flux-path-exists error clusters/production/apps.yaml:11 ${missing}`]);
    });

    it("keeps the build's finding when the rule is off", async () => {
      const verdict = await evaluateChange(withConfig("rules:\n  flux-path-exists: off\n"), renamed);
      expect(verdict.conclusion).toBe("failure");
      expect(lines(verdict.findings)).toEqual([`kustomize-build error clusters/production/apps.yaml:11 ${notAFolder}`]);
    });

    it("keeps the build's error when the rule is configured milder", async () => {
      const verdict = await evaluateChange(withConfig("rules:\n  flux-path-exists: warning\n"), renamed);
      expect(verdict.conclusion).toBe("failure");
      expect(lines(verdict.findings)).toEqual([`kustomize-build error clusters/production/apps.yaml:11 ${notAFolder}`, `flux-path-exists warning clusters/production/apps.yaml:11 ${missing}`]);
    });

    it("keeps the build's finding when the object excepts this rule", async () => {
      const excepted = fleet["clusters/production/apps.yaml"].replace(
        "  namespace: flux-system\n",
        "  namespace: flux-system\n  annotations:\n    fleet-warden.io/ignore: flux-path-exists\n    fleet-warden.io/ignore-reason: the folder is created by another pipeline\n",
      );
      const verdict = await evaluateChange({ ...fleet, "clusters/production/apps.yaml": excepted }, renamed);
      expect(verdict.conclusion).toBe("failure");
      expect(lines(verdict.findings)).toEqual([`kustomize-build error clusters/production/apps.yaml:14 ${notAFolder}`]);
      expect(verdict.ignored.map((entry) => `${entry.finding.rule} ${entry.finding.path}:${entry.finding.line} ${entry.reason}`)).toEqual([
        "flux-path-exists clusters/production/apps.yaml:14 the folder is created by another pipeline",
      ]);
    });
  });

  it.each(["flux2-multi-tenancy/main", "flux2-multi-tenancy/dev-team", "flux2-kustomize-helm-example/pre-2.7", "flux2-kustomize-helm-example/main"])("is silent on the clean %s corpus", (folder) => {
    expect(fluxPathExists.check(ruleContext({ head: corpusTree(folder) }))).toEqual([]);
  });
});
