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
