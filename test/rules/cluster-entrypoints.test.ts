import { describe, expect, it } from "vitest";
import { clusterEntrypoints } from "../../rules/cluster-entrypoints.js";
import { ruleContext } from "../helpers/rule-context.js";
import { corpusTree } from "./lib/tenancy-fixtures.js";

const infrastructure = [
  "apiVersion: kustomize.toolkit.fluxcd.io/v1",
  "kind: Kustomization",
  "metadata:",
  "  name: infrastructure",
  "  namespace: flux-system",
  "spec:",
  "  interval: 1h",
  "  sourceRef:",
  "    kind: GitRepository",
  "    name: flux-system",
  "  path: ./infrastructure/production",
  "  prune: true",
].join("\n");

const artifacts = [
  "apiVersion: source.extensions.fluxcd.io/v1beta1",
  "kind: ArtifactGenerator",
  "metadata:",
  "  name: flux-system",
  "  namespace: flux-system",
  "spec:",
  "  sources:",
  "    - alias: monorepo",
  "      kind: GitRepository",
  "      name: flux-system",
].join("\n");

const debugRbac = [
  "apiVersion: rbac.authorization.k8s.io/v1",
  "kind: ClusterRoleBinding",
  "metadata:",
  "  name: debug-admin",
  "roleRef:",
  "  apiGroup: rbac.authorization.k8s.io",
  "  kind: ClusterRole",
  "  name: cluster-admin",
  "subjects:",
  "  - kind: User",
  "    name: alice",
].join("\n");

const deployment = [
  "apiVersion: apps/v1",
  "kind: Deployment",
  "metadata:",
  "  name: podinfo",
  "  namespace: apps",
  "spec:",
  "  selector:",
  "    matchLabels: {app: podinfo}",
  "  template:",
  "    metadata:",
  "      labels: {app: podinfo}",
  "    spec:",
  "      containers:",
  "        - name: podinfo",
  "          image: ghcr.io/stefanprodan/podinfo:6.7.0",
].join("\n");

describe("cluster-entrypoints", () => {
  it("accepts Flux objects, kustomize files and anything under flux-system/", () => {
    const head = {
      "clusters/production/infrastructure.yaml": infrastructure,
      "clusters/production/artifacts.yaml": artifacts,
      "clusters/production/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - infrastructure.yaml\n",
      "clusters/production/flux-system/gotk-components.yaml": deployment.replace("podinfo", "source-controller"),
      "infrastructure/production/rbac.yaml": debugRbac,
    };
    expect(clusterEntrypoints.check(ruleContext({ head }))).toEqual([]);
  });

  it("flags workloads and RBAC placed directly in a cluster folder, on their kind line", () => {
    const head = { "clusters/production/infrastructure.yaml": `${infrastructure}\n---\n${debugRbac}\n`, "clusters/staging/apps/podinfo.yaml": deployment };
    expect(clusterEntrypoints.check(ruleContext({ head }))).toEqual([
      {
        path: "clusters/production/infrastructure.yaml",
        line: 15,
        endLine: 15,
        message: "ClusterRoleBinding debug-admin is applied directly from the entrypoint of cluster production; move it under infrastructure/ or the tenant's folder and point a Flux Kustomization at it.",
        object: { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", name: "debug-admin" },
      },
      {
        path: "clusters/staging/apps/podinfo.yaml",
        line: 2,
        endLine: 2,
        message: "Deployment apps/podinfo is applied directly from the entrypoint of cluster staging; move it under infrastructure/ or the tenant's folder and point a Flux Kustomization at it.",
        object: { apiVersion: "apps/v1", kind: "Deployment", name: "podinfo", namespace: "apps" },
      },
    ]);
  });

  it.each(["flux2-multi-tenancy/main", "flux2-multi-tenancy/dev-team", "flux2-kustomize-helm-example/pre-2.7", "flux2-kustomize-helm-example/main"])("is silent on the clean %s corpus", (folder) => {
    expect(clusterEntrypoints.check(ruleContext({ head: corpusTree(folder) }))).toEqual([]);
  });
});
