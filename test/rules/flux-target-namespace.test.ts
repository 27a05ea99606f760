import { describe, expect, it } from "vitest";
import { fluxTargetNamespace } from "../../rules/flux-target-namespace.js";
import { evaluateChange } from "../helpers/fleet.js";
import { ruleContext } from "../helpers/rule-context.js";
import { corpusTree, DEV_TEAM_CONFIG, DEV_TEAM_CONFIG_YAML, tenantSync } from "./lib/tenancy-fixtures.js";

const check = (options: Parameters<typeof ruleContext>[0]) => fluxTargetNamespace.check(ruleContext(options));
const SYNC_SPEC = ["  serviceAccountName: dev-team", "  interval: 5m", "  sourceRef:", "    kind: GitRepository", "    name: dev-team", "  path: ./apps/dev-team/staging"];
const MISSING = "Kustomization apps/dev-team deploys for tenant dev-team without spec.targetNamespace: set it to one of the tenant's namespaces (apps).";
const REF = { apiVersion: "kustomize.toolkit.fluxcd.io/v1", kind: "Kustomization", name: "dev-team", namespace: "apps" };

function helmRelease(namespace: string, targetNamespace?: string): string {
  return [
    "apiVersion: helm.toolkit.fluxcd.io/v2",
    "kind: HelmRelease",
    "metadata:",
    "  name: podinfo",
    `  namespace: ${namespace}`,
    "spec:",
    "  serviceAccountName: dev-team",
    ...(targetNamespace ? [`  targetNamespace: ${targetNamespace}`] : []),
    "  chart:",
    "    spec:",
    "      chart: podinfo",
    "      sourceRef:",
    "        kind: HelmRepository",
    "        name: podinfo",
    "",
  ].join("\n");
}

