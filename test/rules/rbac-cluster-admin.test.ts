import { describe, expect, it } from "vitest";
import { rbacClusterAdmin } from "../../rules/rbac-cluster-admin.js";
import { evaluateChange } from "../helpers/fleet.js";
import { ruleContext } from "../helpers/rule-context.js";
import { corpusTree, DEV_TEAM_CONFIG, DEV_TEAM_CONFIG_YAML } from "./lib/tenancy-fixtures.js";

const check = (options: Parameters<typeof ruleContext>[0]) => rbacClusterAdmin.check(ruleContext(options));

function binding(kind: "RoleBinding" | "ClusterRoleBinding", role: string, roleKind = "ClusterRole"): string {
  return [
    "apiVersion: rbac.authorization.k8s.io/v1",
    `kind: ${kind}`,
    "metadata:",
    "  name: dev-team-debug",
    ...(kind === "RoleBinding" ? ["  namespace: apps"] : []),
    "roleRef:",
    "  apiGroup: rbac.authorization.k8s.io",
    `  kind: ${roleKind}`,
    `  name: ${role}`,
    "subjects:",
    "  - kind: ServiceAccount",
    "    name: dev-team",
    "    namespace: apps",
    "",
  ].join("\n");
}

describe("rbac-cluster-admin", () => {
  it("passes tenant bindings to narrower roles, and a namespaced Role that happens to be called cluster-admin", () => {
    expect(check({ head: { "apps/dev-team/base/rbac.yaml": binding("RoleBinding", "edit") }, config: DEV_TEAM_CONFIG })).toEqual([]);
    expect(check({ head: { "apps/dev-team/base/rbac.yaml": binding("RoleBinding", "cluster-admin", "Role") }, config: DEV_TEAM_CONFIG })).toEqual([]);
  });

  it("flags a tenant RoleBinding to cluster-admin on the roleRef name and offers the namespaced admin role", () => {
    expect(check({ head: { "apps/dev-team/base/rbac.yaml": binding("RoleBinding", "cluster-admin") }, config: DEV_TEAM_CONFIG })).toEqual([
      {
        path: "apps/dev-team/base/rbac.yaml",
        line: 9,
        endLine: 9,
        message: "RoleBinding apps/dev-team-debug binds cluster-admin in tenant dev-team's territory: only the platform team may grant cluster-admin.",
        object: { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", name: "dev-team-debug", namespace: "apps" },
        fix: { line: 9, endLine: 9, replacement: "  name: admin", description: "Bind the namespaced admin ClusterRole instead" },
      },
    ]);
  });

  it("flags a tenant ClusterRoleBinding to cluster-admin without a one-line fix", () => {
    const [finding] = check({ head: { "apps/dev-team/staging/debug-access.yaml": binding("ClusterRoleBinding", "cluster-admin") }, config: DEV_TEAM_CONFIG });
    expect([finding?.line, finding?.message, finding?.fix]).toEqual([
      8,
      "ClusterRoleBinding dev-team-debug binds cluster-admin in tenant dev-team's territory: only the platform team may grant cluster-admin.",
      undefined,
    ]);
  });

  it("leaves the platform's own tenant RBAC alone (flux2-multi-tenancy's tenants/base/dev-team/rbac.yaml shape)", () => {
    expect(check({ head: { "tenants/base/dev-team/rbac.yaml": binding("RoleBinding", "cluster-admin") }, config: DEV_TEAM_CONFIG })).toEqual([]);
    expect(check({ head: { "apps/dev-team/base/rbac.yaml": binding("RoleBinding", "cluster-admin") } })).toEqual([]);
  });

  it("catches a binding pulled into a tenant build from a platform component, on the line the build traced", () => {
    const ref = { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", name: "dev-team-debug" };
    const rendered = { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: "dev-team-debug" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" } };
    const overlay = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../base\ncomponents:\n  - ../../../components/debug\n";
    const build = {
      report: { name: "Kustomization apps/dev-team (clusters/staging)", path: "apps/dev-team/staging", ok: true, objects: 1 },
      objects: [{ object: rendered, ref, source: { path: "apps/dev-team/staging/kustomization.yaml", line: 6 } }],
      issues: [],
    };
    expect(check({ head: { "apps/dev-team/staging/kustomization.yaml": overlay }, config: DEV_TEAM_CONFIG, builds: [build] })).toEqual([
      {
        path: "apps/dev-team/staging/kustomization.yaml",
        line: 6,
        endLine: 6,
        message: "ClusterRoleBinding dev-team-debug binds cluster-admin in tenant dev-team's territory: only the platform team may grant cluster-admin.",
        object: ref,
        build: "Kustomization apps/dev-team (clusters/staging)",
      },
    ]);
  });

  it("reports a role an overlay patch sets on the patch, without the base file's one-line fix", () => {
    const ref = { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", name: "dev-team-debug", namespace: "apps" };
    const rendered = { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: "apps" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" } };
    const patch = "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: dev-team-debug\n  namespace: apps\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: cluster-admin\n";
    const build = {
      report: { name: "Kustomization apps/dev-team (clusters/staging)", path: "apps/dev-team/staging", ok: true, objects: 1 },
      objects: [{ object: rendered, ref, source: { path: "apps/dev-team/base/rbac.yaml", line: 1 } }],
      issues: [],
    };
    const head = {
      "apps/dev-team/base/rbac.yaml": binding("RoleBinding", "view"),
      "apps/dev-team/staging/kustomization.yaml": "resources:\n  - ../base\npatches:\n  - path: rbac-patch.yaml\n",
      "apps/dev-team/staging/rbac-patch.yaml": patch,
    };
    const findings = check({ head, config: DEV_TEAM_CONFIG, builds: [build], changed: ["apps/dev-team/staging/rbac-patch.yaml"] });
    expect(findings.map((finding) => [finding.path, finding.line, finding.fix])).toEqual([["apps/dev-team/staging/rbac-patch.yaml", 9, undefined]]);
  });

  it("fails a pull request that adds a cluster-admin binding for the tenant (end to end)", async () => {
    const verdict = await evaluateChange({ ".github/fleet-warden.yml": DEV_TEAM_CONFIG_YAML }, { "apps/dev-team/staging/debug-access.yaml": binding("ClusterRoleBinding", "cluster-admin") }, { rules: [rbacClusterAdmin] });
    expect(verdict.conclusion).toBe("failure");
    expect(verdict.findings.map((finding) => [finding.rule, finding.severity, finding.line])).toEqual([["rbac-cluster-admin", "error", 8]]);
  });

  it("honours a fleet-warden.io/ignore exception that already exists on the base, and lists it (end to end)", async () => {
    const annotated = (role: string) =>
      binding("ClusterRoleBinding", role).replace(
        "  name: dev-team-debug\n",
        "  name: dev-team-debug\n  annotations:\n    fleet-warden.io/ignore: rbac-cluster-admin\n    fleet-warden.io/ignore-reason: break-glass access until INC-1234 is closed\n",
      );
    const base = { ".github/fleet-warden.yml": DEV_TEAM_CONFIG_YAML, "apps/dev-team/staging/debug-access.yaml": annotated("view") };
    const verdict = await evaluateChange(base, { "apps/dev-team/staging/debug-access.yaml": annotated("cluster-admin") }, { rules: [rbacClusterAdmin] });
    expect(verdict.findings).toEqual([]);
    expect(verdict.ignored.map((entry) => [entry.finding.rule, entry.finding.line, entry.reason])).toEqual([["rbac-cluster-admin", 11, "break-glass access until INC-1234 is closed"]]);
  });

  it("is silent on the flux2-multi-tenancy corpus, whose cluster-admin RoleBinding is platform territory", () => {
    const tree = corpusTree("flux2-multi-tenancy/main");
    expect(check({ head: tree, base: tree })).toEqual([]);
  });

  it("flags that RoleBinding once a config hands tenants/base/dev-team/ to the tenant (DESIGN's example config)", () => {
    const tree = corpusTree("flux2-multi-tenancy/main");
    if (Object.keys(tree).length === 0) return;
    const config = { tenants: [{ name: "dev-team", paths: ["tenants/base/dev-team/**", "tenants/*/dev-team/**"], namespaces: ["apps"], serviceAccount: "dev-team" }] };
    expect(check({ head: tree, base: tree, config }).map((finding) => [finding.path, finding.line, finding.message, finding.fix?.replacement])).toEqual([
      [
        "tenants/base/dev-team/rbac.yaml",
        29,
        "RoleBinding apps/gotk-reconciler binds cluster-admin in tenant dev-team's territory: only the platform team may grant cluster-admin.",
        "  name: admin",
      ],
    ]);
  });
});
