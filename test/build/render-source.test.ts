// The source line each rendered object is traced back to, through kustomize's origin annotation: pinned so that
// indexing a file's documents (a pull request controls how many there are) cannot change the choice.
import { describe, expect, it } from "vitest";
import type { Build } from "../../src/core/types.js";
import { buildChange, configMap, fluxKustomization } from "./helpers.js";

const build = async (files: Record<string, string>, spec: Record<string, unknown>): Promise<Build> => {
  const result = await buildChange({}, { "clusters/prod/apps.yaml": fluxKustomization("apps", { path: "./apps", ...spec }), ...files });
  return result.head.find((candidate) => candidate.report.name === "flux-system/apps (clusters/prod)")!;
};

const sources = (rendered: Build) => rendered.objects.map((object) => `${object.ref.kind} ${object.ref.namespace ?? ""}/${object.ref.name} <- ${object.source?.path}:${object.source?.line}`).sort();

const service = (name: string) => `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\nspec:\n  ports:\n    - port: 80\n`;
const secret = (name: string) => `apiVersion: v1\nkind: Secret\nmetadata:\n  name: ${name}\nstringData:\n  key: value\n`;
const rename = (kind: string, from: string, to: string) => `  - target: {kind: ${kind}, name: ${from}}\n    patch: |\n      - op: replace\n        path: /metadata/name\n        value: ${to}\n`;

