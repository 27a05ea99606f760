import { describe, expect, it } from "vitest";
import { sopsDecryption } from "../../rules/sops-decryption.js";
import type { Tree } from "../helpers/fleet.js";
import { ruleContext } from "../helpers/rule-context.js";
import { corpusTree } from "./lib/tenancy-fixtures.js";

const kustomization = (name: string, path: string, decryption: string[] = []) =>
  [
    "---",
    "apiVersion: kustomize.toolkit.fluxcd.io/v1",
    "kind: Kustomization",
    "metadata:",
    `  name: ${name}`,
    "  namespace: flux-system",
    "spec:",
    "  interval: 1h",
    ...decryption,
    "  sourceRef:",
    "    kind: GitRepository",
    "    name: flux-system",
    `  path: ${path}`,
    "  prune: true",
  ].join("\n");

const sopsBlock = ["  decryption:", "    provider: sops", "    secretRef:", "      name: sops-age"];

const encryptedSecret = [
  "apiVersion: v1",
  "kind: Secret",
  "metadata:",
  "  name: db-credentials",
  "stringData:",
  "  password: ENC[AES256_GCM,data:q8v3,iv:abc=,tag:def=,type:str]",
  "sops:",
  "  lastmodified: \"2025-01-01T00:00:00Z\"",
  "  mac: ENC[AES256_GCM,data:xyz,iv:abc=,tag:def=,type:str]",
  "  version: 3.9.0",
  "",
].join("\n");

const fleet = (appsDecryption: string[]): Tree => ({
  "clusters/production/infrastructure.yaml": kustomization("infrastructure", "./infrastructure/production", sopsBlock),
  "clusters/production/apps.yaml": kustomization("apps", "./apps/production", appsDecryption),
  "infrastructure/production/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n",
  "apps/production/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: apps\nresources:\n  - ../base/podinfo\n",
  "apps/base/podinfo/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - secret.enc.yaml\n",
  "apps/base/podinfo/secret.enc.yaml": encryptedSecret,
});

describe("sops-decryption", () => {
  it("accepts a Kustomization that decrypts with sops", () => {
    expect(sopsDecryption.check(ruleContext({ head: fleet(sopsBlock), changed: ["apps/base/podinfo/secret.enc.yaml"] }))).toEqual([]);
  });

  it("flags the Kustomization applying an encrypted file it cannot decrypt, with the cluster's key as fix", () => {
    const findings = sopsDecryption.check(ruleContext({ head: fleet([]), changed: ["apps/base/podinfo/secret.enc.yaml"] }));
    expect(findings).toEqual([
      {
        path: "clusters/production/apps.yaml",
        line: 7,
        endLine: 7,
        message:
          "Kustomization flux-system/apps applies SOPS-encrypted apps/base/podinfo/secret.enc.yaml but sets no spec.decryption: Flux applies the ciphertext. Add decryption with provider sops and the Secret holding the key.",
        object: { apiVersion: "kustomize.toolkit.fluxcd.io/v1", kind: "Kustomization", name: "apps", namespace: "flux-system" },
        fix: {
          line: 7,
          endLine: 7,
          replacement: "spec:\n  decryption:\n    provider: sops\n    secretRef:\n      name: sops-age",
          description: "Decrypt SOPS files with the cluster's key",
        },
      },
    ]);
  });

  it("offers no fix when no Kustomization of the cluster names a decryption key", () => {
    const head = { ...fleet([]), "clusters/production/infrastructure.yaml": kustomization("infrastructure", "./infrastructure/production") };
    const [finding] = sopsDecryption.check(ruleContext({ head, changed: ["clusters/production/apps.yaml"] }));
    expect(finding?.line).toBe(7);
    expect(finding?.fix).toBeUndefined();
  });

  it("flags a decryption provider other than sops, on its line", () => {
    const head = fleet(["  decryption:", "    provider: vault"]);
    expect(sopsDecryption.check(ruleContext({ head, changed: ["clusters/production/apps.yaml"] })).map((finding) => [finding.line, finding.message])).toEqual([
      [10, "Kustomization flux-system/apps applies SOPS-encrypted apps/base/podinfo/secret.enc.yaml but its decryption provider is not sops: Flux applies the ciphertext."],
    ]);
  });

  it("stays silent when the change touches neither the Kustomization nor what it applies", () => {
    expect(sopsDecryption.check(ruleContext({ head: fleet([]), changed: ["clusters/production/infrastructure.yaml"] }))).toEqual([]);
  });

  it.each(["flux2-multi-tenancy/main", "flux2-multi-tenancy/dev-team", "flux2-kustomize-helm-example/pre-2.7", "flux2-kustomize-helm-example/main"])("is silent on the clean %s corpus", (folder) => {
    expect(sopsDecryption.check(ruleContext({ head: corpusTree(folder) }))).toEqual([]);
  });
});
