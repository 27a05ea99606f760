import { describe, expect, it } from "vitest";
import { secretPlaintext } from "../../rules/secret-plaintext.js";
import { ruleContext } from "../helpers/rule-context.js";
import { corpusTree } from "./lib/tenancy-fixtures.js";

// Fake credentials, assembled at run time so that no scanner mistakes this file for a leak.
const githubToken = ["ghp", "_", "x".repeat(36)].join("");
const awsKeyId = ["AKIA", "ABCDEFGHIJKLMNOP"].join("");
const slackToken = ["xoxb", "-", "1234567890-abcdefghij"].join("");
const pemHeader = ["-----BEGIN", "OPENSSH PRIVATE KEY-----"].join(" ");

const secret = (body: string[]) =>
  ["apiVersion: v1", "kind: Secret", "metadata:", "  name: db-credentials", "  namespace: apps", "type: Opaque", ...body, ""].join("\n");

const check = (head: Record<string, string>) => secretPlaintext.check(ruleContext({ head }));

describe("secret-plaintext", () => {
  it("accepts SOPS-encrypted Secrets, empty ones, and values Flux substitutes", () => {
    const encrypted = secret([
      "stringData:",
      "  password: ENC[AES256_GCM,data:q8v3,iv:abc=,tag:def=,type:str]",
      "sops:",
      "  age:",
      "    - recipient: age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq",
      "  lastmodified: \"2025-01-01T00:00:00Z\"",
      "  mac: ENC[AES256_GCM,data:xyz,iv:abc=,tag:def=,type:str]",
      "  version: 3.9.0",
    ]);
    const substituted = secret(["stringData:", "  password: ${DB_PASSWORD}", "  user: \"\""]);
    expect(check({ "apps/base/secret.enc.yaml": encrypted, "apps/base/secret.yaml": substituted })).toEqual([]);
  });

  it("flags a Secret with plaintext data, without echoing it", () => {
    const findings = check({ "apps/base/secret.yaml": secret(["data:", "  password: aHVudGVyMg=="]) });
    expect(findings).toEqual([
      {
        path: "apps/base/secret.yaml",
        line: 7,
        endLine: 7,
        message: "Secret apps/db-credentials holds plaintext data (no SOPS metadata): encrypt it with sops before committing, and rotate the values if they were ever pushed.",
        object: { apiVersion: "v1", kind: "Secret", name: "db-credentials", namespace: "apps" },
      },
    ]);
    expect(JSON.stringify(findings)).not.toContain("aHVudGVyMg");
  });

  it("finds private keys and tokens in any changed file, on their line, never in the message", () => {
    const head = {
      "apps/base/values.yaml": ["apiVersion: v1", "kind: ConfigMap", "metadata:", "  name: ci", "data:", `  token: ${githubToken}`, `  slack: ${slackToken}`, ""].join("\n"),
      "scripts/deploy.sh": ["#!/bin/sh", `export AWS_ACCESS_KEY_ID=${awsKeyId}`, ""].join("\n"),
      "docs/id_ed25519": [pemHeader, "b3BlbnNzaC1rZXktdjEAAAAA", ""].join("\n"),
      "apps/base/sealed.yaml": `password: ENC[AES256_GCM,data:${githubToken},type:str]\n`,
    };
    const findings = check(head);
    expect(findings.map((finding) => [finding.path, finding.line, finding.message, finding.object?.name])).toEqual([
      ["apps/base/values.yaml", 6, "This line holds what looks like a GitHub token: remove it, rotate it, and keep it in a SOPS-encrypted Secret.", "ci"],
      ["apps/base/values.yaml", 7, "This line holds what looks like a Slack token: remove it, rotate it, and keep it in a SOPS-encrypted Secret.", "ci"],
      ["scripts/deploy.sh", 2, "This line holds what looks like an AWS access key id: remove it, rotate it, and keep it in a SOPS-encrypted Secret.", undefined],
      ["docs/id_ed25519", 1, "This line holds what looks like a private key: remove it, rotate it, and keep it in a SOPS-encrypted Secret.", undefined],
    ]);
    for (const secretText of [githubToken, slackToken, awsKeyId]) expect(JSON.stringify(findings)).not.toContain(secretText);
  });

  it("flags secretGenerator literals, but not generated Secrets whose literals Flux substitutes", () => {
    const kustomization = [
      "apiVersion: kustomize.config.k8s.io/v1beta1",
      "kind: Kustomization",
      "secretGenerator:",
      "  - name: from-env",
      "    literals:",
      "      - password=${DB_PASSWORD}",
      "  - name: db-credentials",
      "    literals:",
      "      - password=hunter2",
      "",
    ].join("\n");
    expect(check({ "apps/base/kustomization.yaml": kustomization })).toEqual([
      { path: "apps/base/kustomization.yaml", line: 8, endLine: 8, message: "secretGenerator db-credentials holds plaintext literals: generate the Secret from a SOPS-encrypted file instead." },
    ]);
  });

  it.each(["flux2-multi-tenancy/main", "flux2-multi-tenancy/dev-team", "flux2-kustomize-helm-example/pre-2.7", "flux2-kustomize-helm-example/main"])("is silent on the clean %s corpus", (folder) => {
    expect(secretPlaintext.check(ruleContext({ head: corpusTree(folder) }))).toEqual([]);
  });
});
