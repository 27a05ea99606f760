// kustomize-controller's behaviour, emulated: generated kustomizations, spec fields applied on top of the
// folder's kustomization, and postBuild substitution (real kustomize runs underneath).
import { describe, expect, it } from "vitest";
import type { Build } from "../../src/core/types.js";
import { buildChange, configMap, deployment, fluxKustomization } from "./helpers.js";

const names = (build: Build | undefined) => build?.objects.map((object) => `${object.ref.kind}/${object.ref.namespace ?? ""}/${object.ref.name}`).sort();
const only = (builds: Build[], name: string) => builds.find((build) => build.report.name === name);

describe("generated kustomization", () => {
  const tree = {
    "clusters/prod/apps.yaml": fluxKustomization("apps", { path: "./apps", prune: true }),
    "apps/a.yaml": configMap("a"),
    "apps/nested/b.yml": configMap("b"),
    "apps/nested/notes.txt": "not yaml, not read",
    "apps/with-kustomization/kustomization.yaml": "resources:\n  - c.yaml\n",
    "apps/with-kustomization/c.yaml": configMap("c"),
    "apps/with-kustomization/ignored-by-kustomization.yaml": configMap("not-listed"),
    "apps/.github/workflow.yaml": "on: push\n",
    "apps/skipped/d.yaml": configMap("skipped-by-sourceignore"),
    // A pattern written turns Flux's default ignores (.github/ among them) off, but for the VCS ones.
    ".sourceignore": "apps/skipped/\n.github/\n",
  };

  it("lists every manifest, adds folders with a kustomization without descending, and applies the ignore rules", async () => {
    const result = await buildChange({}, tree);
    const build = only(result.head, "flux-system/apps (clusters/prod)");
    expect(build?.report).toEqual({ name: "flux-system/apps (clusters/prod)", path: "apps", ok: true, objects: 3 });
    expect(names(build)).toEqual(["ConfigMap//a", "ConfigMap//b", "ConfigMap//c"]);
    expect(build?.objects.find((object) => object.ref.name === "b")?.source).toEqual({ path: "apps/nested/b.yml", line: 1 });
  });

  it("fails like Flux on a YAML file that is not a Kubernetes manifest", async () => {
    const result = await buildChange({}, { ...tree, "apps/values.yaml": "replicas: 3\n" });
    const build = only(result.head, "flux-system/apps (clusters/prod)");
    expect(build?.report.ok).toBe(false);
    expect(build?.issues).toContainEqual({
      rule: "kustomize-build",
      path: "apps/values.yaml",
      line: 1,
      message:
        "apps/values.yaml is not a Kubernetes manifest (a document without apiVersion and kind), and Flux generates a kustomization listing every YAML file under apps: the build fails. Move the file out of the folder or exclude it with .sourceignore.",
    });
  });
});

describe("kustomize's build annotations", () => {
  it("trace objects to their source, and are stripped from what is returned", async () => {
    const result = await buildChange({}, {
      "app/kustomization.yaml": "resources:\n  - config.yaml\nnamePrefix: x-\nbuildMetadata: [originAnnotations, transformerAnnotations]\n",
      "app/config.yaml": `# settings\n---\n${configMap("settings")}`,
    });
    expect(result.head.map((build) => build.objects)).toEqual([
      [
        {
          object: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x-settings" }, data: { key: "value" } },
          ref: { apiVersion: "v1", kind: "ConfigMap", name: "x-settings" },
          source: { path: "app/config.yaml", line: 3 },
        },
      ],
    ]);
  });
});

