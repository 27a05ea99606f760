import { describe, expect, it } from "vitest";
import { FleetModel } from "../../../src/core/fleet.js";
import { fluxGraph, originOf } from "../../../rules/lib/flux-graph.js";
import { canonicalGitUrl } from "../../../src/core/flux.js";
import { tempDir, writeTree, type Tree } from "../../helpers/fleet.js";

const model = (tree: Tree) => {
  const root = tempDir();
  writeTree(root, tree);
  return new FleetModel(root);
};

const gotkSync = [
  "apiVersion: source.toolkit.fluxcd.io/v1",
  "kind: GitRepository",
  "metadata:",
  "  name: flux-system",
  "  namespace: flux-system",
  "spec:",
  "  interval: 1m0s",
  "  ref:",
  "    branch: main",
  "  url: ssh://git@github.com/acme/fleet",
  "---",
  "apiVersion: kustomize.toolkit.fluxcd.io/v1",
  "kind: Kustomization",
  "metadata:",
  "  name: flux-system",
  "  namespace: flux-system",
  "spec:",
  "  interval: 10m0s",
  "  path: ./clusters/production",
  "  prune: true",
  "  sourceRef:",
  "    kind: GitRepository",
  "    name: flux-system",
  "",
].join("\n");

const fluxSystemKustomization = [
  "apiVersion: kustomize.config.k8s.io/v1beta1",
  "kind: Kustomization",
  "resources:",
  "  - gotk-sync.yaml",
  "patches:",
  "  - patch: |",
  "      - op: add",
  "        path: /spec/decryption",
  "        value:",
  "          provider: sops",
  "          secretRef:",
  "            name: sops-age",
  "    target:",
  "      kind: Kustomization",
  '      name: "flux-system"',
  "",
].join("\n");

const tenant = [
  "apiVersion: kustomize.toolkit.fluxcd.io/v1",
  "kind: Kustomization",
  "metadata:",
  "  name: dev-team",
  "spec:",
  "  interval: 5m",
  "  sourceRef:",
  "    kind: GitRepository",
  "    name: flux-system",
  "    namespace: flux-system",
  "  path: ./apps/dev-team/staging",
  "  prune: true",
  "---",
  "apiVersion: image.toolkit.fluxcd.io/v1beta2",
  "kind: ImagePolicy",
  "metadata:",
  "  name: podinfo",
  "spec:",
  "  imageRepositoryRef: {name: podinfo}",
  "",
].join("\n");

const fleet: Tree = {
  "clusters/production/flux-system/gotk-sync.yaml": gotkSync,
  "clusters/production/flux-system/kustomization.yaml": fluxSystemKustomization,
  "clusters/production/tenants.yaml": gotkSync.split("---\n")[1]!.replace("name: flux-system\n  namespace", "name: tenants\n  namespace").replace("./clusters/production", "./tenants/production"),
  "tenants/base/dev-team/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: apps\nresources:\n  - sync.yaml\n",
  "tenants/base/dev-team/sync.yaml": tenant,
  "tenants/production/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../base/dev-team\npatches:\n  - path: dev-team-patch.yaml\n",
  "tenants/production/dev-team-patch.yaml": "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: dev-team\nspec:\n  path: ./apps/dev-team/production\n",
  "apps/dev-team/production/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: podinfo\n",
  "apps/dev-team/production/extra/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n",
};

