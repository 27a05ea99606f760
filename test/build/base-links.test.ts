// Links of the base snapshot: a build that read one failed before the change too.
import { symlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { evaluate } from "../../src/core/evaluate.js";
import { kustomizeBuild } from "../../rules/kustomize-build.js";
import { localFacts } from "../../src/local.js";
import { repoWithChange, writeTree, type Tree } from "../helpers/fleet.js";
import { configMap } from "./helpers.js";

const LINK_FINDING = 'resources entry "passwd.yaml": apps/passwd.yaml is a symbolic link to /etc/passwd; links are never followed, so the build cannot use it.';

/** A repository whose `main` holds `base` and the link apps/passwd.yaml, and whose `change` branch applies `head`. */
async function evaluateWithBaseLink(base: Tree, head: Tree, keepLink = true) {
  const repo = repoWithChange(base, {});
  repo.git("checkout", "--quiet", "main");
  symlinkSync("/etc/passwd", join(repo.dir, "apps/passwd.yaml"));
  repo.git("add", "--all");
  repo.git("commit", "--quiet", "-m", "link");
  repo.git("checkout", "--quiet", "-B", "change");
  if (!keepLink) repo.git("rm", "--quiet", "apps/passwd.yaml");
  writeTree(repo.dir, head);
  repo.git("add", "--all");
  repo.git("commit", "--quiet", "--allow-empty", "-m", "change");
  const { facts, dispose } = await localFacts({ repo: repo.dir, base: "main", head: "change" });
  try {
    return await evaluate(facts, { rules: [kustomizeBuild] });
  } finally {
    await dispose();
  }
}

const fleet: Tree = {
  "apps/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - settings.yaml\n  - passwd.yaml\n",
  "apps/settings.yaml": configMap("settings"),
};

describe("links the base branch already holds", () => {
  it("are pre-existing findings, not blamed on a change beside them", async () => {
    const verdict = await evaluateWithBaseLink(fleet, { "apps/settings.yaml": configMap("settings", { key: "green" }) });
    expect(verdict.findings.map((finding) => finding.message)).toEqual([]);
    expect(verdict.preExisting.map((finding) => `${finding.path}:${finding.line} ${finding.message}`)).toEqual([`apps/kustomization.yaml:5 ${LINK_FINDING}`]);
  });

  it("are built when the change only deletes one", async () => {
    const verdict = await evaluateWithBaseLink(fleet, {}, false);
    // The kustomization still lists it: the build the deletion breaks is judged.
    expect(verdict.builds.map((build) => `${build.name} ${build.ok}`)).toEqual(["apps false"]);
    expect(verdict.findings.map((finding) => `${finding.path}:${finding.line} ${finding.message}`)).toEqual([
      'apps/kustomization.yaml:5 resources entry "passwd.yaml": apps/passwd.yaml does not exist in the repository, so the build fails (kustomize would then try it as a remote URL, which is never fetched).',
    ]);
  });
});
