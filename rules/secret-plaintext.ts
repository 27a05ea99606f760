import { describeRef } from "../src/core/fleet.js";
import { asRecord } from "../src/core/values.js";
import type { Rule, RuleFinding } from "../src/core/types.js";
import { locatedDocument } from "./lib/flux-graph.js";
import { findingOn } from "./lib/objects.js";

/** Credentials recognisable by their shape, named for the message (the value itself is never repeated). */
const CREDENTIAL_PATTERNS: Array<{ name: string; pattern: RegExp }> = [
  { name: "a private key", pattern: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/ },
  { name: "an age secret key (the key SOPS decrypts with)", pattern: /\bAGE-SECRET-KEY-1[0-9A-Z]{58}\b/ },
  { name: "an AWS access key id", pattern: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/ },
  { name: "an AWS secret access key", pattern: /aws_?secret_?access_?key["']?\s*[:=]\s*["']?[A-Za-z0-9/+=]{40}\b/i },
  { name: "a GitHub token", pattern: /\bgh[pousr]_[A-Za-z0-9]{36,}\b/ },
  { name: "a GitHub fine-grained token", pattern: /\bgithub_pat_[A-Za-z0-9_]{40,}\b/ },
  { name: "a GitLab token", pattern: /\bglpat-[A-Za-z0-9_-]{20,}\b/ },
  { name: "a Slack token", pattern: /\bxox[abprse]-[A-Za-z0-9-]{10,}\b/ },
  { name: "a Slack webhook URL", pattern: /https:\/\/hooks\.slack\.com\/services\/T[A-Z0-9]+\/B[A-Z0-9]+\/[A-Za-z0-9]+/ },
  { name: "a Google API key", pattern: /\bAIza[0-9A-Za-z_-]{35}\b/ },
  { name: "a Stripe secret key", pattern: /\b[sr]k_live_[0-9A-Za-z]{24,}\b/ },
];

const KUSTOMIZATION_FILE = /(^|\/)(kustomization\.ya?ml|Kustomization)$/;
/** A SOPS-encrypted value: ENC[AES256_GCM,data:…]. */
const SOPS_VALUE = /^ENC\[[A-Z0-9_]+,data:/;
/** A Flux postBuild variable standing for the whole value: it is filled in from elsewhere at apply time. */
const SUBSTITUTED = /^\$\{[^}]+\}$/;

/** True when every value of a Secret's data map is empty, SOPS ciphertext or a Flux substitution. */
function holdsNoPlaintext(values: Record<string, unknown>): boolean {
  return Object.values(values).every((value) => value === null || value === "" || (typeof value === "string" && (SOPS_VALUE.test(value) || SUBSTITUTED.test(value.trim()))));
}

export const secretPlaintext: Rule = {
  meta: {
    id: "secret-plaintext",
    defaultSeverity: "error",
    summary: "No Secret is committed without SOPS encryption, and no private key or token appears in any changed file.",
    rationale:
      "Whatever is pushed to Git stays in its history, every clone and every fork: a plaintext credential there must be treated as leaked. Flux decrypts SOPS-encrypted Secrets in the cluster, so nothing ever needs to be committed in the clear.",
  },
  check(context) {
    const findings: RuleFinding[] = [];
    for (const doc of context.changedDocuments) {
      const ref = doc.ref;
      if (!doc.object || ref?.kind !== "Secret" || ref.apiVersion !== "v1" || doc.object.sops !== undefined) continue;
      for (const field of ["data", "stringData"] as const) {
        const values = doc.object[field];
        if (values === null || typeof values !== "object" || holdsNoPlaintext(values as Record<string, unknown>)) continue;
        findings.push(
          findingOn(
            locatedDocument(context, doc, ref),
            [field],
            `${describeRef(ref)} holds plaintext ${field} (no SOPS metadata): encrypt it with sops before committing, and rotate the values if they were ever pushed.`,
          ),
        );
      }
    }
    // kustomize's secretGenerator literals end up as Secret data: they are plaintext in the repository.
    for (const doc of context.changedDocuments) {
      if (!KUSTOMIZATION_FILE.test(doc.path) || !Array.isArray(asRecord(doc.value).secretGenerator)) continue;
      (asRecord(doc.value).secretGenerator as unknown[]).forEach((generator, index) => {
        const literals = asRecord(generator).literals;
        if (!Array.isArray(literals) || literals.every((literal) => typeof literal === "string" && holdsNoPlaintext({ value: literal.replace(/^[^=]*=/, "") }))) return;
        const name = asRecord(generator).name;
        const line = doc.keyLine(["secretGenerator", index, "literals"]) ?? doc.startLine;
        findings.push({
          path: doc.path,
          line,
          endLine: line,
          message: `secretGenerator ${typeof name === "string" ? name : `#${index + 1}`} holds plaintext literals: generate the Secret from a SOPS-encrypted file instead.`,
        });
      });
    }
    for (const file of context.changedFiles) {
      if (file.status === "removed") continue;
      const text = context.head.readText(file.path);
      if (text === undefined || text.includes("\u0000")) continue;
      text.split(/\r?\n/).forEach((line, index) => {
        if (line.includes("ENC[")) return;
        const credential = CREDENTIAL_PATTERNS.find(({ pattern }) => pattern.test(line));
        if (!credential) return;
        const doc = context.head.documentAt(file.path, index + 1);
        findings.push({
          path: file.path,
          line: index + 1,
          endLine: index + 1,
          message: `This line holds what looks like ${credential.name}: remove it, rotate it, and keep it in a SOPS-encrypted Secret.`,
          ...(doc?.ref ? { object: doc.ref } : {}),
        });
      });
    }
    return findings;
  },
};
