// Divergences from kustomize-controller v1.7 found by a review, each pinned: what Flux builds, fails or
// never reads, fleet-warden builds, fails or never reads too.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { applyFluxSpec } from "../../src/core/build/render.js";
import type { Build } from "../../src/core/types.js";
import { tempDir } from "../helpers/fleet.js";
import { buildChange, configMap, fluxKustomization, recordingEngine } from "./helpers.js";

const APPS = "flux-system/apps (clusters/prod)";
const only = (builds: Build[], name = APPS) => builds.find((build) => build.report.name === name);

describe("spec.patches and spec.images: only the fields Flux's generator copies", () => {
  it("refuses a patch entry without an inline patch, before kustomize reads the file its path names", async () => {
    const hostFile = join(tempDir(), "host-patch.yaml");
    writeFileSync(hostFile, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  from_host: "read from the host"\n');
    const engine = recordingEngine();
    const spec = { path: "./apps", patches: [{ path: hostFile, target: { kind: "ConfigMap" } }] };
    const result = await buildChange({}, { "clusters/prod/apps.yaml": fluxKustomization("apps", spec), "apps/x.yaml": configMap("x") }, { engine });
    const build = only(result.head);
    expect(engine.runs).toEqual([]);
    expect(build?.report.ok).toBe(false);
    expect(build?.objects).toEqual([]);
    expect(build?.issues).toEqual([
      {
        rule: "kustomize-build",
        path: "clusters/prod/apps.yaml",
        line: 12,
        message:
          "spec.patches entry 1 has no inline patch: a Flux Kustomization's patches take the patch text in `patch` (and an optional `target`), never a `path` to a file, so the API server rejects this Kustomization and Flux never builds it. Write the patch inline under `patch: |`.",
      },
    ]);
  });

  it("copies a patch's patch and target selector, and an image's name, newName, newTag and digest, nothing else", () => {
    const kustomization: Record<string, unknown> = { patches: [{ path: "own.yaml" }] };
    applyFluxSpec(kustomization, {
      patches: [{ patch: "- op: remove\n  path: /data", path: "/etc/hostname", options: { allowNameChange: true }, target: { kind: "ConfigMap", name: "x", group: "", path: "/etc" } }],
      images: [{ name: "nginx", newName: "mirror/nginx", newTag: "1.28", digest: "sha256:0", tagSuffix: "-debug", path: "/etc" }],
    });
    expect(kustomization.patches).toEqual([{ path: "own.yaml" }, { patch: "- op: remove\n  path: /data", target: { kind: "ConfigMap", name: "x" } }]);
    expect(kustomization.images).toEqual([{ name: "nginx", newName: "mirror/nginx", newTag: "1.28", digest: "sha256:0" }]);
  });

  it("applies a patch that also carries a path, as Flux drops the path", async () => {
    const spec = { path: "./apps", patches: [{ patch: "- op: add\n  path: /data/added\n  value: added", path: "/etc/hostname", target: { kind: "ConfigMap" } }] };
    const result = await buildChange({}, { "clusters/prod/apps.yaml": fluxKustomization("apps", spec), "apps/x.yaml": configMap("x") });
    const build = only(result.head);
    expect(build?.issues).toEqual([]);
    expect(build?.objects.map((object) => object.object.data)).toEqual([{ key: "value", added: "added" }]);
  });
});

describe("postBuild substitution: the substituted text parsed as Flux parses it", () => {
  const privilegedPod = [
    "apiVersion: v1",
    "kind: Pod",
    "metadata:",
    "  name: p",
    "spec:",
    "  containers:",
    "    - name: c",
    "      image: nginx:1.27",
    "      securityContext:",
    "        privileged: ${PRIV}",
    "",
  ].join("\n");
  const labelled = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  labels:\n    team-${A}: "first"\n    team-${B}: "last"\n';

  it("keeps the last value of a key the substitution repeats, and builds every object", async () => {
    const spec = { path: "./apps", postBuild: { substitute: { PRIV: "true", A: "a", B: "a" } } };
    const result = await buildChange({}, { "clusters/prod/apps.yaml": fluxKustomization("apps", spec), "apps/cm.yaml": labelled, "apps/pod.yaml": privilegedPod });
    const build = only(result.head);
    expect(build?.report.ok).toBe(true);
    expect(build?.issues).toEqual([]);
    const object = (name: string) => build?.objects.find((rendered) => rendered.ref.name === name)?.object;
    expect((object("app")?.metadata as Record<string, unknown>).labels).toEqual({ "team-a": "last" });
    expect(JSON.stringify(object("p"))).toContain('"privileged":true');
  });

  it("reads the substituted text as YAML 1.1, as goyaml.v2 does: `on` is true, `0644` octal; strings written as strings stay strings", async () => {
    const volume = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  literal: "on"\n  date: "2026-11-22"\n  path: ${DIR}\n  mode: "${MODE}"\nbinaryData: {}\n';
    const spec = { path: "./apps", postBuild: { substitute: { PRIV: "on", DIR: "C:\\temp", MODE: "0644" } } };
    const result = await buildChange({}, { "clusters/prod/apps.yaml": fluxKustomization("apps", spec), "apps/cm.yaml": volume, "apps/pod.yaml": privilegedPod });
    const build = only(result.head);
    expect(build?.issues).toEqual([]);
    const object = (name: string) => build?.objects.find((rendered) => rendered.ref.name === name)?.object as Record<string, any> | undefined;
    expect(object("p")?.spec.containers[0].securityContext).toEqual({ privileged: true });
    // The quotes around "${MODE}" are gone once kustomize writes it: Flux reads 0644 as the number 420 too (and the API
    // server refuses a number in a ConfigMap's data).
    expect(object("app")?.data).toEqual({ literal: "on", date: "2026-11-22", path: "C:\\temp", mode: 420 });
  });

  it("fails the build with a finding on the object when the substituted text does not parse", async () => {
    const config = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  k: ${V}\n";
    const spec = { path: "./apps", postBuild: { substitute: { V: "a: b" } } };
    const result = await buildChange({}, { "clusters/prod/apps.yaml": fluxKustomization("apps", spec), "apps/cm.yaml": config });
    const build = only(result.head);
    expect(build?.report.ok).toBe(false);
    expect(build?.issues).toEqual([
      {
        rule: "postbuild-variables",
        path: "apps/cm.yaml",
        line: 6,
        message:
          'After substitution, ConfigMap app is no longer valid YAML (Nested mappings are not allowed in compact mappings), so Flux fails the Kustomization ("post build failed"). Quote the variable where it is used (key: "${VAR}") or change its value.',
      },
    ]);
  });
});

describe("a build that fails", () => {
  it("always carries a finding, even when what failed is not kustomize's error", async () => {
    const garbage = { ...recordingEngine(), command: "/bin/sh", args: () => ["-c", "printf 'a: [\\n'"] };
    const result = await buildChange({}, { "app/kustomization.yaml": "resources:\n  - cm.yaml\n", "app/cm.yaml": configMap("x") }, { engine: garbage });
    const build = only(result.head, "app");
    expect(build?.report.ok).toBe(false);
    expect(build?.issues).toEqual([{ rule: "kustomize-build", path: "app/kustomization.yaml", line: 1, message: expect.stringMatching(/^The build failed: kustomize output does not parse: /) }]);
  });
});

describe("a rendered object Flux cannot decode", () => {
  it("fails the build on an object without apiVersion, at its document, instead of dropping it", async () => {
    const objects = `${configMap("ok")}---\nkind: ConfigMap\nmetadata:\n  name: noapi\ndata:\n  a: b\n`;
    const result = await buildChange({}, { "clusters/prod/apps.yaml": fluxKustomization("apps", { path: "./apps" }), "apps/kustomization.yaml": "resources:\n- cm.yaml\n", "apps/cm.yaml": objects });
    const build = only(result.head);
    expect(build?.report.ok).toBe(false);
    expect(build?.objects.map((object) => object.ref.name)).toEqual(["ok"]);
    expect(build?.issues).toEqual([
      {
        rule: "kustomize-build",
        path: "apps/cm.yaml",
        line: 8,
        message:
          'ConfigMap noapi has no apiVersion, so Flux cannot decode it ("failed to decode Kubernetes apiVersion, kind and name") and fails the whole Kustomization. Set apiVersion, kind and metadata.name.',
      },
    ]);
  });

  it("fails the build on an object whose name a substitution empties, at the variable", async () => {
    const spec = { path: "./apps", postBuild: { substitute: { OTHER: "x" } } };
    const result = await buildChange({}, { "clusters/prod/apps.yaml": fluxKustomization("apps", spec), "apps/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${NAME}\n" });
    const build = only(result.head);
    expect(build?.report.ok).toBe(false);
    expect(build?.objects).toEqual([]);
    expect(build?.issues.filter((issue) => issue.severity !== "warning")).toEqual([
      {
        rule: "postbuild-variables",
        path: "apps/cm.yaml",
        line: 4,
        message:
          'After substitution, ConfigMap ${NAME} has no metadata.name, so Flux cannot decode it ("failed to decode Kubernetes apiVersion, kind and name") and fails the whole Kustomization. Give the variable a value, or a default with ${var:=value}.',
      },
    ]);
  });
});

describe("spec.ignoreMissingComponents", () => {
  const tree = {
    "apps/kustomization.yaml": "resources:\n- cm.yaml\n",
    "apps/cm.yaml": configMap("x"),
    "components/extra/kustomization.yaml": 'apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nlabels:\n- pairs:\n    extra: "yes"\n',
  };
  const components = ["../components/extra", "../components/missing"];

  it("leaves a missing component out of the build, and applies the others", async () => {
    const spec = { path: "./apps", ignoreMissingComponents: true, components };
    const result = await buildChange({}, { ...tree, "clusters/prod/apps.yaml": fluxKustomization("apps", spec) });
    const build = only(result.head);
    expect(build?.issues).toEqual([]);
    expect(build?.report.ok).toBe(true);
    expect(build?.objects.map((object) => object.object.metadata)).toEqual([{ name: "x", labels: { extra: "yes" } }]);
  });

  it("still fails on a missing component without it", async () => {
    const result = await buildChange({}, { ...tree, "clusters/prod/apps.yaml": fluxKustomization("apps", { path: "./apps", components }) });
    expect(only(result.head)?.report.ok).toBe(false);
  });
});

describe("substituteFrom sources of the Kustomization's own cluster", () => {
  const vars = (env: string) => configMap("cluster-vars", { ENV: env }).replace("metadata:\n", "metadata:\n  namespace: flux-system\n");
  const spec = { path: "./apps", postBuild: { substituteFrom: [{ kind: "ConfigMap", name: "cluster-vars" }] } };
  const env = async (tree: Record<string, string>) => {
    const result = await buildChange({}, { ...tree, "clusters/prod/apps.yaml": fluxKustomization("apps", spec), "apps/cm.yaml": configMap("app", { env: "${ENV:=unset}" }) });
    return only(result.head)?.objects[0]?.object.data;
  };

  it("never reads another cluster's source: found only there, it is not in the repository", async () => {
    expect(await env({ "clusters/staging/vars.yaml": vars("staging") })).toEqual({ env: "unset" });
  });

  it("reads the cluster's own source first, then a shared folder's", async () => {
    expect(await env({ "clusters/staging/vars.yaml": vars("staging"), "infrastructure/vars.yaml": vars("shared") })).toEqual({ env: "shared" });
    expect(await env({ "clusters/staging/vars.yaml": vars("staging"), "infrastructure/vars.yaml": vars("shared"), "clusters/prod/config/vars.yaml": vars("prod") })).toEqual({ env: "prod" });
  });
});

describe("the root kustomization, as Flux rewrites it", () => {
  it("drops a field kustomize's Kustomization type lacks, with a warning on it, where kustomize alone fails the build", async () => {
    const kustomization = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - cm.yaml\nresource:\n  - other.yaml\n";
    const head = { "clusters/prod/apps.yaml": fluxKustomization("apps", { path: "./apps" }), "apps/kustomization.yaml": kustomization, "apps/cm.yaml": configMap("x") };
    const build = only((await buildChange({}, head)).head);
    expect(build?.report.ok).toBe(true);
    expect(build?.objects.map((object) => object.ref.name)).toEqual(["x"]);
    expect(build?.issues).toEqual([
      {
        rule: "kustomize-build",
        severity: "warning",
        path: "apps/kustomization.yaml",
        line: 5,
        message: "`resource` is not a kustomization field: Flux drops it from the root kustomization it builds (kustomize alone would refuse it), so it does nothing.",
      },
    ]);
    // A plain kustomize build (no Flux Kustomization) still fails on it, as kustomize does.
    const plain = await buildChange({}, { "app/kustomization.yaml": kustomization, "app/cm.yaml": configMap("x") });
    expect(only(plain.head, "app")?.report.ok).toBe(false);
  });
});
