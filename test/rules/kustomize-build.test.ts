import { describe, expect, it } from "vitest";
import { kustomizeBuild } from "../../rules/kustomize-build.js";
import type { Build } from "../../src/core/types.js";
import { evaluateTrees } from "../build/helpers.js";
import { ruleContext } from "../helpers/rule-context.js";

const build = (name: string, issues: Build["issues"]): Build => ({ report: { name, path: "apps", ok: issues.length === 0, objects: 0 }, objects: [], issues });

describe("kustomize-build", () => {
  it("turns each build issue into one finding, once even when two builds share the base", () => {
    const issue = { rule: "kustomize-build" as const, path: "apps/base/kustomization.yaml", line: 4, message: 'resources entry "missing.yaml": apps/base/missing.yaml does not exist' };
    const context = ruleContext({ head: {}, builds: [build("a (clusters/x)", [issue]), build("a (clusters/y)", [issue])] });
    expect(kustomizeBuild.check(context)).toEqual([
      { path: "apps/base/kustomization.yaml", line: 4, endLine: 4, message: 'resources entry "missing.yaml": apps/base/missing.yaml does not exist', build: "a (clusters/x)" },
    ]);
  });

  it("keeps an issue's own severity and ignores the other rule's issues", () => {
    const context = ruleContext({
      head: {},
      builds: [
        build("a", [
          { rule: "kustomize-build", path: "clusters/x/apps.yaml", line: 12, message: "prune deletes Namespace apps", severity: "warning" },
          { rule: "postbuild-variables", path: "apps/config.yaml", line: 3, message: "undefined" },
        ]),
      ],
    });
    expect(kustomizeBuild.check(context)).toEqual([{ path: "clusters/x/apps.yaml", line: 12, endLine: 12, message: "prune deletes Namespace apps", build: "a", severity: "warning" }]);
  });

  it("is silent when every build is clean", () => {
    expect(kustomizeBuild.check(ruleContext({ head: {}, builds: [build("a", [])] }))).toEqual([]);
  });

  it("fails a pull request whose kustomization names a file that does not exist, on the entry line", async () => {
    const base = { "apps/kustomization.yaml": "resources:\n  - config.yaml\n", "apps/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n" };
    const verdict = await evaluateTrees(base, { "apps/kustomization.yaml": "resources:\n  - config.yaml\n  - missing.yaml\n" }, [kustomizeBuild]);
    expect(verdict.conclusion).toBe("failure");
    expect(verdict.findings.map(({ rule, path, line, message }) => ({ rule, path, line, message }))).toEqual([
      {
        rule: "kustomize-build",
        path: "apps/kustomization.yaml",
        line: 3,
        message: 'resources entry "missing.yaml": apps/missing.yaml does not exist in the repository, so the build fails (kustomize would then try it as a remote URL, which is never fetched).',
      },
    ]);
    expect(verdict.builds).toEqual([
      {
        name: "apps",
        path: "apps",
        ok: false,
        error: 'resources entry "missing.yaml": apps/missing.yaml does not exist in the repository, so the build fails (kustomize would then try it as a remote URL, which is never fetched).',
        objects: 0,
      },
    ]);
  });

  it("reports an error inside a base on the base's entry", async () => {
    const base = {
      "apps/base/kustomization.yaml": "resources:\n  - config.yaml\npatches:\n  - path: patch.yaml\n",
      "apps/base/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
      "apps/base/patch.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n",
      "apps/prod/kustomization.yaml": "resources:\n  - ../base\n",
    };
    const verdict = await evaluateTrees(base, { "apps/base/patch.yaml": "- op: replace\n  path: /data\n  value: {}\n" }, [kustomizeBuild]);
    expect(verdict.findings.map(({ path, line }) => ({ path, line }))).toEqual([{ path: "apps/base/kustomization.yaml", line: 4 }]);
    expect(verdict.findings[0]!.message).toMatch(/^kustomize build failed: .*patch\.yaml/);
  });

  it("reports a strategic-merge patch that matches nothing on its entry, though kustomize names only its target", async () => {
    const base = {
      "apps/base/kustomization.yaml": "resources:\n  - config.yaml\n",
      "apps/base/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n",
      "apps/prod/kustomization.yaml": "resources:\n  - ../base\npatches:\n  - path: ./more.yaml\n",
      "apps/prod/more.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  k: v\n",
    };
    const verdict = await evaluateTrees(base, { "apps/prod/more.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings.prod\ndata:\n  k: v\n" }, [kustomizeBuild]);
    expect(verdict.findings.map(({ path, line }) => ({ path, line }))).toEqual([{ path: "apps/prod/kustomization.yaml", line: 4 }]);
    expect(verdict.findings[0]!.message).toMatch(/^kustomize build failed: no resource matches strategic merge patch "ConfigMap\.v1\.\[noGrp\]\/settings\.prod\.\[noNs\]"/);
  });

  it("reports kustomize's own error on the entry it names", async () => {
    const base = { "apps/kustomization.yaml": "resources:\n  - config.yaml\n", "apps/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n" };
    const verdict = await evaluateTrees(base, { "apps/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {}\n" }, [kustomizeBuild]);
    expect(verdict.findings).toHaveLength(1);
    expect(verdict.findings[0]).toMatchObject({ rule: "kustomize-build", path: "apps/kustomization.yaml", line: 2 });
    expect(verdict.findings[0]!.message).toMatch(/^kustomize build failed: .*missing metadata\.name/);
  });
});
