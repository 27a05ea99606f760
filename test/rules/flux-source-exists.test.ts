import { describe, expect, it } from "vitest";
import { fluxSourceExists } from "../../rules/flux-source-exists.js";
import type { Tree } from "../helpers/fleet.js";
import { ruleContext } from "../helpers/rule-context.js";

const kustomization = (name: string, source: string, extra: string[] = []) =>
  [
    "---",
    "apiVersion: kustomize.toolkit.fluxcd.io/v1",
    "kind: Kustomization",
    "metadata:",
    `  name: ${name}`,
    "  namespace: flux-system",
    "spec:",
    "  interval: 1h",
    "  sourceRef:",
    "    kind: GitRepository",
    `    name: ${source}`,
    "  path: ./apps",
    ...extra,
  ].join("\n");

const helmRelease = (repository: string) =>
  [
    "apiVersion: helm.toolkit.fluxcd.io/v2",
    "kind: HelmRelease",
    "metadata:",
    "  name: metrics",
    "  namespace: monitoring",
    "spec:",
    "  interval: 30m",
    "  chart:",
    "    spec:",
    "      chart: kube-prometheus-stack",
    "      sourceRef:",
    "        kind: HelmRepository",
    `        name: ${repository}`,
  ].join("\n");

const helmRepository = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: prometheus-community\n  namespace: monitoring\nspec:\n  url: https://prometheus-community.github.io/helm-charts\n";
const otherRepository = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: team-a\n  namespace: flux-system\nspec:\n  url: https://github.com/acme/team-a\n  ref:\n    branch: main\n";
const apps = { "apps/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - metrics.yaml\n  - repository.yaml\n" };

const check = (head: Tree) => fluxSourceExists.check(ruleContext({ head })).map((finding) => [finding.path, finding.line, finding.severity, finding.message]);

describe("flux-source-exists", () => {
  it("accepts flux-system's own source (committed or not) and a HelmRepository the cluster defines", () => {
    expect(check({ ...apps, "clusters/production/apps.yaml": kustomization("apps", "flux-system"), "apps/metrics.yaml": helmRelease("prometheus-community"), "apps/repository.yaml": helmRepository })).toEqual([]);
  });

  it("flags a misspelt sourceRef, on its name", () => {
    expect(check({ ...apps, "clusters/production/apps.yaml": kustomization("apps", "flux-sytem"), "apps/metrics.yaml": helmRelease("prometheus-community"), "apps/repository.yaml": helmRepository })).toEqual([
      [
        "clusters/production/apps.yaml",
        11,
        undefined,
        'spec.sourceRef names GitRepository flux-system/flux-sytem, which cluster production does not define; Flux never reconciles this Kustomization ("source not found").',
      ],
    ]);
  });

  it("flags a HelmRelease whose chart source the cluster does not define, in the HelmRelease's namespace", () => {
    expect(check({ ...apps, "clusters/production/apps.yaml": kustomization("apps", "flux-system"), "apps/metrics.yaml": helmRelease("prometheus"), "apps/repository.yaml": helmRepository })).toEqual([
      [
        "apps/metrics.yaml",
        13,
        undefined,
        'spec.chart.spec.sourceRef names HelmRepository monitoring/prometheus, which cluster production does not define; Flux never reconciles this HelmRelease ("source not found").',
      ],
    ]);
  });

  it("only warns when the cluster also applies another repository, which may define the source", () => {
    const head = {
      ...apps,
      "clusters/production/apps.yaml": [kustomization("apps", "flux-sytem"), kustomization("team-a", "team-a")].join("\n"),
      "clusters/production/team-a.yaml": otherRepository,
      "apps/metrics.yaml": helmRelease("prometheus-community"),
      "apps/repository.yaml": helmRepository,
    };
    expect(check(head)).toEqual([
      [
        "clusters/production/apps.yaml",
        11,
        "warning",
        "spec.sourceRef names GitRepository flux-system/flux-sytem, which cluster production does not define in this repository; unless another source creates it, Flux never reconciles this Kustomization.",
      ],
    ]);
  });

  it("leaves objects no cluster applies alone: their sources may be the platform repository's", () => {
    expect(check({ "base/metrics.yaml": helmRelease("prometheus") })).toEqual([]);
  });
});