describe("source lines of rendered objects", () => {
  // Lines: x-a 1, a-b 8, app 15, app-extra 22, app-extra-long (a Secret) 29, only-service 36, renamed-source 44.
  const many = [configMap("x-a"), configMap("a-b"), configMap("app"), configMap("app-extra"), secret("app-extra-long"), service("only-service"), configMap("renamed-source")].join("---\n");
  const kustomization = `resources:\n  - many.yaml\npatches:\n${rename("Service", "only-service", "renamed")}${rename("ConfigMap", "renamed-source", "zzz")}`;

  it("takes the document of the same kind and name", async () => {
    const rendered = await build({ "apps/many.yaml": many, "apps/kustomization.yaml": kustomization }, {});
    expect(sources(rendered)).toEqual([
      "ConfigMap /a-b <- apps/many.yaml:8",
      "ConfigMap /app <- apps/many.yaml:15",
      "ConfigMap /app-extra <- apps/many.yaml:22",
      "ConfigMap /x-a <- apps/many.yaml:1",
      // Renamed by a patch: no ConfigMap name is in "zzz", and the file has several.
      "ConfigMap /zzz <- apps/many.yaml:1",
      "Secret /app-extra-long <- apps/many.yaml:29",
      // Renamed by a patch: the file's only Service.
      "Service /renamed <- apps/many.yaml:36",
    ]);
  });

  it("takes the name as written under the Flux Kustomization's namePrefix and nameSuffix", async () => {
    const rendered = await build({ "apps/many.yaml": many, "apps/kustomization.yaml": kustomization }, { namePrefix: "x-", nameSuffix: "-s" });
    expect(sources(rendered)).toEqual([
      // "x-a" and "a-b" are both in "x-a-b-s", but the name as written is "a-b".
      "ConfigMap /x-a-b-s <- apps/many.yaml:8",
      "ConfigMap /x-app-extra-s <- apps/many.yaml:22",
      "ConfigMap /x-app-s <- apps/many.yaml:15",
      "ConfigMap /x-x-a-s <- apps/many.yaml:1",
      // "zzz" is no document's name, nor is any ConfigMap name inside "x-zzz-s": line 1 of a file with several.
      "ConfigMap /x-zzz-s <- apps/many.yaml:1",
      "Secret /x-app-extra-long-s <- apps/many.yaml:29",
      // Renamed by a patch: the file's only Service.
      "Service /x-renamed-s <- apps/many.yaml:36",
    ]);
  });

  it("takes the name as written first, even where another document has the rendered name", async () => {
    // "x-app" is rendered from "app" (line 1); the document "x-app" (line 8) renders as "x-x-app".
    const rendered = await build({ "apps/names.yaml": [configMap("app"), configMap("x-app")].join("---\n") }, { namePrefix: "x-" });
    expect(sources(rendered)).toEqual(["ConfigMap /x-app <- apps/names.yaml:1", "ConfigMap /x-x-app <- apps/names.yaml:8"]);
  });

  it("takes a generated name that has no hash as it is: a word of ten letters is not kustomize's hash", async () => {
    const generators = ["resources: []", "generatorOptions:", "  disableNameSuffixHash: true", "configMapGenerator:", "  - name: app-properties", "    literals: [a=1]", "  - name: app", "    literals: [b=2]", ""].join("\n");
    const rendered = await build({ "apps/kustomization.yaml": generators }, {});
    expect(sources(rendered)).toEqual(["ConfigMap /app <- apps/kustomization.yaml:7", "ConfigMap /app-properties <- apps/kustomization.yaml:5"]);
  });

  it("takes the longest name of that kind inside a name an overlay prefixed, the first document among equals", async () => {
    const overlay = `resources:\n  - ../apps\nnamePrefix: x-\n`;
    const rendered = await build({ "apps/many.yaml": many, "apps/kustomization.yaml": kustomization, "overlay/kustomization.yaml": overlay }, { path: "./overlay" });
    expect(sources(rendered)).toEqual([
      // "x-a" and "a-b" are both in "x-a-b": the first document wins.
      "ConfigMap /x-a-b <- apps/many.yaml:1",
      // So are "x-a" and "app" in "x-app".
      "ConfigMap /x-app <- apps/many.yaml:1",
      "ConfigMap /x-app-extra <- apps/many.yaml:22",
      "ConfigMap /x-x-a <- apps/many.yaml:1",
      // "x-zzz" holds no ConfigMap name ("x-a" is not in it): line 1 of a file with several.
      "ConfigMap /x-zzz <- apps/many.yaml:1",
      // Only documents of the object's kind count: the longer ConfigMap names are not Secrets.
      "Secret /x-app-extra-long <- apps/many.yaml:29",
      "Service /x-renamed <- apps/many.yaml:36",
    ]);
  });

  it("tells same-named documents apart by namespace", async () => {
    const inNamespace = (namespace: string) => configMap("settings").replace("metadata:\n", `metadata:\n  namespace: ${namespace}\n`);
    const rendered = await build({ "apps/settings.yaml": [configMap("other"), inNamespace("one"), inNamespace("two")].join("---\n") }, {});
    expect(sources(rendered)).toEqual(["ConfigMap /other <- apps/settings.yaml:1", "ConfigMap one/settings <- apps/settings.yaml:8", "ConfigMap two/settings <- apps/settings.yaml:16"]);
  });

  it("takes a generated object's generator entry of its kind and written name", async () => {
    const generators = [
      "resources: []",
      "configMapGenerator:",
      "  - name: other",
      "    literals: [key=a]",
      "  - name: cfg",
      "    literals: [key=b]",
      "  - name: cfg-extra",
      "    literals: [key=c]",
      "secretGenerator:",
      "  - name: token",
      "    literals: [key=d]",
      "  - name: cfg-secret",
      "    literals: [key=e]",
      "",
    ].join("\n");
    const rendered = await build({ "apps/kustomization.yaml": generators }, { namePrefix: "x-" });
    expect(sources(rendered).map((line) => line.replace(/-[a-z0-9]{10} </, "-<hash> <"))).toEqual([
      "ConfigMap /x-cfg-<hash> <- apps/kustomization.yaml:5",
      // Without Flux's prefix and kustomize's hash, the entry of that name and kind.
      "ConfigMap /x-cfg-extra-<hash> <- apps/kustomization.yaml:7",
      "ConfigMap /x-other-<hash> <- apps/kustomization.yaml:3",
      "Secret /x-cfg-secret-<hash> <- apps/kustomization.yaml:12",
      "Secret /x-token-<hash> <- apps/kustomization.yaml:10",
    ]);
  });

  it("reports a substitution error on the first line at or after the object's with ${, else the file's first", async () => {
    // "${" on lines 13 and 27 only.
    const values = [configMap("first"), configMap("second", { key: "${value:=default}" }), configMap("third"), configMap("fourth", { key: "${value}" })].join("---\n");
    const patches = [{ target: { kind: "ConfigMap" }, patch: '- op: add\n  path: /metadata/labels\n  value: {broken: "${bad-default}"}\n' }];
    const rendered = await build({ "apps/values.yaml": values }, { patches, postBuild: { substitute: { value: "x" } } });
    expect(rendered.issues.map((issue) => `${issue.path}:${issue.line} ${issue.message.split(":")[0]}`)).toEqual([
      "apps/values.yaml:13 Flux cannot substitute variables in ConfigMap first",
      "apps/values.yaml:27 Flux cannot substitute variables in ConfigMap fourth",
      "apps/values.yaml:13 Flux cannot substitute variables in ConfigMap second",
      "apps/values.yaml:27 Flux cannot substitute variables in ConfigMap third",
    ]);
  });
});
