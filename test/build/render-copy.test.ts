// The sandbox copy of a build reads the tree through the model: a file the tree cannot give fails that build, clearly.
import { symlinkSync } from "node:fs";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { planSide } from "../../src/core/build/index.js";
import { findKustomize } from "../../src/core/build/engine.js";
import { renderPlan } from "../../src/core/build/render.js";
import { folderFiles, type TreeFiles } from "../../src/core/files.js";
import { FleetModel } from "../../src/core/fleet.js";
import { tempDir } from "../helpers/fleet.js";
import { recordingEngine, repository, treeDir } from "./helpers.js";

const tree = {
  "apps/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - settings.yaml\n",
  "apps/settings.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  color: blue\n",
};

async function buildApps(files: TreeFiles) {
  const model = new FleetModel(files);
  const engine = recordingEngine();
  const { plans } = await planSide({ model, repository, specialFiles: [] }, engine);
  expect(plans.map((plan) => plan.name)).toEqual(["apps"]);
  return renderPlan(plans[0]!, model, engine);
}

describe("the sandbox copy of a build", () => {
  it("copies the files of the build from the tree", async () => {
    const build = await buildApps(folderFiles(treeDir(tree)));
    expect(build.report).toEqual({ name: "apps", path: "apps", ok: true, objects: 1 });
  });

  it("fails the build, saying which file, when the tree cannot give a file of the build", async () => {
    const files = folderFiles(treeDir(tree));
    // A file listed but gone when read: a spilled snapshot file removed under the evaluation, say.
    const vanishing: TreeFiles = { paths: () => files.paths(), size: (path) => files.size(path), read: (path) => (path === "apps/settings.yaml" ? undefined : files.read(path)) };
    const build = await buildApps(vanishing);
    expect(build.report).toEqual({ name: "apps", path: "apps", ok: false, error: "cannot copy apps/settings.yaml into the build: it is not a regular file of the repository", objects: 0 });
    expect(build.objects).toEqual([]);
  });
});

describe("kustomize's errors", () => {
  it("name repository paths, though kustomize names a TMPDIR reached through a link (as macOS's /tmp is) resolved", async () => {
    const real = tempDir();
    const linked = join(tempDir(), "tmp");
    symlinkSync(real, linked);
    // Outside the wall, which mounts the sandbox at the path it is given: a binary of its own, isolation off.
    const kustomize = findKustomize()!;
    const binary = join(tempDir(), basename(kustomize.command));
    symlinkSync(kustomize.command, binary);
    const saved = { TMPDIR: process.env.TMPDIR, KUSTOMIZE_ISOLATION: process.env.KUSTOMIZE_ISOLATION };
    Object.assign(process.env, { TMPDIR: linked, KUSTOMIZE_ISOLATION: "off" });
    try {
      // The same object twice: kustomize names the second file, with its full path, in its error.
      const model = new FleetModel(folderFiles(treeDir({ ...tree, "apps/kustomization.yaml": "resources:\n  - settings.yaml\n  - copy.yaml\n", "apps/copy.yaml": tree["apps/settings.yaml"] })));
      const { plans } = await planSide({ model, repository, specialFiles: [] }, undefined);
      const build = await renderPlan(plans[0]!, model, { ...kustomize, command: binary });
      expect(build.report.error).toMatch(/must build at directory: 'apps\/copy\.yaml': file is not directory$/);
      expect(build.report.error).not.toContain(real);
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });
});
