import { describe, expect, it } from "vitest";
import { fluxServiceAccount } from "../../rules/flux-service-account.js";
import { evaluateChange } from "../helpers/fleet.js";
import { ruleContext } from "../helpers/rule-context.js";
import { corpusTree, DEV_TEAM_CONFIG, DEV_TEAM_CONFIG_YAML, platformKustomization, tenantSync } from "./lib/tenancy-fixtures.js";

const check = (options: Parameters<typeof ruleContext>[0]) => fluxServiceAccount.check(ruleContext(options));
const MISSING = "Kustomization apps/dev-team deploys for tenant dev-team without spec.serviceAccountName: Flux would apply it with the controller's own account (or the --default-service-account) instead of dev-team.";
const SYNC_SPEC = ["  interval: 5m", "  sourceRef:", "    kind: GitRepository", "    name: dev-team", "  path: ./apps/dev-team/staging", "  prune: true"];

describe("flux-service-account", () => {
  it("passes a tenant Kustomization that impersonates the tenant's account", () => {
    expect(check({ head: { "tenants/base/dev-team/sync.yaml": tenantSync(["  serviceAccountName: dev-team", ...SYNC_SPEC]) }, config: DEV_TEAM_CONFIG })).toEqual([]);
  });

  it("flags a tenant Kustomization (platform file, tenant namespace) without serviceAccountName and adds the line under spec:", () => {
    const findings = check({ head: { "tenants/base/dev-team/sync.yaml": tenantSync(SYNC_SPEC) }, config: DEV_TEAM_CONFIG });
    expect(findings).toEqual([
      {
        path: "tenants/base/dev-team/sync.yaml",
        line: 17,
        endLine: 17,
        message: MISSING,
        object: { apiVersion: "kustomize.toolkit.fluxcd.io/v1", kind: "Kustomization", name: "dev-team", namespace: "apps" },
        fix: { line: 17, endLine: 17, replacement: "spec:\n  serviceAccountName: dev-team", description: "Impersonate the tenant's service account dev-team" },
      },
    ]);
  });

  it("replaces another account on its own line", () => {
    const [finding] = check({ head: { "tenants/base/dev-team/sync.yaml": tenantSync(["  serviceAccountName: kustomize-controller  # temporary", ...SYNC_SPEC]) }, config: DEV_TEAM_CONFIG });
    expect(finding?.line).toBe(18);
    expect(finding?.message).toBe("Kustomization apps/dev-team deploys for tenant dev-team as service account kustomize-controller, not the tenant's account dev-team.");
    expect(finding?.fix).toEqual({ line: 18, endLine: 18, replacement: "  serviceAccountName: dev-team  # temporary", description: "Impersonate the tenant's service account dev-team" });
  });

  it("keeps the file's indentation for a HelmRelease recognised by its tenant territory", () => {
    const release = [
      "apiVersion: helm.toolkit.fluxcd.io/v2",
      "kind: HelmRelease",
      "metadata:",
      "    name: podinfo",
      "spec:",
      "    interval: 50m",
      "    chart:",
      "        spec:",
      "            chart: podinfo",
      "",
    ].join("\n");
    const [finding] = check({ head: { "apps/dev-team/base/release.yaml": release }, config: DEV_TEAM_CONFIG });
    expect(finding?.line).toBe(5);
    expect(finding?.fix?.replacement).toBe("spec:\n    serviceAccountName: dev-team");
  });

  it("recognises tenant objects by the toolkit.fluxcd.io/tenant label and by a spec.path into tenant territory", () => {
    const labelled = tenantSync(SYNC_SPEC).replace("  namespace: apps\nspec:\n  interval: 5m", "  namespace: flux-system\n  labels:\n    toolkit.fluxcd.io/tenant: dev-team\nspec:\n  interval: 5m");
    expect(check({ head: { "tenants/base/dev-team/sync.yaml": labelled }, config: DEV_TEAM_CONFIG }).map((finding) => finding.line)).toEqual([19]);
    const platformDeploysTenantPath = platformKustomization("dev-team-apps", "./apps/dev-team/staging");
    const findings = check({ head: { "clusters/staging/dev-team.yaml": platformDeploysTenantPath }, config: DEV_TEAM_CONFIG });
    expect(findings.map((finding) => [finding.path, finding.line, finding.fix?.replacement])).toEqual([["clusters/staging/dev-team.yaml", 6, "spec:\n  serviceAccountName: dev-team"]]);
  });

  it("takes a labelled Kustomization for the tenant's unless it is Flux's bootstrap flux-system/flux-system", () => {
    const labelled = (name: string, path: string) => platformKustomization(name, path).replace("  namespace: flux-system\n", "  namespace: flux-system\n  labels:\n    toolkit.fluxcd.io/tenant: dev-team\n");
    const flagged = (file: string, text: string) => check({ head: { [file]: text }, config: DEV_TEAM_CONFIG }).map((finding) => `${finding.path}:${finding.line}`);
    // Applying the folder of its own definition, or the whole repository, as the controller: the tenant's all the same.
    expect(flagged("clusters/production/dev-team.yaml", labelled("dev-team", "./clusters/production"))).toEqual(["clusters/production/dev-team.yaml:8"]);
    expect(flagged("clusters/production/dev-team.yaml", labelled("dev-team", "./").replace("  path: ./\n", ""))).toEqual(["clusters/production/dev-team.yaml:8"]);
    // The bootstrap Kustomization, labelled with the team that runs Flux.
    expect(flagged("clusters/production/flux-system/gotk-sync.yaml", labelled("flux-system", "./clusters/production"))).toEqual([]);
    expect(flagged("clusters/production/flux-system/gotk-sync.yaml", labelled("flux-system", "./"))).toEqual([]);
  });

  it("leaves platform Kustomizations, repositories without tenants and tenants without an account alone", () => {
    const platform = platformKustomization("infrastructure", "./infrastructure/staging");
    expect(check({ head: { "clusters/staging/infrastructure.yaml": platform }, config: DEV_TEAM_CONFIG })).toEqual([]);
    expect(check({ head: { "tenants/base/dev-team/sync.yaml": tenantSync(SYNC_SPEC) } })).toEqual([]);
    const noAccount = { tenants: [{ name: "dev-team", paths: ["apps/dev-team/**"], namespaces: ["apps"] }] };
    expect(check({ head: { "tenants/base/dev-team/sync.yaml": tenantSync(SYNC_SPEC) }, config: noAccount })).toEqual([]);
  });

  it("judges an overlay patch only on the fields it sets", () => {
    const overlay = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../base/dev-team\npatches:\n  - path: dev-team-patch.yaml\n";
    const patch = (spec: string) => `apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: dev-team\n  namespace: apps\nspec:\n${spec}`;
    const head = (spec: string) => ({ "tenants/staging/kustomization.yaml": overlay, "tenants/staging/dev-team-patch.yaml": patch(spec) });
    expect(check({ head: head("  path: ./apps/dev-team/staging\n"), config: DEV_TEAM_CONFIG })).toEqual([]);
    const [finding] = check({ head: head("  serviceAccountName: kustomize-controller\n"), config: DEV_TEAM_CONFIG });
    expect([finding?.path, finding?.line, finding?.fix?.replacement]).toEqual(["tenants/staging/dev-team-patch.yaml", 7, "  serviceAccountName: dev-team"]);
  });

  it("finds a Kustomization that only becomes the tenant's after rendering (namespace from the overlay)", () => {
    const source = tenantSync(SYNC_SPEC).replace("  name: dev-team\n  namespace: apps\nspec:\n  interval: 5m", "  name: dev-team\nspec:\n  interval: 5m");
    const rendered = {
      apiVersion: "kustomize.toolkit.fluxcd.io/v1",
      kind: "Kustomization",
      metadata: { name: "dev-team", namespace: "apps" },
      spec: { interval: "5m", sourceRef: { kind: "GitRepository", name: "dev-team" }, path: "./apps/dev-team/staging", prune: true },
    };
    const ref = { apiVersion: "kustomize.toolkit.fluxcd.io/v1", kind: "Kustomization", name: "dev-team", namespace: "apps" };
    const build = {
      report: { name: "Kustomization flux-system/tenants (clusters/staging)", path: "tenants/staging", ok: true, objects: 1 },
      objects: [{ object: rendered, ref, source: { path: "tenants/base/dev-team/sync.yaml", line: 12 } }],
      issues: [],
    };
    // Without the build the source has no namespace: nothing says it is the tenant's.
    expect(check({ head: { "tenants/base/dev-team/sync.yaml": source }, config: DEV_TEAM_CONFIG })).toEqual([]);
    const findings = check({ head: { "tenants/base/dev-team/sync.yaml": source }, config: DEV_TEAM_CONFIG, builds: [build] });
    expect(findings).toEqual([
      {
        path: "tenants/base/dev-team/sync.yaml",
        line: 16,
        endLine: 16,
        message: MISSING,
        object: ref,
        build: "Kustomization flux-system/tenants (clusters/staging)",
        fix: { line: 16, endLine: 16, replacement: "spec:\n  serviceAccountName: dev-team", description: "Impersonate the tenant's service account dev-team" },
      },
    ]);
  });

  it("follows the rendered spec.path: an overlay that points a platform Kustomization at tenant territory makes it the tenant's", () => {
    const source = platformKustomization("apps", "./apps/platform");
    const ref = { apiVersion: "kustomize.toolkit.fluxcd.io/v1", kind: "Kustomization", name: "apps", namespace: "flux-system" };
    const rendered = { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: "apps", namespace: "flux-system" }, spec: { interval: "10m", sourceRef: { kind: "GitRepository", name: "flux-system" }, path: "./apps/dev-team/staging" } };
    const build = {
      report: { name: "flux-system (clusters/staging)", path: "clusters/staging", ok: true, objects: 1 },
      objects: [{ object: rendered, ref, source: { path: "clusters/staging/apps.yaml", line: 1 } }],
      issues: [],
    };
    const head = { "clusters/staging/apps.yaml": source };
    expect(check({ head, config: DEV_TEAM_CONFIG })).toEqual([]);
    const findings = check({ head, config: DEV_TEAM_CONFIG, builds: [build] });
    expect(findings.map((finding) => [finding.path, finding.line, finding.fix?.replacement])).toEqual([["clusters/staging/apps.yaml", 6, "spec:\n  serviceAccountName: dev-team"]]);
  });

  it("fails a pull request that drops serviceAccountName (end to end)", async () => {
    const base = { ".github/fleet-warden.yml": DEV_TEAM_CONFIG_YAML, "tenants/base/dev-team/sync.yaml": tenantSync(["  serviceAccountName: dev-team", ...SYNC_SPEC]) };
    const verdict = await evaluateChange(base, { "tenants/base/dev-team/sync.yaml": tenantSync(SYNC_SPEC) }, { rules: [fluxServiceAccount] });
    expect(verdict.conclusion).toBe("failure");
    expect(verdict.findings.map((finding) => [finding.rule, finding.severity, finding.path, finding.line, finding.message])).toEqual([
      ["flux-service-account", "error", "tenants/base/dev-team/sync.yaml", 17, MISSING],
    ]);
  });

  it("is silent on the flux2-multi-tenancy corpus, whose tenant Kustomization impersonates dev-team", () => {
    const tree = corpusTree("flux2-multi-tenancy/main");
    expect(check({ head: tree, base: tree })).toEqual([]);
  });
});
