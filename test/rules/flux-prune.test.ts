import { describe, expect, it } from "vitest";
import { fluxPrune } from "../../rules/flux-prune.js";
import { evaluateChange } from "../helpers/fleet.js";
import { ruleContext } from "../helpers/rule-context.js";
import { corpusTree } from "./lib/tenancy-fixtures.js";

const apps = (pruneLine: string | undefined) =>
  [
    "apiVersion: kustomize.toolkit.fluxcd.io/v1",
    "kind: Kustomization",
    "metadata:",
    "  name: apps",
    "  namespace: flux-system",
    "spec:",
    "  interval: 10m0s",
    "  sourceRef:",
    "    kind: GitRepository",
    "    name: flux-system",
    "  path: ./apps/production",
    ...(pruneLine ? [pruneLine] : []),
    "  wait: true",
    "",
  ].join("\n");

describe("flux-prune", () => {
  it("accepts a Kustomization with prune: true", () => {
    expect(fluxPrune.check(ruleContext({ head: { "clusters/production/apps.yaml": apps("  prune: true") } }))).toEqual([]);
  });

  it("adds prune: true as the first spec field when it is missing", () => {
    const findings = fluxPrune.check(ruleContext({ head: { "clusters/production/apps.yaml": apps(undefined) } }));
    expect(findings).toEqual([
      {
        path: "clusters/production/apps.yaml",
        line: 6,
        endLine: 6,
        message: "Kustomization flux-system/apps does not set prune: objects removed from Git stay in the cluster. Add prune: true.",
        object: { apiVersion: "kustomize.toolkit.fluxcd.io/v1", kind: "Kustomization", name: "apps", namespace: "flux-system" },
        fix: { line: 6, endLine: 6, replacement: "spec:\n  prune: true", description: "Turn on garbage collection" },
      },
    ]);
  });

  it("replaces prune: false on its line, keeping a trailing comment", () => {
    const [finding] = fluxPrune.check(ruleContext({ head: { "clusters/production/apps.yaml": apps("  prune: false # keep old objects") } }));
    expect(finding?.line).toBe(12);
    expect(finding?.message).toBe("Kustomization flux-system/apps sets prune to false: objects removed from Git stay in the cluster. Set prune: true.");
    expect(finding?.fix).toEqual({ line: 12, endLine: 12, replacement: "  prune: true # keep old objects", description: "Turn on garbage collection" });
  });

  it("ignores kustomize's own Kustomization and patches that do not set prune, but judges a patch that turns it off", () => {
    const head = {
      "tenants/base/dev-team/sync.yaml": apps("  prune: true").replace("name: apps", "name: dev-team"),
      "tenants/base/dev-team/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - sync.yaml\n",
      "tenants/production/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../base/dev-team\npatches:\n  - path: dev-team-patch.yaml\n  - path: prune-patch.yaml\n",
      "tenants/production/dev-team-patch.yaml": "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: dev-team\n  namespace: flux-system\nspec:\n  path: ./apps/dev-team/production\n",
      "tenants/production/prune-patch.yaml": "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: dev-team\n  namespace: flux-system\nspec:\n  prune: false\n",
    };
    const findings = fluxPrune.check(ruleContext({ head }));
    expect(findings.map((finding) => `${finding.path}:${finding.line}`)).toEqual(["tenants/production/prune-patch.yaml:7"]);
  });

  it("fails a pull request that drops prune, end to end", async () => {
    const verdict = await evaluateChange({ "clusters/production/apps.yaml": apps("  prune: true") }, { "clusters/production/apps.yaml": apps(undefined) }, { rules: [fluxPrune] });
    expect(verdict.findings.map((finding) => [finding.rule, finding.severity, finding.line])).toEqual([["flux-prune", "warning", 6]]);
  });

  it.each(["flux2-multi-tenancy/main", "flux2-multi-tenancy/dev-team", "flux2-kustomize-helm-example/pre-2.7", "flux2-kustomize-helm-example/main"])("is silent on the clean %s corpus", (folder) => {
    expect(fluxPrune.check(ruleContext({ head: corpusTree(folder) }))).toEqual([]);
  });
});
