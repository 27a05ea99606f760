import { describe, expect, it } from "vitest";
import { fluxForce } from "../../rules/flux-force.js";
import { ruleContext } from "../helpers/rule-context.js";
import { corpusTree } from "./lib/tenancy-fixtures.js";

const kustomization = (extra: string[]) =>
  [
    "apiVersion: kustomize.toolkit.fluxcd.io/v1",
    "kind: Kustomization",
    "metadata:",
    "  name: infra-controllers",
    "  namespace: flux-system",
    "spec:",
    "  interval: 1h",
    "  sourceRef:",
    "    kind: GitRepository",
    "    name: flux-system",
    "  path: ./infrastructure/controllers",
    "  prune: true",
    ...extra,
    "",
  ].join("\n");

const helmRelease = [
  "apiVersion: helm.toolkit.fluxcd.io/v2",
  "kind: HelmRelease",
  "metadata:",
  "  name: cert-manager",
  "  namespace: cert-manager",
  "spec:",
  "  interval: 12h",
  "  chartRef:",
  "    kind: OCIRepository",
  "    name: cert-manager",
  "  upgrade:",
  "    force: true",
  "    remediation:",
  "      retries: 3",
  "",
].join("\n");

describe("flux-force", () => {
  it("accepts objects without force, or with force: false", () => {
    const head = { "clusters/production/infrastructure.yaml": kustomization(["  force: false"]), "infrastructure/controllers/ok.yaml": helmRelease.replace("force: true", "force: false") };
    expect(fluxForce.check(ruleContext({ head }))).toEqual([]);
    expect(fluxForce.check(ruleContext({ head: { "clusters/production/infrastructure.yaml": kustomization([]) } }))).toEqual([]);
  });

  it("flags a Kustomization's spec.force: true with a fix that turns it off", () => {
    const [finding, ...rest] = fluxForce.check(ruleContext({ head: { "clusters/production/infrastructure.yaml": kustomization(["  force: true"]) } }));
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({
      path: "clusters/production/infrastructure.yaml",
      line: 13,
      endLine: 13,
      message: "Kustomization flux-system/infra-controllers sets force: true: objects whose immutable fields change are deleted and recreated on reconciliation.",
      fix: { line: 13, endLine: 13, replacement: "  force: false", description: "Stop recreating objects on immutable-field changes" },
    });
  });

  it("flags a HelmRelease's upgrade.force: true", () => {
    const findings = fluxForce.check(ruleContext({ head: { "infrastructure/controllers/cert-manager.yaml": helmRelease } }));
    expect(findings.map((finding) => [finding.line, finding.message, finding.fix?.replacement])).toEqual([
      [12, "HelmRelease cert-manager/cert-manager sets upgrade.force: true: objects whose immutable fields change are deleted and recreated on reconciliation.", "    force: false"],
    ]);
  });

  it.each(["flux2-multi-tenancy/main", "flux2-multi-tenancy/dev-team", "flux2-kustomize-helm-example/pre-2.7", "flux2-kustomize-helm-example/main"])("is silent on the clean %s corpus", (folder) => {
    expect(fluxForce.check(ruleContext({ head: corpusTree(folder) }))).toEqual([]);
  });
});
