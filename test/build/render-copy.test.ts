// The sandbox copy of a build reads the tree through the model: a file the tree cannot give fails that build, clearly.
import { mkdirSync, realpathSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { planSide } from "../../src/core/build/index.js";
import { inRepositoryTerms, renderPlan } from "../../src/core/build/render.js";
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
  it("name repository paths, however kustomize resolved the sandbox's (a TMPDIR reached through a link)", () => {
    const real = tempDir();
    mkdirSync(join(real, "sandbox", "apps"), { recursive: true });
    const linked = join(tempDir(), "tmp");
    symlinkSync(real, linked);
    const sandbox = join(linked, "sandbox");
    const error = `accumulating resources from 'x.yaml': open ${realpathSync(sandbox)}/apps/x.yaml: no such file or directory (in ${sandbox})`;
    expect(inRepositoryTerms(error, sandbox)).toBe("accumulating resources from 'x.yaml': open apps/x.yaml: no such file or directory (in .)");
  });
});
