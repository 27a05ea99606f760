import { describe, expect, it } from "vitest";
import { schema } from "../../rules/schema.js";
import { deployment, evaluateTrees, fluxKustomization } from "../build/helpers.js";

const app = { "app/kustomization.yaml": "resources:\n  - deployment.yaml\n", "app/deployment.yaml": deployment("web") };
const findings = async (head: Record<string, string>) =>
  (await evaluateTrees(app, head, [schema])).findings.map(({ severity, path, line, message, build }) => ({ severity, path, line, message, build }));

describe("schema", () => {
  it("passes valid Kubernetes objects", async () => {
    expect(await findings({ "app/deployment.yaml": deployment("web", "nginx:1.28") })).toEqual([]);
  });

  it("rejects an unknown field on the line that holds it", async () => {
    const typo = deployment("web").replace("          image: nginx:1.27\n", "          image: nginx:1.27\n          imagePullPolice: Always\n");
    expect(await findings({ "app/deployment.yaml": typo })).toEqual([
      {
        severity: "error",
        path: "app/deployment.yaml",
        line: 17,
        message: "Deployment web: spec.template.spec.containers[0].imagePullPolice is not a field of the apps/v1 Deployment schema.",
        build: "app",
      },
    ]);
  });

  it("reports a field an overlay patch adds on the patch's line, not on the base's first line", async () => {
    const overlay = {
      "overlay/kustomization.yaml": "resources:\n  - ../app\npatches:\n  - path: pull.yaml\n",
      "overlay/pull.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          imagePullPolice: Always\n",
    };
    expect((await evaluateTrees({ ...app, "overlay/kustomization.yaml": "resources:\n  - ../app\n" }, overlay, [schema])).findings.map(({ path, line, build }) => ({ path, line, build }))).toEqual([
      { path: "overlay/pull.yaml", line: 10, build: "overlay" },
    ]);
  });

  it("rejects a wrong type and a missing required field", async () => {
    const broken = deployment("web").replace("spec:\n  selector:\n    matchLabels:\n      app: web\n", "spec:\n  replicas: two\n");
    expect(await findings({ "app/deployment.yaml": broken })).toEqual([
      { severity: "error", path: "app/deployment.yaml", line: 5, message: "Deployment web: spec.selector is required by the apps/v1 Deployment schema.", build: "app" },
      { severity: "error", path: "app/deployment.yaml", line: 6, message: "Deployment web: spec.replicas must be integer.", build: "app" },
    ]);
  });

  it("validates Flux objects strictly, and leaves free-form fields alone", async () => {
    const head = {
      "app/kustomization.yaml": "resources:\n  - deployment.yaml\n  - sync.yaml\n  - release.yaml\n",
      "app/sync.yaml": fluxKustomization("tenant", { path: "./tenant", prune: true, targetNamespce: "team" }),
      "app/release.yaml": [
        "apiVersion: helm.toolkit.fluxcd.io/v2",
        "kind: HelmRelease",
        "metadata:",
        "  name: podinfo",
        "spec:",
        "  interval: 10m",
        "  chart:",
        "    spec:",
        "      chart: podinfo",
        "      sourceRef:",
        "        kind: HelmRepository",
        "        name: podinfo",
        "  values:",
        "    anything:",
        "      goes: here",
        "",
      ].join("\n"),
    };
    expect(await findings(head)).toEqual([
      {
        severity: "error",
        path: "app/sync.yaml",
        line: 13,
        message: "Kustomization flux-system/tenant: spec.targetNamespce is not a field of the kustomize.toolkit.fluxcd.io/v1 Kustomization schema.",
        build: "app",
      },
    ]);
  });

  it("does not judge a SOPS-encrypted object, which Flux decrypts before applying", async () => {
    const secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: token\ndata:\n  token: ENC[AES256_GCM,data:abc,type:str]\nsops:\n  version: 3.9.0\n";
    expect(await findings({ "app/kustomization.yaml": "resources:\n  - secret.yaml\n", "app/secret.yaml": secret })).toEqual([]);
    const plain = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: token\nextra: 1\nstringData:\n  token: x\n";
    expect((await findings({ "app/kustomization.yaml": "resources:\n  - secret.yaml\n", "app/secret.yaml": plain })).map((finding) => finding.message)).toEqual([
      "Secret token: extra is not a field of the v1 Secret schema.",
    ]);
  });

  it("does not judge kinds no schema package covers", async () => {
    const issuer = "apiVersion: cert-manager.io/v1\nkind: ClusterIssuer\nmetadata:\n  name: letsencrypt\nspec:\n  anyField: true\n";
    expect(await findings({ "app/kustomization.yaml": "resources:\n  - issuer.yaml\n", "app/issuer.yaml": issuer })).toEqual([]);
  });
});
