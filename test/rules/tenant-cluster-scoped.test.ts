import { describe, expect, it } from "vitest";
import { tenantClusterScoped } from "../../rules/tenant-cluster-scoped.js";
import { evaluateChange } from "../helpers/fleet.js";
import { ruleContext } from "../helpers/rule-context.js";
import { corpusTree, DEV_TEAM_CONFIG, DEV_TEAM_CONFIG_YAML } from "./lib/tenancy-fixtures.js";

const check = (options: Parameters<typeof ruleContext>[0]) => tenantClusterScoped.check(ruleContext(options));

const DEBUG_ACCESS = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: dev-team-debug
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
  - kind: ServiceAccount
    name: dev-team
    namespace: apps
`;
const CRB_REF = { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", name: "dev-team-debug" };
const CRB_MESSAGE = "ClusterRoleBinding dev-team-debug is cluster-scoped: tenant dev-team may only create objects in its own namespaces; ask the platform team to add it under platform territory.";

const STAGING_OVERLAY = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../base
  - debug-access.yaml
patches:
  - path: replicas.yaml
`;

const NAMESPACED = `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: podinfo-reader
rules:
  - apiGroups: [""]
    resources: ["configmaps"]
    verbs: ["get"]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: podinfo
data:
  color: blue
`;

describe("tenant-cluster-scoped", () => {
  it("passes namespaced objects in tenant territory", () => {
    expect(check({ head: { "apps/dev-team/base/rbac.yaml": NAMESPACED }, config: DEV_TEAM_CONFIG })).toEqual([]);
  });

  it("flags a ClusterRoleBinding in tenant territory on its kind: line", () => {
    expect(check({ head: { "apps/dev-team/staging/debug-access.yaml": DEBUG_ACCESS }, config: DEV_TEAM_CONFIG })).toEqual([
      { path: "apps/dev-team/staging/debug-access.yaml", line: 2, endLine: 2, message: CRB_MESSAGE, object: CRB_REF },
    ]);
  });

  it("flags every cluster-scoped kind of the list: Namespace, CRD, webhook configuration, PriorityClass", () => {
    const text = [
      "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: dev-team-extra",
      "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com",
      "apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\nmetadata:\n  name: inject",
      "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata:\n  name: urgent",
    ].join("\n---\n");
    const findings = check({ head: { "apps/dev-team/base/extras.yaml": text }, config: DEV_TEAM_CONFIG });
    expect(findings.map((finding) => [finding.line, finding.object?.kind])).toEqual([
      [2, "Namespace"],
      [7, "CustomResourceDefinition"],
      [12, "MutatingWebhookConfiguration"],
      [17, "PriorityClass"],
    ]);
  });

  it("leaves platform territory and repositories without tenants alone", () => {
    expect(check({ head: { "infrastructure/base/rbac/debug-access.yaml": DEBUG_ACCESS }, config: DEV_TEAM_CONFIG })).toEqual([]);
    expect(check({ head: { "apps/dev-team/staging/debug-access.yaml": DEBUG_ACCESS } })).toEqual([]);
  });

  it("reports a ClusterRoleBinding that the staging overlay pulls in on the overlay's resources: line", () => {
    const build = {
      report: { name: "Kustomization apps/dev-team (clusters/staging)", path: "apps/dev-team/staging", ok: true, objects: 1 },
      objects: [{ object: { apiVersion: CRB_REF.apiVersion, kind: CRB_REF.kind, metadata: { name: "dev-team-debug" } }, ref: CRB_REF, source: { path: "apps/dev-team/staging/kustomization.yaml", line: 5 } }],
      issues: [],
    };
    const head = { "apps/dev-team/staging/kustomization.yaml": STAGING_OVERLAY };
    expect(check({ head, config: DEV_TEAM_CONFIG, builds: [build] })).toEqual([
      { path: "apps/dev-team/staging/kustomization.yaml", line: 5, endLine: 5, message: CRB_MESSAGE, object: CRB_REF, build: "Kustomization apps/dev-team (clusters/staging)" },
    ]);
  });

  it("attributes an object a tenant build renders from a shared component to the tenant (the build's own territory)", () => {
    const component = DEBUG_ACCESS;
    const build = {
      report: { name: "Kustomization apps/dev-team (clusters/staging)", path: "apps/dev-team/staging", ok: true, objects: 1 },
      objects: [{ object: { apiVersion: CRB_REF.apiVersion, kind: CRB_REF.kind, metadata: { name: "dev-team-debug" } }, ref: CRB_REF, source: { path: "components/debug/access.yaml", line: 1 } }],
      issues: [],
    };
    const findings = check({ head: { "components/debug/access.yaml": component }, changed: [], config: DEV_TEAM_CONFIG, builds: [build] });
    expect(findings.map((finding) => [finding.path, finding.line, finding.build])).toEqual([["components/debug/access.yaml", 2, "Kustomization apps/dev-team (clusters/staging)"]]);
  });

  it("fails a pull request that adds a ClusterRoleBinding to the tenant's overlay (end to end)", async () => {
    const base = {
      ".github/fleet-warden.yml": DEV_TEAM_CONFIG_YAML,
      "apps/dev-team/staging/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../base\n",
      "apps/dev-team/base/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - rbac.yaml\n",
      "apps/dev-team/base/rbac.yaml": NAMESPACED,
    };
    const verdict = await evaluateChange(base, { "apps/dev-team/staging/kustomization.yaml": STAGING_OVERLAY.replace("patches:\n  - path: replicas.yaml\n", ""), "apps/dev-team/staging/debug-access.yaml": DEBUG_ACCESS }, { rules: [tenantClusterScoped] });
    expect(verdict.conclusion).toBe("failure");
    expect(verdict.findings.map((finding) => [finding.rule, finding.severity, finding.path, finding.line])).toEqual([["tenant-cluster-scoped", "error", "apps/dev-team/staging/debug-access.yaml", 2]]);
  });

  it("is silent on the flux2-multi-tenancy corpus: its Namespace and RBAC live in platform territory (tenants/)", () => {
    const tree = corpusTree("flux2-multi-tenancy/main");
    expect(check({ head: tree, base: tree })).toEqual([]);
  });

  it("flags the tenant's Namespace once a config hands tenants/base/dev-team/ to the tenant (DESIGN's example config)", () => {
    const tree = corpusTree("flux2-multi-tenancy/main");
    if (Object.keys(tree).length === 0) return;
    const config = { tenants: [{ name: "dev-team", paths: ["tenants/base/dev-team/**", "tenants/*/dev-team/**"], namespaces: ["apps"], serviceAccount: "dev-team" }] };
    expect(check({ head: tree, base: tree, config }).map((finding) => [finding.path, finding.line, finding.object?.kind])).toEqual([["tenants/base/dev-team/rbac.yaml", 3, "Namespace"]]);
  });
});
