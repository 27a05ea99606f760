// Tenants inferred from the Flux graph when the config declares none: the base commit's, then those the head adds.
import { describe, expect, it } from "vitest";
import { rules } from "../../rules/index.js";
import { parseConfig } from "../../src/core/config.js";
import { FleetModel } from "../../src/core/fleet.js";
import { resolveTenants } from "../../src/core/tenants.js";
import { rbacClusterAdmin } from "../../rules/rbac-cluster-admin.js";
import { configMap, evaluateTrees, fluxKustomization, treeDir } from "../build/helpers.js";
import { corpusTree } from "../rules/lib/tenancy-fixtures.js";

const config = parseConfig(undefined, rules.map((rule) => rule.meta.id)).config;
const platform = corpusTree("flux2-multi-tenancy/main");
const model = (tree: Record<string, string | null>) => new FleetModel(treeDir(tree));
const devTeamSync = platform["tenants/base/dev-team/sync.yaml"] ?? "";
const devTeamRbac = platform["tenants/base/dev-team/rbac.yaml"] ?? "";

describe.skipIf(Object.keys(platform).length === 0)("tenant inference", () => {
  it("judges a tenant the change adds, after the base's, and never lets the change redefine one", () => {
    const mlTeam = (text: string) => text.replaceAll("dev-team", "ml-team").replaceAll("name: apps", "name: ml").replaceAll("namespace: apps", "namespace: ml");
    const head = {
      ...platform,
      "tenants/base/ml-team/sync.yaml": mlTeam(devTeamSync).replace("  serviceAccountName: ml-team\n", ""),
      "tenants/base/ml-team/rbac.yaml": mlTeam(devTeamRbac),
      // The change also claims dev-team impersonates another account: the base's dev-team stands.
      "tenants/base/dev-team/sync.yaml": devTeamSync.replace("serviceAccountName: dev-team", "serviceAccountName: someone-else"),
    };
    const tenants = resolveTenants(config, model(platform), model(head)).map(({ name, serviceAccount, namespaces }) => ({ name, serviceAccount, namespaces }));
    expect(tenants).toEqual([
      { name: "dev-team", serviceAccount: "dev-team", namespaces: ["apps"] },
      { name: "ml-team", serviceAccount: undefined, namespaces: ["ml"] },
    ]);
    expect(resolveTenants(config, model(platform)).map((tenant) => tenant.name)).toEqual(["dev-team"]);
  });
});

describe("a tenant's Kustomization Flux reads where YAML 1.2 alone would not", () => {
  const clusterAdmin = `apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: team-admin\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: cluster-admin\nsubjects:\n  - kind: ServiceAccount\n    name: default\n    namespace: team\n`;
  const fromFleet = { kind: "GitRepository", name: "flux-system", namespace: "flux-system" };
  const team = fluxKustomization("team", { path: "./apps/team", sourceRef: fromFleet, serviceAccountName: "team", targetNamespace: "team" }, "team");
  const fleet = (file: string, text: string) => ({
    "clusters/prod/tenants.yaml": fluxKustomization("tenants", { path: "./tenants" }),
    "tenants/kustomization.yaml": `resources:\n  - ${file}\n`,
    [`tenants/${file}`]: text,
    "apps/team/a.yaml": configMap("a"),
  });
  const verdictOn = async (file: string, text: string) => {
    const verdict = await evaluateTrees(fleet(file, text), { "apps/team/crb.yaml": clusterAdmin }, [rbacClusterAdmin]);
    return verdict.findings.map((finding) => `${finding.rule} ${finding.path}`);
  };

  it("is a tenant when written in a JSON file, or any file, a kustomization lists", async () => {
    for (const file of ["team.json", "team.txt", "team"]) expect(await verdictOn(file, team)).toEqual(["rbac-cluster-admin apps/team/crb.yaml"]);
  });

  it("is a tenant when its file, untouched, breaks a line with a lone CR (kustomize reads YAML 1.1 breaks)", async () => {
    expect(await verdictOn("team.yaml", `# team\r# owned by team\n${team}`)).toEqual(["rbac-cluster-admin apps/team/crb.yaml"]);
  });

  it("is a tenant when its apiVersion is broken by an escaped line break only YAML 1.1 takes (kustomize reads YAML 1.1 breaks)", async () => {
    const broken = team.replace("apiVersion: kustomize.toolkit.fluxcd.io/v1", 'apiVersion: "kustomize.toolkit.fluxcd\\\u2028  .io/v1"');
    expect(await verdictOn("team.yaml", broken)).toEqual(["rbac-cluster-admin apps/team/crb.yaml"]);
  });
});
