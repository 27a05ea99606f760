import { describe, expect, it } from "vitest";
import { imagePolicyMajor } from "../../rules/image-policy-major.js";
import { ruleContext } from "../helpers/rule-context.js";
import { semverImagePolicy } from "../helpers/manifests.js";
import { corpusTree } from "./lib/tenancy-fixtures.js";

const policy = (range: string) => semverImagePolicy("podinfo", range, { apiVersion: "image.toolkit.fluxcd.io/v1beta2" });

const check = (range: string) => imagePolicyMajor.check(ruleContext({ head: { "clusters/production/podinfo-policy.yaml": policy(range) } }));

describe("image-policy-major", () => {
  it.each(["1.x", "^1.2", "~5.0", "'>=1.0.0 <2.0.0'", "0.x", "'>=6.0.0 <6.5.0'"])("accepts %s", (range) => {
    expect(check(range)).toEqual([]);
  });

  it("flags a lone lower bound and bounds it below the next major", () => {
    expect(check("'>=6.0.0'")).toEqual([
      {
        path: "clusters/production/podinfo-policy.yaml",
        line: 11,
        endLine: 11,
        message: 'ImagePolicy flux-system/podinfo: semver range >=6.0.0 admits 7.0.0 and later majors; bound it below the next major (e.g. ">=6.0.0 <7.0.0" or "6.x").',
        object: { apiVersion: "image.toolkit.fluxcd.io/v1beta2", kind: "ImagePolicy", name: "podinfo", namespace: "flux-system" },
        fix: { line: 11, endLine: 11, replacement: '      range: ">=6.0.0 <7.0.0"', description: "Stay below 7.0.0" },
      },
    ]);
  });

  it("flags ranges spanning majors without proposing a rewrite", () => {
    const findings = [...check('"*"'), ...check('"1.x || 2.x"')];
    expect(findings.map((finding) => [finding.message, finding.fix])).toEqual([
      ['ImagePolicy flux-system/podinfo: semver range * admits 1.0.0 and later majors; bound it below the next major (e.g. ">=0.0.0 <1.0.0" or "0.x").', undefined],
      ['ImagePolicy flux-system/podinfo: semver range 1.x || 2.x admits 2.0.0 and later majors; bound it below the next major (e.g. ">=1.0.0 <2.0.0" or "1.x").', undefined],
    ]);
  });

  it("flags a range that is not semver, or empty", () => {
    expect([...check("latest"), ...check('""')].map((finding) => finding.message)).toEqual([
      'ImagePolicy flux-system/podinfo: semver range "latest" is not a valid range that any version satisfies; image automation never updates.',
      'ImagePolicy flux-system/podinfo: semver range "" is not a valid range that any version satisfies; image automation never updates.',
    ]);
  });

  it.each(["flux2-multi-tenancy/main", "flux2-multi-tenancy/dev-team", "flux2-kustomize-helm-example/pre-2.7", "flux2-kustomize-helm-example/main"])("is silent on the clean %s corpus", (folder) => {
    expect(imagePolicyMajor.check(ruleContext({ head: corpusTree(folder) }))).toEqual([]);
  });
});
