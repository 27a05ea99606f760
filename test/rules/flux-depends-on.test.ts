import { describe, expect, it } from "vitest";
import { fluxDependsOn } from "../../rules/flux-depends-on.js";
import type { Tree } from "../helpers/fleet.js";
import { evaluateChange } from "../helpers/fleet.js";
import { ruleContext } from "../helpers/rule-context.js";
import { corpusTree } from "./lib/tenancy-fixtures.js";

const kustomization = (name: string, path: string, dependsOn: string[] = [], source = "flux-system") =>
  [
    "---",
    "apiVersion: kustomize.toolkit.fluxcd.io/v1",
    "kind: Kustomization",
    "metadata:",
    `  name: ${name}`,
    "  namespace: flux-system",
    "spec:",
    ...(dependsOn.length > 0 ? ["  dependsOn:", ...dependsOn.map((target) => `    - name: ${target}`)] : []),
    "  interval: 1h",
    "  sourceRef:",
    "    kind: GitRepository",
    `    name: ${source}`,
    `  path: ${path}`,
    "  prune: true",
  ].join("\n");

const folders: Tree = {
  "infrastructure/controllers/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n",
  "infrastructure/configs/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n",
  "tenants/production/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n",
};

const cluster = (configsDependsOn: string[], tenantsDependsOn: string[] = ["infra-configs"]): Tree => ({
  ...folders,
  "clusters/production/infrastructure.yaml": [
    kustomization("infra-controllers", "./infrastructure/controllers"),
    kustomization("infra-configs", "./infrastructure/configs", configsDependsOn),
  ].join("\n"),
  "clusters/production/tenants.yaml": kustomization("tenants", "./tenants/production", tenantsDependsOn),
});

const check = (head: Tree) => fluxDependsOn.check(ruleContext({ head })).map((finding) => [finding.path, finding.line, finding.severity, finding.message]);

