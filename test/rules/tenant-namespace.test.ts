import { describe, expect, it } from "vitest";
import { tenantNamespace } from "../../rules/tenant-namespace.js";
import { evaluateChange } from "../helpers/fleet.js";
import { ruleContext } from "../helpers/rule-context.js";
import { corpusTree, DEV_TEAM_CONFIG, DEV_TEAM_CONFIG_YAML } from "./lib/tenancy-fixtures.js";

const check = (options: Parameters<typeof ruleContext>[0]) => tenantNamespace.check(ruleContext(options));

function deployment(namespace?: string): string {
  return [
    "apiVersion: apps/v1",
    "kind: Deployment",
    "metadata:",
    "  name: podinfo",
    ...(namespace ? [`  namespace: ${namespace}`] : []),
    "spec:",
    "  template:",
    "    spec:",
    "      containers:",
    "        - name: podinfo",
    "          image: ghcr.io/stefanprodan/podinfo:6.7.0",
    "",
  ].join("\n");
}
const REF = (namespace: string) => ({ apiVersion: "apps/v1", kind: "Deployment", name: "podinfo", namespace });

describe("tenant-namespace", () => {
  it("passes objects in the tenant's namespace or without one (the Kustomization's targetNamespace decides)", () => {
    expect(check({ head: { "apps/dev-team/base/deployment.yaml": deployment("apps") }, config: DEV_TEAM_CONFIG })).toEqual([]);
    expect(check({ head: { "apps/dev-team/base/deployment.yaml": deployment() }, config: DEV_TEAM_CONFIG })).toEqual([]);
  });

  it("flags an object placed in another namespace and moves it back", () => {
    expect(check({ head: { "apps/dev-team/base/deployment.yaml": deployment("kube-system") }, config: DEV_TEAM_CONFIG })).toEqual([
      {
        path: "apps/dev-team/base/deployment.yaml",
        line: 5,
        endLine: 5,
        message: "Deployment kube-system/podinfo is in namespace kube-system, outside tenant dev-team's namespaces (apps).",
        object: REF("kube-system"),
        fix: { line: 5, endLine: 5, replacement: "  namespace: apps", description: "Move it into the tenant's namespace apps" },
      },
    ]);
  });

  it("offers no fix when the tenant has several namespaces to choose from", () => {
    const config = { tenants: [{ name: "dev-team", paths: ["apps/dev-team/**"], namespaces: ["apps", "apps-canary"], serviceAccount: "dev-team" }] };
    const [finding] = check({ head: { "apps/dev-team/base/deployment.yaml": deployment("default") }, config });
    expect([finding?.line, finding?.message, finding?.fix]).toEqual([5, "Deployment default/podinfo is in namespace default, outside tenant dev-team's namespaces (apps, apps-canary).", undefined]);
  });

  it("leaves cluster-scoped objects (tenant-cluster-scoped's job), platform territory and tenant-less repositories alone", () => {
    const namespace = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: extra\n";
    expect(check({ head: { "apps/dev-team/base/namespace.yaml": namespace }, config: DEV_TEAM_CONFIG })).toEqual([]);
    expect(check({ head: { "infrastructure/base/deployment.yaml": deployment("kube-system") }, config: DEV_TEAM_CONFIG })).toEqual([]);
    expect(check({ head: { "apps/dev-team/base/deployment.yaml": deployment("kube-system") } })).toEqual([]);
  });

  it("catches a namespace set by the overlay's kustomization, on the line the build traced, without a fix", () => {
    const overlay = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: kube-system\nresources:\n  - ../base\n";
    const rendered = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "podinfo", namespace: "kube-system" }, spec: {} };
    const build = {
      report: { name: "Kustomization apps/dev-team (clusters/staging)", path: "apps/dev-team/staging", ok: true, objects: 1 },
      objects: [{ object: rendered, ref: REF("kube-system"), source: { path: "apps/dev-team/staging/kustomization.yaml", line: 3 } }],
      issues: [],
    };
    const head = { "apps/dev-team/staging/kustomization.yaml": overlay, "apps/dev-team/base/deployment.yaml": deployment() };
    expect(check({ head, config: DEV_TEAM_CONFIG })).toEqual([]);
    expect(check({ head, config: DEV_TEAM_CONFIG, builds: [build] })).toEqual([
      {
        path: "apps/dev-team/staging/kustomization.yaml",
        line: 3,
        endLine: 3,
        message: "Deployment kube-system/podinfo is in namespace kube-system, outside tenant dev-team's namespaces (apps).",
        object: REF("kube-system"),
        build: "Kustomization apps/dev-team (clusters/staging)",
      },
    ]);
  });

  it("puts a namespace an overlay's kustomization sets on that kustomization's line, not on the base file's own namespace (end to end)", async () => {
    const base = {
      ".github/fleet-warden.yml": DEV_TEAM_CONFIG_YAML,
      "apps/dev-team/base/kustomization.yaml": "resources:\n  - deployment.yaml\n",
      "apps/dev-team/base/deployment.yaml": deployment("apps"),
      "apps/dev-team/staging/kustomization.yaml": "resources:\n  - ../base\n",
      "apps/dev-team/production/kustomization.yaml": "resources:\n  - ../base\nnamespace: apps\n",
    };
    const head = { "apps/dev-team/staging/kustomization.yaml": "resources:\n  - ../base\nnamespace: kube-system\n" };
    const verdict = await evaluateChange(base, head, { rules: [tenantNamespace] });
    expect(verdict.findings.map((finding) => [finding.path, finding.line, finding.fix])).toEqual([["apps/dev-team/staging/kustomization.yaml", 3, undefined]]);
  });

  it("fails a pull request that moves a tenant Deployment into kube-system (end to end)", async () => {
    const base = { ".github/fleet-warden.yml": DEV_TEAM_CONFIG_YAML, "apps/dev-team/base/deployment.yaml": deployment("apps") };
    const verdict = await evaluateChange(base, { "apps/dev-team/base/deployment.yaml": deployment("kube-system") }, { rules: [tenantNamespace] });
    expect(verdict.findings.map((finding) => [finding.rule, finding.severity, finding.line, finding.fix?.replacement])).toEqual([["tenant-namespace", "error", 5, "  namespace: apps"]]);
  });

  it("is silent on the flux2-multi-tenancy corpus (no tenant territory in the platform repository)", () => {
    const tree = corpusTree("flux2-multi-tenancy/main");
    expect(check({ head: tree, base: tree })).toEqual([]);
  });
});
