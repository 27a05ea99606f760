// kustomize's patch target selection, shared by the rules that follow patches through the source tree.
import { asRecord } from "../../src/core/values.js";
import { parseYamlSafely } from "../../src/core/yaml.js";

export interface PatchCandidate {
  kind: string;
  name: string;
  namespace?: string;
  labels?: Record<string, unknown>;
}

/**
 * kustomize selects with anchored regular expressions for kind, name and namespace, and `key=value,…` for
 * labelSelector. A pattern that is not a valid regular expression selects nothing (a hostile patch never throws).
 */
export function selectsPatchTarget(target: Record<string, unknown>, candidate: PatchCandidate): boolean {
  const matches = (pattern: unknown, value: string | undefined) => {
    if (typeof pattern !== "string") return true;
    try {
      return new RegExp(`^(?:${pattern})$`).test(value ?? "");
    } catch {
      return false;
    }
  };
  if (!matches(target.kind, candidate.kind) || !matches(target.name, candidate.name) || !matches(target.namespace, candidate.namespace)) return false;
  if (typeof target.labelSelector !== "string") return true;
  const labels = asRecord(candidate.labels);
  return target.labelSelector
    .split(",")
    .map((pair) => pair.split("=").map((part) => part.trim()))
    .every(([key, expected]) => key !== undefined && String(labels[key]) === expected);
}

/** The first YAML document of an inline or file patch, within fleet-warden's parser limits; undefined when it does not parse. */
export function parsePatchText(text: string, path: string): unknown {
  const parsed = parseYamlSafely(text, path);
  return parsed.error ? undefined : parsed.documents[0]?.value;
}