describe("flux-depends-on", () => {
  it("reports a target a JSON6902 operation appends or inserts on that patch, and the targets it moves where they are written", () => {
    const patched = (operation: string) => ({
      ...cluster(["gone"]),
      "clusters/production/kustomization.yaml":
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - infrastructure.yaml\n  - tenants.yaml\npatches:\n  - path: configs-patch.yaml\n    target:\n      kind: Kustomization\n      name: infra-configs\n",
      "clusters/production/configs-patch.yaml": `- op: add\n  path: /spec/dependsOn/${operation}\n  value:\n    name: missing\n`,
    });
    const placed = (operation: string) => fluxDependsOn.check(ruleContext({ head: patched(operation), changed: ["clusters/production/configs-patch.yaml"] })).map((finding) => `${finding.path}:${finding.line}`);
    // `gone`, already missing, stays where it is written, wherever the operation puts the new item.
    expect(placed("-")).toEqual(["clusters/production/infrastructure.yaml:22", "clusters/production/configs-patch.yaml:1"]);
    expect(placed("0")).toEqual(["clusters/production/configs-patch.yaml:1", "clusters/production/infrastructure.yaml:22"]);
  });

  it("accepts the layered infrastructure -> tenants order", () => {
    expect(check(cluster(["infra-controllers"]))).toEqual([]);
  });

  it("flags a dependency the cluster does not define, on its dependsOn entry", () => {
    expect(fluxDependsOn.check(ruleContext({ head: cluster(["infra-controller"]) }))).toEqual([
      {
        path: "clusters/production/infrastructure.yaml",
        line: 22,
        endLine: 22,
        message: "dependsOn names Kustomization flux-system/infra-controller, which cluster production does not define; Flux waits on it forever.",
        object: { apiVersion: "kustomize.toolkit.fluxcd.io/v1", kind: "Kustomization", name: "infra-configs", namespace: "flux-system" },
      },
    ]);
  });

  it("looks for dependencies in the same cluster only", () => {
    const head = { ...cluster(["infra-controllers"]), "clusters/staging/tenants.yaml": kustomization("tenants", "./tenants/production", ["infra-configs"]) };
    expect(check(head)).toEqual([
      ["clusters/staging/tenants.yaml", 9, undefined, "dependsOn names Kustomization flux-system/infra-configs, which cluster staging does not define; Flux waits on it forever."],
    ]);
  });

  it("only warns when a Kustomization of the cluster reads another repository, which may define the target", () => {
    const head = { ...cluster(["infra-controllers", "kyverno"]), "clusters/production/kyverno.yaml": kustomization("kyverno-upstream", "./config", [], "kyverno") };
    expect(check(head)).toEqual([
      [
        "clusters/production/infrastructure.yaml",
        23,
        "warning",
        "dependsOn names Kustomization flux-system/kyverno, which cluster production does not define in this repository; unless another source creates it, Flux waits on it forever.",
      ],
    ]);
  });

  it("reports a cycle on every dependsOn entry that closes it", () => {
    expect(check(cluster(["tenants"], ["infra-configs"]))).toEqual([
      [
        "clusters/production/infrastructure.yaml",
        22,
        undefined,
        "Infrastructure Kustomization flux-system/infra-configs depends on tenant Kustomization flux-system/tenants: a tenant change could hold back the platform. Reverse or remove the dependency.",
      ],
      [
        "clusters/production/infrastructure.yaml",
        22,
        undefined,
        "dependsOn forms a cycle (Kustomization flux-system/infra-configs → flux-system/tenants → flux-system/infra-configs): Flux never reconciles any of them.",
      ],
      [
        "clusters/production/tenants.yaml",
        9,
        undefined,
        "dependsOn forms a cycle (Kustomization flux-system/infra-configs → flux-system/tenants → flux-system/infra-configs): Flux never reconciles any of them.",
      ],
    ]);
  });

  it("flags infrastructure depending on tenant territory declared in the config", () => {
    const head = { ...cluster(["infra-controllers", "apps"], []), "clusters/production/apps.yaml": kustomization("apps", "./apps/production"), "apps/production/a.yaml": "kind: ConfigMap\n" };
    const context = ruleContext({ head, tenants: [{ name: "dev-team", paths: ["apps/**"], namespaces: ["apps"], origin: "config" }] });
    expect(fluxDependsOn.check(context).map((finding) => [finding.line, finding.message])).toEqual([
      [23, "Infrastructure Kustomization flux-system/infra-configs depends on tenant Kustomization flux-system/apps: a tenant change could hold back the platform. Reverse or remove the dependency."],
    ]);
  });

  it("fails a pull request that renames a Kustomization others depend on, on the unchanged file", async () => {
    const base = cluster(["infra-controllers"]);
    const head = { "clusters/production/infrastructure.yaml": base["clusters/production/infrastructure.yaml"]!.replace("name: infra-configs", "name: configs") };
    const verdict = await evaluateChange(base, head, { rules: [fluxDependsOn] });
    expect(verdict.findings.map((finding) => `${finding.path}:${finding.line} ${finding.severity}`)).toEqual(["clusters/production/tenants.yaml:9 error"]);
  });

  it.each(["flux2-multi-tenancy/main", "flux2-multi-tenancy/dev-team", "flux2-kustomize-helm-example/pre-2.7", "flux2-kustomize-helm-example/main"])("is silent on the clean %s corpus", (folder) => {
    expect(fluxDependsOn.check(ruleContext({ head: corpusTree(folder) }))).toEqual([]);
  });

  it("catches a misspelt dependency in a copy of flux2-multi-tenancy, as a warning since its tenant reads another repository", () => {
    const head = corpusTree("flux2-multi-tenancy/main");
    head["clusters/staging/tenants.yaml"] = head["clusters/staging/tenants.yaml"]!.replace("- name: kyverno-policies", "- name: kyverno-policy");
    expect(check(head)).toEqual([
      [
        "clusters/staging/tenants.yaml",
        8,
        "warning",
        "dependsOn names Kustomization flux-system/kyverno-policy, which cluster staging does not define in this repository; unless another source creates it, Flux waits on it forever.",
      ],
    ]);
  });
});
