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

  it("flags the cluster-scoped kinds of common add-ons (external-secrets, Cilium, Calico, Kyverno, Gatekeeper)", () => {
    const text = [
      "apiVersion: external-secrets.io/v1beta1\nkind: ClusterExternalSecret\nmetadata:\n  name: steal-db-password",
      "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata:\n  name: allow-all-egress",
      "apiVersion: crd.projectcalico.org/v1\nkind: GlobalNetworkPolicy\nmetadata:\n  name: allow-all",
      "apiVersion: kyverno.io/v2\nkind: ClusterCleanupPolicy\nmetadata:\n  name: delete-everything",
      "apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata:\n  name: k8sallowall",
      "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sAllowAll\nmetadata:\n  name: everyone",
      "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: hijack",
    ].join("\n---\n");
    const findings = check({ head: { "apps/dev-team/staging/cluster.yaml": text }, config: DEV_TEAM_CONFIG });
    expect(findings.map((finding) => [finding.line, finding.message])).toEqual([
      [2, "ClusterExternalSecret steal-db-password is cluster-scoped: tenant dev-team may only create objects in its own namespaces; ask the platform team to add it under platform territory."],
      [7, "CiliumClusterwideNetworkPolicy allow-all-egress is cluster-scoped: tenant dev-team may only create objects in its own namespaces; ask the platform team to add it under platform territory."],
      [12, "GlobalNetworkPolicy allow-all is cluster-scoped: tenant dev-team may only create objects in its own namespaces; ask the platform team to add it under platform territory."],
      [17, "ClusterCleanupPolicy delete-everything is cluster-scoped: tenant dev-team may only create objects in its own namespaces; ask the platform team to add it under platform territory."],
      [22, "ConstraintTemplate k8sallowall is cluster-scoped: tenant dev-team may only create objects in its own namespaces; ask the platform team to add it under platform territory."],
      [27, "K8sAllowAll everyone is cluster-scoped: tenant dev-team may only create objects in its own namespaces; ask the platform team to add it under platform territory."],
      [32, "IPPool hijack is cluster-scoped: tenant dev-team may only create objects in its own namespaces; ask the platform team to add it under platform territory."],
    ]);
  });

  it("passes namespaced kinds of the same add-ons, and a common kind name in another API group", () => {
    const text = [
      "apiVersion: external-secrets.io/v1beta1\nkind: ExternalSecret\nmetadata:\n  name: db-password",
      "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: allow-dns",
      "apiVersion: crd.projectcalico.org/v1\nkind: NetworkPolicy\nmetadata:\n  name: allow-web",
      "apiVersion: kyverno.io/v2\nkind: CleanupPolicy\nmetadata:\n  name: delete-old-jobs",
      "apiVersion: ipam.example.com/v1\nkind: IPPool\nmetadata:\n  name: team-pool",
    ].join("\n---\n");
    expect(check({ head: { "apps/dev-team/staging/namespaced.yaml": text }, config: DEV_TEAM_CONFIG })).toEqual([]);
  });

  it("flags a custom resource whose CustomResourceDefinition in the repository says scope: Cluster (group and kind must match)", () => {
    const crds = [
      "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: meshpolicies.mesh.example.com\nspec:\n  group: mesh.example.com\n  scope: Cluster\n  names:\n    kind: MeshPolicy\n    plural: meshpolicies",
      "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: routes.mesh.example.com\nspec:\n  group: mesh.example.com\n  scope: Namespaced\n  names:\n    kind: Route\n    plural: routes",
    ].join("\n---\n");
    const tenantObjects = [
      "apiVersion: mesh.example.com/v1\nkind: MeshPolicy\nmetadata:\n  name: open-everything",
      "apiVersion: mesh.example.com/v1\nkind: Route\nmetadata:\n  name: podinfo",
      "apiVersion: other.example.com/v1\nkind: MeshPolicy\nmetadata:\n  name: same-kind-other-group",
    ].join("\n---\n");
    const head = { "infrastructure/base/mesh/crds.yaml": crds, "apps/dev-team/staging/mesh.yaml": tenantObjects };
    expect(check({ head, changed: ["apps/dev-team/staging/mesh.yaml"], config: DEV_TEAM_CONFIG })).toEqual([
      {
        path: "apps/dev-team/staging/mesh.yaml",
        line: 2,
        endLine: 2,
        message: "MeshPolicy open-everything is cluster-scoped: tenant dev-team may only create objects in its own namespaces; ask the platform team to add it under platform territory.",
        object: { apiVersion: "mesh.example.com/v1", kind: "MeshPolicy", name: "open-everything" },
      },
    ]);
  });

  it("finds a CRD listed in a List, and is silent without the CRD", () => {
    const crdAsList = "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: apiextensions.k8s.io/v1\n    kind: CustomResourceDefinition\n    metadata:\n      name: meshpolicies.mesh.example.com\n    spec:\n      group: mesh.example.com\n      scope: Cluster\n      names:\n        kind: MeshPolicy\n        plural: meshpolicies\n";
    const policy = "apiVersion: mesh.example.com/v1\nkind: MeshPolicy\nmetadata:\n  name: open-everything\n";
    const withCrd = check({ head: { "infrastructure/base/mesh/crds.yaml": crdAsList, "apps/dev-team/staging/mesh.yaml": policy }, changed: ["apps/dev-team/staging/mesh.yaml"], config: DEV_TEAM_CONFIG });
    expect(withCrd.map((finding) => [finding.path, finding.line, finding.object?.kind])).toEqual([["apps/dev-team/staging/mesh.yaml", 2, "MeshPolicy"]]);
    expect(check({ head: { "apps/dev-team/staging/mesh.yaml": policy }, config: DEV_TEAM_CONFIG })).toEqual([]);
  });

  it("parses only the files that mention CustomResourceDefinition to find CRDs", () => {
    const policy = "apiVersion: mesh.example.com/v1\nkind: MeshPolicy\nmetadata:\n  name: open-everything\n";
    const context = ruleContext({
      head: { "apps/dev-team/staging/mesh.yaml": policy, "infrastructure/base/podinfo/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: podinfo\n" },
      changed: ["apps/dev-team/staging/mesh.yaml"],
      config: DEV_TEAM_CONFIG,
    });
    const parsed: string[] = [];
    const parse = context.head.file.bind(context.head);
    context.head.file = (path) => {
      parsed.push(path);
      return parse(path);
    };
    expect(tenantClusterScoped.check(context)).toEqual([]);
    expect(parsed).not.toContain("infrastructure/base/podinfo/deployment.yaml");
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

  it("names a rendered custom resource without the namespace kustomize gave it", () => {
    const ref = { apiVersion: "external-secrets.io/v1beta1", kind: "ClusterExternalSecret", namespace: "apps", name: "steal-db-password" };
    const build = {
      report: { name: "Kustomization apps/dev-team (clusters/staging)", path: "apps/dev-team/staging", ok: true, objects: 1 },
      objects: [{ object: { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: "apps" } }, ref, source: { path: "apps/dev-team/staging/kustomization.yaml", line: 5 } }],
      issues: [],
    };
    const findings = check({ head: { "apps/dev-team/staging/kustomization.yaml": STAGING_OVERLAY }, config: DEV_TEAM_CONFIG, builds: [build] });
    expect(findings.map((finding) => [finding.path, finding.line, finding.message])).toEqual([
      ["apps/dev-team/staging/kustomization.yaml", 5, "ClusterExternalSecret steal-db-password is cluster-scoped: tenant dev-team may only create objects in its own namespaces; ask the platform team to add it under platform territory."],
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
