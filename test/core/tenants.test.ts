// Tenants inferred from the Flux graph when the config declares none: the base commit's, then those the head adds.
import { describe, expect, it } from "vitest";
import { rules } from "../../rules/index.js";
import { parseConfig } from "../../src/core/config.js";
import { FleetModel } from "../../src/core/fleet.js";
import { resolveTenants } from "../../src/core/tenants.js";
import { treeDir } from "../build/helpers.js";
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
