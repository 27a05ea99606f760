// Manifests shared by the tenant isolation rule tests: a fleet shaped like fluxcd/flux2-multi-tenancy
// (tenant dev-team, namespace apps, account dev-team), and a loader for the read-only corpus copies.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { folderTree, type Tree } from "../../helpers/fleet.js";

export const DEV_TEAM_CONFIG = {
  tenants: [{ name: "dev-team", paths: ["apps/dev-team/**"], namespaces: ["apps"], serviceAccount: "dev-team" }],
};

export const DEV_TEAM_CONFIG_YAML = `tenants:
  - name: dev-team
    paths: ["apps/dev-team/**"]
    namespaces: [apps]
    serviceAccount: dev-team
`;

/** tenants/base/dev-team/sync.yaml of the sample fleet, with `spec` lines supplied by the test. */
export function tenantSync(specLines: string[]): string {
  return [
    "apiVersion: source.toolkit.fluxcd.io/v1",
    "kind: GitRepository",
    "metadata:",
    "  name: dev-team",
    "  namespace: apps",
    "spec:",
    "  interval: 1m",
    "  url: ssh://git@github.com/acme/fleet",
    "  ref:",
    "    branch: main",
    "---",
    "apiVersion: kustomize.toolkit.fluxcd.io/v1",
    "kind: Kustomization",
    "metadata:",
    "  name: dev-team",
    "  namespace: apps",
    "spec:",
    ...specLines,
    "",
  ].join("\n");
}

/** A platform Flux Kustomization in flux-system that builds `path` of this repository (spec: on line 6). */
export function platformKustomization(name: string, path: string): string {
  return [
    "apiVersion: kustomize.toolkit.fluxcd.io/v1",
    "kind: Kustomization",
    "metadata:",
    `  name: ${name}`,
    "  namespace: flux-system",
    "spec:",
    "  interval: 10m",
    "  sourceRef:",
    "    kind: GitRepository",
    "    name: flux-system",
    `  path: ${path}`,
    "",
  ].join("\n");
}

/** The lockdown patches of Flux's multi-tenancy guide, as in clusters/<name>/flux-system/kustomization.yaml. */
export const LOCKDOWN_KUSTOMIZATION = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - gotk-components.yaml
  - gotk-sync.yaml
patches:
  - patch: |
      - op: add
        path: /spec/template/spec/containers/0/args/-
        value: --no-cross-namespace-refs=true
    target:
      kind: Deployment
      name: "(kustomize-controller|helm-controller|notification-controller|image-reflector-controller|image-automation-controller)"
  - patch: |
      - op: add
        path: /spec/template/spec/containers/0/args/-
        value: --no-remote-bases=true
    target:
      kind: Deployment
      name: "kustomize-controller"
  - patch: |
      - op: add
        path: /spec/template/spec/containers/0/args/-
        value: --default-service-account=default
    target:
      kind: Deployment
      name: "(kustomize-controller|helm-controller)"
`;

export const PLAIN_FLUX_KUSTOMIZATION = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - gotk-components.yaml
  - gotk-sync.yaml
`;

/** The two controllers of gotk-components.yaml whose flags matter, with extra args for each. */
export function gotkComponents(kustomizeArgs: string[] = [], helmArgs: string[] = []): string {
  const deployment = (name: string, extra: string[]) =>
    [
      "apiVersion: apps/v1",
      "kind: Deployment",
      "metadata:",
      `  name: ${name}`,
      "  namespace: flux-system",
      "  labels:",
      `    app: ${name}`,
      "spec:",
      "  template:",
      "    spec:",
      "      containers:",
      "        - name: manager",
      `          image: ghcr.io/fluxcd/${name}:v1.7.0`,
      "          args:",
      "            - --watch-all-namespaces=true",
      ...extra.map((arg) => `            - ${arg}`),
    ].join("\n");
  return `${deployment("kustomize-controller", kustomizeArgs)}\n---\n${deployment("helm-controller", helmArgs)}\n`;
}

export const CORPUS = "/work/shared/corpus";

/** A folder of the read-only corpus as a tree (empty when the corpus is not on this machine). */
export function corpusTree(folder: string): Tree {
  const root = join(CORPUS, folder);
  return existsSync(root) ? folderTree(root) : {};
}
