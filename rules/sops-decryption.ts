import { describeRef, isYamlPath, type FleetModel } from "../src/core/fleet.js";
import { asRecord } from "../src/core/values.js";
import type { Rule, RuleFinding } from "../src/core/types.js";
import { findingOnSpec, fluxGraph, insertUnderFix, prepareFluxGraph, writtenIn, type ClusterObject } from "./lib/flux-graph.js";

/** True when the file carries SOPS metadata: a `sops` map in YAML or JSON, `sops_*=` keys in a dotenv file. */
export function isSopsEncrypted(model: FleetModel, path: string): boolean {
  const text = model.readText(path);
  if (text === undefined || !text.includes("sops")) return false;
  if (isYamlPath(path)) return (model.file(path)?.documents ?? []).some((doc) => Object.keys(asRecord(asRecord(doc.value).sops)).length > 0);
  if (path.endsWith(".json")) return /"sops"\s*:\s*\{/.test(text);
  return /^sops_mac=/m.test(text);
}

/** The secretRef name the cluster's other Kustomizations decrypt with, when they agree on one. */
function knownDecryptionSecret(kustomizations: ClusterObject[], cluster: string): string | undefined {
  const names = new Set(
    kustomizations
      .filter((other) => other.cluster === cluster && asRecord(other.spec.decryption).provider === "sops")
      .map((other) => asRecord(asRecord(other.spec.decryption).secretRef).name)
      .filter((name): name is string => typeof name === "string"),
  );
  return names.size === 1 ? [...names][0] : undefined;
}

function memoized<K, V>(compute: (key: K) => V): (key: K) => V {
  const known = new Map<K, V>();
  return (key) => {
    if (!known.has(key)) known.set(key, compute(key));
    return known.get(key)!;
  };
}

export const sopsDecryption: Rule = {
  meta: {
    id: "sops-decryption",
    defaultSeverity: "error",
    summary: "A Flux Kustomization that applies SOPS-encrypted files sets spec.decryption with provider sops.",
    rationale:
      "Without spec.decryption, kustomize-controller applies the ciphertext as it is: the Secret is rejected or lands with encrypted values, the workload that needs it fails, and the whole Kustomization stops reconciling.",
  },
  prepare: prepareFluxGraph,
  check(context) {
    const graph = fluxGraph(context.head);
    const changed = new Set(context.changedFiles.map((file) => file.path));
    const findings: RuleFinding[] = [];
    // Kustomizations that name the same folder share its list of files: each list is looked at once.
    const changesFiles = memoized((files: readonly string[]) => files.some((file) => changed.has(file)));
    const encryptedOf = memoized((files: readonly string[]) => files.filter((file) => isSopsEncrypted(context.head, file)));
    const secretOf = memoized((cluster: string) => knownDecryptionSecret(graph.kustomizations, cluster));
    for (const kustomization of graph.kustomizations) {
      if (!graph.readsThisRepository(kustomization)) continue;
      const files = graph.appliedFiles(kustomization);
      // Only Kustomizations the change touches: their own lines, a patch of them, or a file they apply.
      const touched = writtenIn(kustomization, changed) || changesFiles(files);
      const decryption = asRecord(kustomization.spec.decryption);
      if (!touched || decryption.provider === "sops") continue;
      const encrypted = encryptedOf(files);
      if (encrypted.length === 0) continue;
      const what = `${describeRef(kustomization.ref)} applies SOPS-encrypted ${encrypted[0]}${encrypted.length > 1 ? ` (and ${encrypted.length - 1} more)` : ""}`;
      if (kustomization.spec.decryption !== undefined) {
        findings.push(findingOnSpec(context, kustomization, ["decryption", "provider"], `${what} but its decryption provider is not sops: Flux applies the ciphertext.`));
        continue;
      }
      const secret = secretOf(kustomization.cluster);
      const fix = secret
        ? insertUnderFix(kustomization.doc, ["spec"], ["decryption:", "  provider: sops", "  secretRef:", `    name: ${secret}`], "Decrypt SOPS files with the cluster's key")
        : undefined;
      findings.push(
        findingOnSpec(context, kustomization, ["decryption"], `${what} but sets no spec.decryption: Flux applies the ciphertext. Add decryption with provider sops and the Secret holding the key.`, fix ? { fix } : {}),
      );
    }
    return findings;
  },
};
