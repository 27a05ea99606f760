import { describe, expect, it } from "vitest";
import { fluxInterval, parseFluxDuration } from "../../rules/flux-interval.js";
import { evaluateChange } from "../helpers/fleet.js";
import { ruleContext } from "../helpers/rule-context.js";
import { corpusTree } from "./lib/tenancy-fixtures.js";

const kustomization = (interval: string, extra: string[] = []) =>
  [
    "apiVersion: kustomize.toolkit.fluxcd.io/v1",
    "kind: Kustomization",
    "metadata:",
    "  name: apps",
    "  namespace: flux-system",
    "spec:",
    `  interval: ${interval}`,
    ...extra,
    "  sourceRef:",
    "    kind: GitRepository",
    "    name: flux-system",
    "  path: ./apps/production",
    "  prune: true",
    "",
  ].join("\n");

const check = (text: string) => fluxInterval.check(ruleContext({ head: { "clusters/production/apps.yaml": text } }));

describe("flux-interval", () => {
  it("parses durations the way Flux's CRDs validate them", () => {
    expect(parseFluxDuration("1h30m")).toBe(5_400_000);
    expect(parseFluxDuration("90s")).toBe(90_000);
    expect(parseFluxDuration("1.5m")).toBe(90_000);
    expect(parseFluxDuration("1d")).toBeUndefined();
    expect(parseFluxDuration("10 m")).toBeUndefined();
    expect(parseFluxDuration(5)).toBeUndefined();
  });

  it("accepts the intervals of the Flux examples", () => {
    expect(check(kustomization("10m0s", ["  retryInterval: 1m", "  timeout: 5m"]))).toEqual([]);
    expect(check(kustomization("1h", ["  retryInterval: 30s", "  timeout: 1h"]))).toEqual([]);
  });

  it("rejects a duration Flux cannot parse, as an error", () => {
    expect(check(kustomization("1d"))).toEqual([
      {
        path: "clusters/production/apps.yaml",
        line: 7,
        endLine: 7,
        severity: "error",
        message: 'Kustomization flux-system/apps: interval "1d" is not a duration Flux accepts (e.g. 30s, 10m, 1h30m); Flux rejects the object.',
        object: { apiVersion: "kustomize.toolkit.fluxcd.io/v1", kind: "Kustomization", name: "apps", namespace: "flux-system" },
      },
    ]);
  });

  it("raises an interval below one minute to 1m, and a retryInterval below 30s to 30s", () => {
    const findings = check(kustomization('"10s" # fast', ["  retryInterval: 5s"]));
    expect(findings.map((finding) => [finding.line, finding.message, finding.fix?.replacement])).toEqual([
      [7, "Kustomization flux-system/apps: interval 10s is below 1m; use 1m or more (a webhook Receiver gives faster updates).", "  interval: 1m # fast"],
      [8, "Kustomization flux-system/apps: retryInterval 5s is below 30s; use 30s or more (a webhook Receiver gives faster updates).", "  retryInterval: 30s"],
    ]);
  });

  it("flags a Kustomization whose timeout is longer than its interval", () => {
    const findings = check(kustomization("5m", ["  timeout: 15m"]));
    expect(findings.map((finding) => [finding.line, finding.message])).toEqual([
      [8, "Kustomization flux-system/apps: timeout 15m is longer than interval 5m; keep the timeout within the interval (Flux's default timeout is the interval)."],
    ]);
  });

  it("checks sources too", () => {
    const source = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: dev-team\n  namespace: apps\nspec:\n  interval: 30s\n  url: https://github.com/acme/dev-team\n  ref:\n    branch: main\n";
    expect(fluxInterval.check(ruleContext({ head: { "tenants/base/dev-team/sync.yaml": source } })).map((finding) => [finding.line, finding.fix?.replacement])).toEqual([[7, "  interval: 1m"]]);
  });

  it("reports a value set by an overlay patch on the patch line, with the fix there, end to end", async () => {
    const tenantKustomization = (name: string, namespace: string, path: string) =>
      kustomization("10m").replace("name: apps", `name: ${name}`).replace("namespace: flux-system\nspec", `namespace: ${namespace}\nspec`).replace("./apps/production", path);
    const base = {
      "clusters/production/tenants.yaml": tenantKustomization("tenants", "flux-system", "./tenants/production"),
      "tenants/base/dev-team/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: apps\nresources:\n  - sync.yaml\n",
      "tenants/base/dev-team/sync.yaml": tenantKustomization("dev-team", "apps", "./apps/dev-team"),
      "tenants/production/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../base/dev-team\npatches:\n  - path: dev-team-patch.yaml\n",
      "tenants/production/dev-team-patch.yaml": "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: dev-team\n  namespace: apps\nspec:\n  path: ./apps/dev-team\n",
      "apps/dev-team/settings.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n",
    };
    const head = { "tenants/production/dev-team-patch.yaml": `${base["tenants/production/dev-team-patch.yaml"]}  interval: 10s\n` };
    const verdict = await evaluateChange(base, head, { rules: [fluxInterval] });
    expect(verdict.findings.map((finding) => [finding.path, finding.line, finding.message, finding.fix?.replacement])).toEqual([
      ["tenants/production/dev-team-patch.yaml", 8, "Kustomization apps/dev-team: interval 10s is below 1m; use 1m or more (a webhook Receiver gives faster updates).", "  interval: 1m"],
    ]);
  });

  it("reports a nested field where it is written, not in a patch that writes its neighbours (flux2-kustomize-helm-example)", () => {
    const fleet = corpusTree("flux2-kustomize-helm-example/pre-2.7");
    const release = "apps/base/podinfo/release.yaml";
    const withChartInterval = fleet[release]!.replace("      chart: podinfo\n", "      chart: podinfo\n      interval: 30s\n");
    const located = (head: Record<string, string>) => fluxInterval.check(ruleContext({ head: { ...fleet, ...head } })).map((finding) => `${finding.path}:${finding.line} ${finding.fix?.replacement ?? "no fix"}`);
    // Both overlays patch spec.chart.spec.version only.
    expect(located({ [release]: withChartInterval })).toEqual([`${release}:11       interval: 1m`, `${release}:11       interval: 1m`]);
    // A JSON6902 operation is located as precisely: one on the version leaves the interval to the base.
    const json6902 = "  - patch: |\n      - op: replace\n        path: /spec/chart/spec/version\n        value: 6.x\n    target:\n      kind: HelmRelease\n";
    const staging = "apps/staging/kustomization.yaml";
    expect(located({ [release]: withChartInterval, [staging]: `${fleet[staging]!}${json6902}` })).toEqual([`${release}:11       interval: 1m`, `${release}:11       interval: 1m`]);
    // An overlay that writes the interval itself holds the finding.
    const production = "apps/production/podinfo-values.yaml";
    const patched = fleet[production]!.replace('      version: ">=1.0.0"\n', '      version: ">=1.0.0"\n      interval: 20s\n');
    expect(located({ [production]: patched })).toEqual([`${production}:10       interval: 1m`]);
  });

  it("reports a value a parent's spec.patches sets on that patch entry, without rewriting the parent's own field", () => {
    const inline = ["  patches:", "    - patch: |", "        apiVersion: kustomize.toolkit.fluxcd.io/v1", "        kind: Kustomization", "        metadata:", "          name: child", "        spec:", "          interval: 10s", "      target:", "        kind: Kustomization", "        name: child"];
    const head = {
      "clusters/production/apps.yaml": kustomization("10m", inline),
      "apps/production/child.yaml": kustomization("5m").replace("name: apps", "name: child").replace("./apps/production", "./apps/child"),
      "apps/child/kustomization.yaml": "resources: []\n",
    };
    expect(fluxInterval.check(ruleContext({ head })).map((finding) => [finding.path, finding.line, finding.fix])).toEqual([["clusters/production/apps.yaml", 9, undefined]]);
  });

  it.each(["flux2-multi-tenancy/main", "flux2-multi-tenancy/dev-team", "flux2-kustomize-helm-example/pre-2.7", "flux2-kustomize-helm-example/main"])("is silent on the clean %s corpus", (folder) => {
    expect(fluxInterval.check(ruleContext({ head: corpusTree(folder) }))).toEqual([]);
  });
});