describe("spec fields applied on top of the folder's kustomization", () => {
  const base = {
    "app/kustomization.yaml": "resources:\n  - deployment.yaml\n",
    "app/deployment.yaml": deployment("web"),
    "components/debug/kustomization.yaml":
      "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n  - patch: |\n      - op: add\n        path: /metadata/labels\n        value: {debug: \"true\"}\n    target:\n      kind: Deployment\n",
  };
  const render = async (spec: Record<string, unknown>) => {
    const result = await buildChange(base, { "clusters/prod/app.yaml": fluxKustomization("app", { path: "./app", ...spec }) });
    const build = only(result.head, "flux-system/app (clusters/prod)");
    expect(build?.report.ok).toBe(true);
    return build!.objects[0]!;
  };

  it("targetNamespace", async () => expect((await render({ targetNamespace: "team-a" })).ref.namespace).toBe("team-a"));
  it("namePrefix and nameSuffix", async () => expect((await render({ namePrefix: "pre-", nameSuffix: "-suf" })).ref.name).toBe("pre-web-suf"));
  it("patches", async () => {
    const added = await render({ patches: [{ patch: "- op: add\n  path: /spec/replicas\n  value: 4", target: { kind: "Deployment" } }] });
    expect((added.object.spec as Record<string, unknown>).replicas).toBe(4);
  });
  it("images", async () => {
    const object = await render({ images: [{ name: "nginx", newTag: "1.28" }] });
    expect(JSON.stringify(object.object)).toContain('"image":"nginx:1.28"');
  });
  it("components", async () => {
    const object = await render({ components: ["../components/debug"] });
    expect((object.object.metadata as Record<string, unknown>).labels).toEqual({ debug: "true" });
  });
  it("commonMetadata", async () => {
    const object = await render({ commonMetadata: { labels: { team: "a" }, annotations: { owner: "team-a" } } });
    expect(object.object.metadata).toEqual({ name: "web", labels: { team: "a" }, annotations: { owner: "team-a" } });
    expect(((object.object.spec as Record<string, Record<string, unknown>>).selector)).toEqual({ matchLabels: { app: "web" } });
  });
  it("keeps the source line of the object the patch applied to", async () => {
    expect((await render({ namePrefix: "pre-" })).source).toEqual({ path: "app/deployment.yaml", line: 1 });
  });
});

