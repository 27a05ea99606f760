// What a tenant's build applies is judged as the tenant's, whatever file it comes from and whatever the build
// says about where its objects come from: fixtures/sample-fleet, changed by tenant dev-team (apps/dev-team/**).
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { evaluate } from "../src/core/evaluate.js";
import { localFacts } from "../src/local.js";
import { podPrivileged } from "../rules/pod-privileged.js";
import { evaluateChange, folderTree, repoWithChange, writeTree, type Tree } from "./helpers/fleet.js";

const base = folderTree(fileURLToPath(new URL("../fixtures/sample-fleet/base/", import.meta.url)));
const asTenant = { author: "dev-alice", teams: ["acme/dev-team"] };

const clusterAdminBinding = (name: string) =>
  `apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: ${name}\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: cluster-admin\nsubjects:\n  - kind: ServiceAccount\n    name: default\n    namespace: apps\n`;
const stagingWith = (resources: string[], extra = "") =>
  `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../base\n${resources.map((resource) => `  - ${resource}\n`).join("")}patches:\n  - path: replicas.yaml\n${extra}`;

async function errors(head: Tree, from: Tree = base) {
  const verdict = await evaluateChange(from, head, asTenant);
  return verdict.findings.filter((finding) => finding.severity === "error").map((finding) => `${finding.rule} ${finding.path}`);
}

describe("tenant builds", () => {
  it("judges platform manifests that a tenant's Kustomization applies as the tenant's", async () => {
    const platformRbac = {
      "infrastructure/base/platform-rbac/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - admins.yaml\n",
      "infrastructure/base/platform-rbac/admins.yaml": clusterAdminBinding("platform-admins"),
    };
    const nodeTools = [
      "apiVersion: kustomize.toolkit.fluxcd.io/v1",
      "kind: Kustomization",
      "metadata:",
      "  name: node-tools",
      "spec:",
      "  interval: 5m",
      "  prune: true",
      "  sourceRef: {kind: GitRepository, name: dev-team}",
      "  path: ./infrastructure/base/platform-rbac",
      "  serviceAccountName: dev-team",
      "  targetNamespace: apps",
    ].join("\n");
    expect(await errors({ "apps/dev-team/staging/flux.yaml": nodeTools, "apps/dev-team/staging/kustomization.yaml": stagingWith(["flux.yaml"]) }, { ...base, ...platformRbac })).toEqual([
      "tenant-cluster-scoped infrastructure/base/platform-rbac/admins.yaml",
      "rbac-cluster-admin infrastructure/base/platform-rbac/admins.yaml",
    ]);
  });

  it("ignores a forged kustomize origin annotation: the objects stay the tenant's", async () => {
    const head = {
      "apps/dev-team/staging/crb.json": JSON.stringify({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: "root" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
        subjects: [{ kind: "ServiceAccount", name: "default", namespace: "apps" }],
      }),
      "apps/dev-team/staging/kustomization.yaml": stagingWith(["crb.json"], 'commonAnnotations:\n  config.kubernetes.io/origin: "path: ../../../docs/x.yaml"\n'),
    };
    expect(await errors(head)).toEqual(["rbac-cluster-admin apps/dev-team/staging", "tenant-cluster-scoped apps/dev-team/staging"]);
  });

  it("judges a rendered object even when its file is excluded: exclude leaves files unjudged, not what a build applies", async () => {
    const excluding = { ...base, ".github/fleet-warden.yml": base[".github/fleet-warden.yml"]!.replace('exclude: ["docs/**"]', 'exclude: ["docs/**", "**/examples/**"]') };
    const head = { "apps/dev-team/staging/examples/binding.yaml": clusterAdminBinding("root"), "apps/dev-team/staging/kustomization.yaml": stagingWith(["examples/binding.yaml"]) };
    expect(await errors(head, excluding)).toEqual(["tenant-cluster-scoped apps/dev-team/staging/examples/binding.yaml", "rbac-cluster-admin apps/dev-team/staging/examples/binding.yaml"]);
  });
});

describe("exclude", () => {
  it("still silences what the build says about an excluded file itself (an example Kustomization whose path does not exist)", async () => {
    const example = (path: string) =>
      `apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: example\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ${path}\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n`;
    const config = base[".github/fleet-warden.yml"]!.replace('exclude: ["docs/**"]', 'exclude: ["docs/**", "examples/**"]');
    const verdict = await evaluateChange({ ...base, ".github/fleet-warden.yml": config, "examples/ks.yaml": example("./examples/app") }, { "examples/ks.yaml": example("./examples/app2") }, { author: "plat-bob", teams: ["acme/platform"] });
    expect(verdict.findings.filter((finding) => finding.path.startsWith("examples/"))).toEqual([]);
    expect(verdict.preExisting.filter((finding) => finding.path.startsWith("examples/"))).toEqual([]);
  });

  it("silences findings on the files it names, not who may change them nor what Flux deploys from them", async () => {
    const config = base[".github/fleet-warden.yml"]!.replace('exclude: ["docs/**"]', 'exclude: ["docs/**", "infrastructure/base/**"]');
    expect(config).not.toBe(base[".github/fleet-warden.yml"]);
    const verdict = await evaluateChange({ ...base, ".github/fleet-warden.yml": config }, { "infrastructure/base/ingress-nginx/namespace.yaml": clusterAdminBinding("dev-team-admin") }, asTenant);
    expect(verdict.ownership.entries.map((entry) => [entry.path, entry.allowed])).toEqual([["infrastructure/base/ingress-nginx/namespace.yaml", false]]);
    expect(verdict.builds.map((build) => build.name)).toContain("flux-system/infrastructure (clusters/staging)");
    expect(verdict.renderedDiff.flatMap((diff) => diff.changes.map((change) => `${change.change} ${change.ref.kind} ${change.ref.name}`))).toContain("added ClusterRoleBinding dev-team-admin");
  });
});

describe("a pull request behind its base", () => {
  it("is judged by the tenants the base branch defines now, not by the older merge base it was cut from", async () => {
    const pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: dev-team\nspec:\n  hostPID: true\n  containers:\n    - name: c\n      image: nginx:1.27\n      securityContext:\n        privileged: true\n";
    const onboarding = [
      "apiVersion: kustomize.toolkit.fluxcd.io/v1",
      "kind: Kustomization",
      "metadata:",
      "  name: dev-team",
      "  namespace: dev-team",
      "spec:",
      "  interval: 10m",
      "  path: ./apps/dev-team",
      "  prune: true",
      "  serviceAccountName: dev-team",
      "  targetNamespace: dev-team",
      "  sourceRef:",
      "    kind: GitRepository",
      "    name: flux-system",
      "    namespace: flux-system",
      "",
    ].join("\n");
    const repo = repoWithChange({ "README.md": "fleet\n" }, { "apps/dev-team/pod.yaml": pod });
    // main moves on after the branch was cut: the tenant is onboarded.
    repo.git("checkout", "--quiet", "main");
    writeTree(repo.dir, { "tenants/dev-team/sync.yaml": onboarding });
    repo.git("add", "--all");
    repo.git("commit", "--quiet", "-m", "onboard dev-team");
    const { facts, dispose } = await localFacts({ repo: repo.dir, base: "main", head: "change", author: "dev-alice" });
    const verdict = await evaluate(facts, { rules: [podPrivileged] }).finally(dispose);
    expect(verdict.findings.map((finding) => [finding.rule, finding.severity, finding.path])).toEqual([["pod-privileged", "error", "apps/dev-team/pod.yaml"]]);
  });
});