describe("flux graph", () => {
  it("walks each cluster through Kustomization paths and kustomization resources, with namespaces and patches applied", () => {
    const graph = fluxGraph(model(fleet));
    expect(graph.clusters).toEqual(["production"]);
    expect(graph.objects.map((object) => `${object.cluster}|${object.ref.kind} ${object.ref.namespace}/${object.ref.name}|${object.doc.path}`)).toEqual([
      "production|Kustomization flux-system/tenants|clusters/production/tenants.yaml",
      "production|GitRepository flux-system/flux-system|clusters/production/flux-system/gotk-sync.yaml",
      "production|Kustomization flux-system/flux-system|clusters/production/flux-system/gotk-sync.yaml",
      "production|Kustomization apps/dev-team|tenants/base/dev-team/sync.yaml",
      "production|ImagePolicy apps/podinfo|tenants/base/dev-team/sync.yaml",
    ]);
    const [tenants, , root, devTeam] = graph.objects;
    expect(root!.spec.decryption).toEqual({ provider: "sops", secretRef: { name: "sops-age" } });
    expect(originOf(root!, ["decryption"])).toMatchObject({ doc: { path: "clusters/production/flux-system/kustomization.yaml" }, path: ["patches", 0] });
    expect(devTeam!.spec.path).toBe("./apps/dev-team/production");
    expect(originOf(devTeam!, ["path"])).toMatchObject({ doc: { path: "tenants/production/dev-team-patch.yaml" }, path: ["spec", "path"] });
    expect(graph.readsThisRepository(devTeam!)).toBe(true);
    expect(graph.appliedFiles(devTeam!)).toEqual(["apps/dev-team/production/deployment.yaml", "apps/dev-team/production/extra/configmap.yaml"]);
    expect(graph.appliedFiles(tenants!)).toEqual(["tenants/production/kustomization.yaml", "tenants/base/dev-team/kustomization.yaml", "tenants/base/dev-team/sync.yaml"]);
    expect(graph.isPatch(model(fleet).file("tenants/production/dev-team-patch.yaml")!.documents[0]!)).toBe(true);
  });

  it("builds what no cluster reaches from its top-level kustomizations, in the unnamed cluster, patches applied", () => {
    const graph = fluxGraph(model({ "tenants/base/dev-team/sync.yaml": tenant, "tenants/production/kustomization.yaml": fleet["tenants/production/kustomization.yaml"]!, "tenants/production/dev-team-patch.yaml": fleet["tenants/production/dev-team-patch.yaml"]! }));
    expect(graph.objects.map((object) => `${object.cluster}|${object.ref.name}|${object.ref.namespace}|${String(object.spec.path)}`)).toEqual([
      "|dev-team|undefined|./apps/dev-team/production",
      "|podinfo|undefined|undefined",
    ]);
    expect(originOf(graph.objects[0]!, ["path"]).doc.path).toBe("tenants/production/dev-team-patch.yaml");
  });

  it("parses only the patch files that can reach a Flux object: by their target, or by the kind they name, however it is spelt", () => {
    const overlay = (patches: string) => `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../base/dev-team\npatches:\n${patches}`;
    const setPath = (kind: string) => `apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: ${kind}\nmetadata:\n  name: dev-team\nspec:\n  path: ./apps/dev-team/production\n`;
    const operations = "- op: replace\n  path: /spec/path\n  value: ./apps/dev-team/production\n";
    const evaluated = (patches: string, files: Tree) => {
      const fleetModel = model({ "tenants/base/dev-team/sync.yaml": tenant, "tenants/production/kustomization.yaml": overlay(patches), ...files });
      const parsed: string[] = [];
      const parse = fleetModel.file.bind(fleetModel);
      fleetModel.file = (path) => (parsed.push(path), parse(path));
      const devTeam = fluxGraph(fleetModel).objects.find((object) => object.ref.name === "dev-team")!;
      return { path: devTeam.spec.path, parsed: [...new Set(parsed)].filter((path) => path.startsWith("tenants/production/") && !path.endsWith("kustomization.yaml")) };
    };
    const replicas = { "tenants/production/replicas.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: dev-team\nspec:\n  replicas: 2\n" };
    expect(evaluated("  - path: replicas.yaml\n", replicas)).toEqual({ path: "./apps/dev-team/staging", parsed: [] });
    expect(evaluated("  - path: ops.yaml\n    target: {kind: Deployment}\n", { "tenants/production/ops.yaml": operations })).toEqual({ path: "./apps/dev-team/staging", parsed: [] });
    // What can reach it is parsed and applied: the kind escaped in a double-quoted string is the same kind.
    expect(evaluated("  - path: ops.yaml\n    target: {kind: Kustomization, name: dev-team}\n", { "tenants/production/ops.yaml": operations })).toEqual({ path: "./apps/dev-team/production", parsed: ["tenants/production/ops.yaml"] });
    expect(evaluated("  - path: patch.yaml\n", { "tenants/production/patch.yaml": setPath('"Kustomi\\x7Aation"') })).toEqual({ path: "./apps/dev-team/production", parsed: ["tenants/production/patch.yaml"] });
  });

  it("keeps __proto__, constructor and prototype keys of a strategic-merge patch as data, never as a prototype", () => {
    // As with a JSON6902 patch, `__proto__` names a field; it must never become the merged object's prototype (the field was dropped).
    const patch = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: dev-team\nspec:\n  __proto__:\n    serviceAccountName: dev-team\n  sourceRef:\n    __proto__: {namespace: dev-team}\n    constructor: {prototype: {polluted: yes}}\n";
    const graph = fluxGraph(model({ "tenants/base/dev-team/sync.yaml": tenant, "tenants/production/kustomization.yaml": fleet["tenants/production/kustomization.yaml"]!, "tenants/production/dev-team-patch.yaml": patch }));
    const devTeam = graph.objects.find((object) => object.ref.name === "dev-team")!;
    expect(devTeam.spec.serviceAccountName).toBeUndefined();
    expect(Object.getOwnPropertyDescriptor(devTeam.spec, "__proto__")?.value).toEqual({ serviceAccountName: "dev-team" });
    const sourceRef = devTeam.spec.sourceRef as Record<string, unknown>;
    expect(sourceRef.namespace).toBe("flux-system");
    expect(Object.getPrototypeOf(sourceRef)).toBe(Object.prototype);
    expect(sourceRef.constructor).toEqual({ prototype: { polluted: "yes" } });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).serviceAccountName).toBeUndefined();
  });

  it("canonicalises Git URLs", () => {
    for (const url of ["ssh://git@github.com/acme/fleet.git", "git@github.com:acme/fleet", "https://github.com/Acme/fleet/"]) expect(canonicalGitUrl(url)).toBe("github.com/acme/fleet");
    expect(canonicalGitUrl("ssh://git@gitlab.example.com:2222/acme/fleet")).toBe("gitlab.example.com:2222/acme/fleet");
  });
});