describe("flux-target-namespace", () => {
  it("passes a tenant Kustomization that targets the tenant's namespace", () => {
    expect(check({ head: { "tenants/base/dev-team/sync.yaml": tenantSync(["  targetNamespace: apps", ...SYNC_SPEC]) }, config: DEV_TEAM_CONFIG })).toEqual([]);
  });

  it("flags a missing targetNamespace on the spec: line and adds it", () => {
    expect(check({ head: { "tenants/base/dev-team/sync.yaml": tenantSync(SYNC_SPEC) }, config: DEV_TEAM_CONFIG })).toEqual([
      {
        path: "tenants/base/dev-team/sync.yaml",
        line: 17,
        endLine: 17,
        message: MISSING,
        object: REF,
        fix: { line: 17, endLine: 17, replacement: "spec:\n  targetNamespace: apps", description: "Deploy into the tenant's namespace apps" },
      },
    ]);
  });

  it("flags a targetNamespace outside the tenant's namespaces and replaces it", () => {
    const [finding] = check({ head: { "tenants/base/dev-team/sync.yaml": tenantSync([...SYNC_SPEC, "  targetNamespace: kube-system"]) }, config: DEV_TEAM_CONFIG });
    expect(finding?.line).toBe(24);
    expect(finding?.message).toBe("Kustomization apps/dev-team deploys for tenant dev-team into namespace kube-system, outside the tenant's namespaces (apps).");
    expect(finding?.fix).toEqual({ line: 24, endLine: 24, replacement: "  targetNamespace: apps", description: "Deploy into the tenant's namespace apps" });
  });

  it("accepts a tenant HelmRelease that installs into its own (tenant) namespace, flags one that targets another", () => {
    expect(check({ head: { "apps/dev-team/base/release.yaml": helmRelease("apps") }, config: DEV_TEAM_CONFIG })).toEqual([]);
    // Without a namespace in its file, the kustomization that includes it decides: only a build can tell.
    expect(check({ head: { "apps/dev-team/base/release.yaml": helmRelease("apps").replace("  namespace: apps\n", "") }, config: DEV_TEAM_CONFIG })).toEqual([]);
    const [finding] = check({ head: { "apps/dev-team/base/release.yaml": helmRelease("apps", "default") }, config: DEV_TEAM_CONFIG });
    expect([finding?.line, finding?.message, finding?.fix?.replacement]).toEqual([
      8,
      "HelmRelease apps/podinfo deploys for tenant dev-team into namespace default, outside the tenant's namespaces (apps).",
      "  targetNamespace: apps",
    ]);
  });

  it("stays silent without tenants, for platform objects, and for tenants without namespaces", () => {
    expect(check({ head: { "tenants/base/dev-team/sync.yaml": tenantSync(SYNC_SPEC) } })).toEqual([]);
    expect(check({ head: { "infrastructure/base/ingress/release.yaml": helmRelease("ingress-nginx") }, config: DEV_TEAM_CONFIG })).toEqual([]);
    const noNamespaces = { tenants: [{ name: "dev-team", paths: ["apps/dev-team/**"], serviceAccount: "dev-team" }] };
    expect(check({ head: { "apps/dev-team/base/release.yaml": helmRelease("apps", "default") }, config: noNamespaces })).toEqual([]);
  });

  it("attributes a targetNamespace an overlay's JSON6902 operation changes to the operation's path line", () => {
    const sync = tenantSync(["  targetNamespace: apps", ...SYNC_SPEC]);
    const overlay = [
      "apiVersion: kustomize.config.k8s.io/v1beta1",
      "kind: Kustomization",
      "resources:",
      "  - ../base/dev-team",
      "patches:",
      "  - patch: |",
      "      - op: replace",
      "        path: /spec/targetNamespace",
      "        value: default",
      "    target:",
      "      kind: Kustomization",
      "      name: dev-team",
      "",
    ].join("\n");
    const rendered = { apiVersion: REF.apiVersion, kind: REF.kind, metadata: { name: "dev-team", namespace: "apps" }, spec: { serviceAccountName: "dev-team", targetNamespace: "default" } };
    const build = {
      report: { name: "Kustomization flux-system/tenants (clusters/staging)", path: "tenants/staging", ok: true, objects: 1 },
      objects: [{ object: rendered, ref: REF, source: { path: "tenants/staging/kustomization.yaml", line: 6 } }],
      issues: [],
    };
    const head = { "tenants/base/dev-team/sync.yaml": sync, "tenants/staging/kustomization.yaml": overlay };
    expect(check({ head, config: DEV_TEAM_CONFIG })).toEqual([]);
    expect(check({ head, config: DEV_TEAM_CONFIG, builds: [build] })).toEqual([
      {
        path: "tenants/staging/kustomization.yaml",
        line: 8,
        endLine: 8,
        message: "Kustomization apps/dev-team deploys for tenant dev-team into namespace default, outside the tenant's namespaces (apps).",
        object: REF,
        build: "Kustomization flux-system/tenants (clusters/staging)",
      },
    ]);
  });

  it("counts a newly added tenant Kustomization without targetNamespace (end to end)", async () => {
    const verdict = await evaluateChange({ ".github/fleet-warden.yml": DEV_TEAM_CONFIG_YAML }, { "tenants/base/dev-team/sync.yaml": tenantSync(SYNC_SPEC) }, { rules: [fluxTargetNamespace] });
    expect(verdict.findings.map((finding) => [finding.rule, finding.severity, finding.path, finding.line, finding.fix?.replacement])).toEqual([
      ["flux-target-namespace", "error", "tenants/base/dev-team/sync.yaml", 17, "spec:\n  targetNamespace: apps"],
    ]);
  });

  it("flags the flux2-multi-tenancy corpus's tenant Kustomization, which leaves the namespace to the tenant's manifests", () => {
    const tree = corpusTree("flux2-multi-tenancy/main");
    if (Object.keys(tree).length === 0) return;
    const findings = check({ head: tree, base: tree });
    expect(findings.map((finding) => [finding.path, finding.line, finding.message, finding.fix?.replacement])).toEqual([["tenants/base/dev-team/sync.yaml", 17, MISSING, "spec:\n  targetNamespace: apps"]]);
  });

  it("puts a targetNamespace an inline overlay patch sets on the patch's line, not on the base's line that says otherwise (end to end)", async () => {
    const tree = corpusTree("flux2-multi-tenancy/main");
    if (Object.keys(tree).length === 0) return;
    const base = { ...tree, "tenants/base/dev-team/sync.yaml": tree["tenants/base/dev-team/sync.yaml"]!.replace("  serviceAccountName: dev-team\n", "  serviceAccountName: dev-team\n  targetNamespace: apps\n") };
    const inline = ["  - patch: |", "      apiVersion: kustomize.toolkit.fluxcd.io/v1", "      kind: Kustomization", "      metadata:", "        name: dev-team", "        namespace: apps", "      spec:", "        targetNamespace: kube-system", ""];
    const head = { "tenants/staging/kustomization.yaml": `${tree["tenants/staging/kustomization.yaml"]!}${inline.join("\n")}` };
    const verdict = await evaluateChange(base, head, { rules: [fluxTargetNamespace] });
    expect(verdict.findings.map((finding) => [finding.path, finding.line, finding.fix])).toEqual([["tenants/staging/kustomization.yaml", 15, undefined]]);
  });

  it("puts a targetNamespace an inline JSON6902 operation sets on the operation's path line (end to end)", async () => {
    const tree = corpusTree("flux2-multi-tenancy/main");
    if (Object.keys(tree).length === 0) return;
    const base = { ...tree, "tenants/base/dev-team/sync.yaml": tree["tenants/base/dev-team/sync.yaml"]!.replace("  serviceAccountName: dev-team\n", "  serviceAccountName: dev-team\n  targetNamespace: apps\n") };
    const operation = (value: string) => ["  - patch: |", "      - op: replace", "        path: /spec/targetNamespace", `        value: ${value}`, "    target:", "      kind: Kustomization", "      name: dev-team", ""].join("\n");
    const place = async (value: string) => {
      const verdict = await evaluateChange(base, { "tenants/staging/kustomization.yaml": `${tree["tenants/staging/kustomization.yaml"]!}${operation(value)}` }, { rules: [fluxTargetNamespace] });
      return verdict.findings.map((finding) => [finding.path, finding.line, finding.fix]);
    };
    expect(await place("kube-system")).toEqual([["tenants/staging/kustomization.yaml", 10, undefined]]);
    expect(await place("apps")).toEqual([]);
    // Several operations name the field: the one that sets the value wins, not the first.
    const twice = ["  - patch: |", "      - op: add", "        path: /spec/targetNamespace", "        value: apps", "      - op: replace", "        path: /spec/targetNamespace", "        value: kube-system", "    target:", "      kind: Kustomization", "      name: dev-team", ""].join("\n");
    const verdict = await evaluateChange(base, { "tenants/staging/kustomization.yaml": `${tree["tenants/staging/kustomization.yaml"]!}${twice}` }, { rules: [fluxTargetNamespace] });
    expect(verdict.findings.map((finding) => `${finding.path}:${finding.line}`)).toEqual(["tenants/staging/kustomization.yaml:13"]);
  });

  it("reports a namespace an overlay patch sets on the patch alone, not also on the base's line that says otherwise", async () => {
    const tree = corpusTree("flux2-multi-tenancy/main");
    if (Object.keys(tree).length === 0) return;
    const base = { ...tree, "tenants/base/dev-team/sync.yaml": tree["tenants/base/dev-team/sync.yaml"]!.replace("  serviceAccountName: dev-team\n", "  serviceAccountName: dev-team\n  targetNamespace: apps\n") };
    const head = { "tenants/staging/dev-team-patch.yaml": `${tree["tenants/staging/dev-team-patch.yaml"]!}  targetNamespace: kube-system\n` };
    const verdict = await evaluateChange(base, head, { rules: [fluxTargetNamespace] });
    expect(verdict.findings.map((finding) => [finding.path, finding.line])).toEqual([["tenants/staging/dev-team-patch.yaml", 8]]);
  });
});
