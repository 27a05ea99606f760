// Every kustomization and Flux Kustomization of the real example repositories in ../shared/corpus builds,
// on a copy, as Flux would: no issue, and the objects Flux would apply.
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { planSide } from "../../src/core/build/index.js";
import { planInputs } from "../../src/core/build/plan.js";
import { renderPlan } from "../../src/core/build/render.js";
import { FleetModel } from "../../src/core/fleet.js";
import { copyDir, recordingEngine, repository } from "./helpers.js";

const CORPUS = "../shared/corpus";

const expected: Record<string, { builds: Record<string, number>; notes: number }> = {
  "flux2-multi-tenancy/main": {
    builds: {
      "flux-system/kyverno (clusters/production)": 2,
      "flux-system/kyverno-policies (clusters/production)": 2,
      "flux-system/tenants (clusters/production)": 5,
      "flux-system/kyverno (clusters/staging)": 2,
      "flux-system/kyverno-policies (clusters/staging)": 2,
      "flux-system/tenants (clusters/staging)": 5,
      "clusters/production/flux-system": 0,
      "clusters/staging/flux-system": 0,
    },
    notes: 0,
  },
  "flux2-multi-tenancy/dev-team": { builds: { production: 2, staging: 2 }, notes: 0 },
  "flux2-kustomize-helm-example/pre-2.7": {
    builds: {
      "flux-system/apps (clusters/production)": 3,
      "flux-system/infra-controllers (clusters/production)": 6,
      "flux-system/infra-configs (clusters/production)": 1,
      "flux-system/apps (clusters/staging)": 3,
      "flux-system/infra-controllers (clusters/staging)": 6,
      "flux-system/infra-configs (clusters/staging)": 1,
      "clusters/production/flux-system": 0,
      "clusters/staging/flux-system": 0,
    },
    notes: 0,
  },
  // Flux 2.7: Kustomizations read ExternalArtifacts that an ArtifactGenerator copies out of the repository.
  "flux2-kustomize-helm-example/main": {
    builds: {
      "flux-system/apps (clusters/production)": 3,
      "flux-system/infra-controllers (clusters/production)": 6,
      "flux-system/infra-configs (clusters/production)": 3,
      "flux-system/apps (clusters/staging)": 3,
      "flux-system/infra-controllers (clusters/staging)": 6,
      "flux-system/infra-configs (clusters/staging)": 3,
      "clusters/production/flux-system": 0,
      "clusters/staging/flux-system": 0,
    },
    notes: 0,
  },
};

describe.skipIf(!existsSync(CORPUS))("the corpus builds as Flux would", () => {
  it.each(Object.keys(expected))("%s", async (name) => {
    const model = new FleetModel(copyDir(`${CORPUS}/${name}`));
    const engine = recordingEngine();
    const { plans, notes } = await planSide({ model, repository, specialFiles: [] }, engine);
    const builds = await Promise.all(plans.map((plan) => renderPlan(plan, model, engine)));
    expect(builds.flatMap((build) => build.issues)).toEqual([]);
    expect(builds.every((build) => build.report.ok)).toBe(true);
    expect(Object.fromEntries(builds.map((build) => [build.report.name, build.objects.length]))).toEqual(expected[name]!.builds);
    expect(notes).toHaveLength(expected[name]!.notes);
    // Every rendered object is traced to the file and line it came from.
    expect(builds.flatMap((build) => build.objects).filter((object) => !object.source)).toEqual([]);
  });

  it.skipIf(!existsSync(`${CORPUS}/flux2-multi-tenancy/main`))("leaves a Kustomization reading another branch of the same repository to that branch", async () => {
    const model = new FleetModel(copyDir(`${CORPUS}/flux2-multi-tenancy/main`));
    const { plans, notes } = await planSide({ model, repository: { owner: "fluxcd", name: "flux2-multi-tenancy" }, specialFiles: [] }, recordingEngine());
    expect(plans.some((plan) => plan.name.startsWith("apps/dev-team"))).toBe(false);
    // Named as each cluster deploys it, not after the base folder it is written in.
    expect(notes).toEqual(
      ["production", "staging"].map((cluster) => `apps/dev-team (clusters/${cluster}) reads branch dev-team of this repository, not the commit under review: it is not built.`),
    );
  });

  it.skipIf(!existsSync(`${CORPUS}/flux2-kustomize-helm-example/main`))("rebuilds an ArtifactGenerator's artifact and traces objects back to the repository", async () => {
    const model = new FleetModel(copyDir(`${CORPUS}/flux2-kustomize-helm-example/main`));
    const engine = recordingEngine();
    const { plans } = await planSide({ model, repository, specialFiles: [] }, engine);
    const configs = plans.find((plan) => plan.name === "flux-system/infra-configs (clusters/production)")!;
    expect(configs.path).toBe("infrastructure/configs");
    expect([...planInputs(configs)].sort()).toEqual([
      ".sourceignore",
      "clusters/production/artifacts.yaml",
      "infrastructure/configs/cluster-issuers.yaml",
      "infrastructure/configs/gateway.yaml",
      "infrastructure/configs/kustomization.yaml",
    ]);
    const issuer = (await renderPlan(configs, model, engine)).objects.find((object) => object.ref.kind === "ClusterIssuer")!;
    expect(issuer.source).toEqual({ path: "infrastructure/configs/cluster-issuers.yaml", line: 2 });
    expect(JSON.stringify(issuer.object)).toContain('"server":"https://acme-v02.api.letsencrypt.org/directory"');
    const apps = plans.find((plan) => plan.name === "flux-system/apps (clusters/staging)")!;
    expect(apps.path).toBe("apps/staging");
  });

  it.skipIf(!existsSync(`${CORPUS}/flux2-kustomize-helm-example/main`))("fails a Kustomization whose artifact source-watcher cannot produce; leaves what it does not emulate to a note", async () => {
    const dir = copyDir(`${CORPUS}/flux2-kustomize-helm-example/main`);
    // Nothing left for the non-optional copy "@monorepo/apps/base/**" of staging's artifact to match.
    renameSync(join(dir, "apps/base"), join(dir, "apps/common"));
    const production = join(dir, "clusters/production/artifacts.yaml");
    writeFileSync(production, readFileSync(production, "utf8").replace('to: "@artifact/base/"', 'to: "@artifact/base/"\n          strategy: Merge'));
    const model = new FleetModel(dir);
    const engine = recordingEngine();
    const { plans, notes } = await planSide({ model, repository, specialFiles: [] }, engine);
    const staging = await renderPlan(plans.find((plan) => plan.name === "flux-system/apps (clusters/staging)")!, model, engine);
    expect(staging.report.ok).toBe(false);
    expect(staging.issues).toEqual([
      {
        rule: "kustomize-build",
        path: "clusters/staging/apps.yaml",
        line: 13,
        message:
          'spec.sourceRef: the ExternalArtifact flux-system/apps is never produced (ArtifactGenerator flux-system/flux-system, artifact apps: no files match "@monorepo/apps/base/**"), so the Kustomization fails.',
      },
    ]);
    expect(plans.some((plan) => plan.name === "flux-system/apps (clusters/production)")).toBe(false);
    expect(notes).toEqual([
      "flux-system/apps (clusters/production) reads the ExternalArtifact flux-system/apps, which is not built: ArtifactGenerator flux-system/flux-system, artifact apps: the Merge copy strategy is not emulated.",
    ]);
  });
});