describe("postBuild substitution", () => {
  const files = {
    "app/kustomization.yaml": "resources:\n  - config.yaml\n",
    "app/config.yaml": [
      "apiVersion: v1",
      "kind: ConfigMap",
      "metadata:",
      "  name: settings",
      "data:",
      "  cluster: ${cluster_name}",
      "  region: ${region:=eu-west-1}",
      "  literal: $${cluster_name}",
      "  shell: $HOME",
      "---",
      "apiVersion: v1",
      "kind: ConfigMap",
      "metadata:",
      "  name: raw",
      "  annotations:",
      "    kustomize.toolkit.fluxcd.io/substitute: disabled",
      "data:",
      "  cluster: ${cluster_name}",
      "",
    ].join("\n"),
    "clusters/prod/vars.yaml": configMap("cluster-vars", { cluster_name: "from-configmap", region: "us-east-1" }).replace("metadata:\n", "metadata:\n  namespace: flux-system\n"),
  };
  const data = (build: Build | undefined, name: string) => build?.objects.find((object) => object.ref.name === name)?.object.data;

  it("merges substituteFrom then substitute, skips disabled objects, keeps escapes and bare $var", async () => {
    const spec = { path: "./app", postBuild: { substitute: { cluster_name: "prod" }, substituteFrom: [{ kind: "ConfigMap", name: "cluster-vars" }] } };
    const result = await buildChange(files, { "clusters/prod/app.yaml": fluxKustomization("app", spec) });
    const build = only(result.head, "flux-system/app (clusters/prod)");
    expect(data(build, "settings")).toEqual({ cluster: "prod", region: "us-east-1", literal: "${cluster_name}", shell: "$HOME" });
    expect(data(build, "raw")).toEqual({ cluster: "${cluster_name}" });
    expect(build?.issues).toEqual([]);
  });

  it("substitutes a variable named __proto__ or constructor from substituteFrom, as Flux does, polluting nothing", async () => {
    const vars = configMap("cluster-vars", { constructor: "from-constructor", cluster_name: "prod" }).replace("metadata:\n", "metadata:\n  namespace: flux-system\n") + '  __proto__: "from-proto"\n';
    const config = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  proto: ${__proto__}\n  constructor: ${constructor}\n";
    const spec = { path: "./app", postBuild: { substituteFrom: [{ kind: "ConfigMap", name: "cluster-vars" }] } };
    const result = await buildChange({ "app/config.yaml": config, "clusters/prod/vars.yaml": vars }, { "clusters/prod/app.yaml": fluxKustomization("app", spec) });
    const build = only(result.head, "flux-system/app (clusters/prod)");
    expect(data(build, "settings")).toEqual({ proto: "from-proto", constructor: "from-constructor" });
    expect(build?.issues).toEqual([]);
    expect(({} as Record<string, unknown>).proto).toBeUndefined();
  });

  it("does not run when the merged variable map is empty", async () => {
    const result = await buildChange(files, { "clusters/prod/app.yaml": fluxKustomization("app", { path: "./app", postBuild: { substitute: {} } }) });
    expect(data(only(result.head, "flux-system/app (clusters/prod)"), "settings")).toMatchObject({ cluster: "${cluster_name}", literal: "$${cluster_name}" });
  });

  it("applies defaults when a substituteFrom source is not in the repository: the cluster may hold it, and then Flux substitutes", async () => {
    const result = await buildChange(files, { "clusters/prod/app.yaml": fluxKustomization("app", { path: "./app", postBuild: { substituteFrom: [{ kind: "ConfigMap", name: "absent", optional: true }] } }) });
    const build = only(result.head, "flux-system/app (clusters/prod)");
    expect(data(build, "settings")).toMatchObject({ cluster: null, region: "eu-west-1", literal: "${cluster_name}" });
    // Its keys are unknown: an undefined variable may be one of them.
    expect(build?.issues).toEqual([]);
  });

  it("reports a variable no source defines, on the line that uses it", async () => {
    const result = await buildChange(files, { "clusters/prod/app.yaml": fluxKustomization("app", { path: "./app", postBuild: { substitute: { other: "x" } } }) });
    const build = only(result.head, "flux-system/app (clusters/prod)");
    // "cluster: " is YAML null, as in Flux (it substitutes the YAML text, then parses it).
    expect(data(build, "settings")).toMatchObject({ cluster: null, region: "eu-west-1" });
    expect(build?.issues).toEqual([
      {
        rule: "postbuild-variables",
        path: "app/config.yaml",
        line: 6,
        severity: "warning",
        message:
          "${cluster_name} in ConfigMap settings is not defined by flux-system/app (clusters/prod)'s postBuild variables, so Flux replaces it with an empty string. Define cluster_name in postBuild.substitute or substituteFrom, or give a default with ${cluster_name:=value}.",
      },
    ]);
  });

  it("fails the build on a syntax Flux rejects", async () => {
    const broken = { ...files, "app/config.yaml": files["app/config.yaml"].replace("${region:=eu-west-1}", "${region-eu-west-1}") };
    const result = await buildChange(broken, { "clusters/prod/app.yaml": fluxKustomization("app", { path: "./app", postBuild: { substitute: { cluster_name: "prod" } } }) });
    const build = only(result.head, "flux-system/app (clusters/prod)");
    expect(build?.report.ok).toBe(false);
    expect(build?.issues).toContainEqual({
      rule: "postbuild-variables",
      path: "app/config.yaml",
      line: 6,
      message:
        "Flux cannot substitute variables in ConfigMap settings: missing closing brace. Flux rejects ${var-default}, ${ var } and ${}; use ${var:=default} or ${var}, or escape a literal as $${...}.",
    });
  });

  it("fails the build, as fleet-warden's limit and not Flux's, on trims too costly to evaluate", async () => {
    const costly = { ...files, "app/config.yaml": files["app/config.yaml"].replace("${region:=eu-west-1}", `\${cluster_name#${"*a".repeat(1_000)}b}`) };
    const result = await buildChange(costly, { "clusters/prod/app.yaml": fluxKustomization("app", { path: "./app", postBuild: { substitute: { cluster_name: "a".repeat(1_000_000) } } }) });
    const build = only(result.head, "flux-system/app (clusters/prod)");
    expect(build?.report.ok).toBe(false);
    expect(build?.issues).toContainEqual({
      rule: "postbuild-variables",
      path: "app/config.yaml",
      line: 6,
      message:
        "fleet-warden cannot substitute variables in ConfigMap settings: ${var#pattern} and ${var%pattern} trims here are too costly to evaluate (a long pattern against a long value). Flux would, but what it applies cannot be checked here; shorten the value or the pattern.",
    });
  });

  it("rejects variable names Flux rejects", async () => {
    const result = await buildChange(files, { "clusters/prod/app.yaml": fluxKustomization("app", { path: "./app", postBuild: { substitute: { "bad-name": "x" } } }) });
    expect(only(result.head, "flux-system/app (clusters/prod)")?.issues[0]).toEqual({
      rule: "postbuild-variables",
      path: "clusters/prod/app.yaml",
      line: 12,
      message: 'Variable name "bad-name" is invalid: Flux requires names matching ^[_[:alpha:]][_[:alpha:][:digit:]]*$ and fails the whole build.',
    });
  });
});
