// kustomize's patch target selection, shared by the rules that follow patches through the source tree.
import { RE2JS } from "re2js";
import { asRecord } from "../../src/core/values.js";
import { parseYamlSafely } from "../../src/core/yaml.js";

export interface PatchCandidate {
  kind: string;
  name: string;
  namespace?: string;
  labels?: Record<string, unknown>;
}

/** Compiled target patterns, a bounded number: patches name few, and are matched against every object. */
const compiled = new Map<string, RE2JS | null>();
const MAX_COMPILED = 1_000;

/**
 * A target pattern as kustomize compiles it (Go's RE2), or null when it is invalid. RE2 runs in linear time: a
 * patch in a pull request cannot stall the process with a pattern such as `(a+)+` the way a backtracking RegExp would.
 */
function targetPattern(pattern: string): RE2JS | null {
  let regex = compiled.get(pattern);
  if (regex === undefined) {
    try {
      regex = RE2JS.compile(`^(?:${pattern})$`);
    } catch {
      regex = null;
    }
    if (compiled.size >= MAX_COMPILED) compiled.clear();
    compiled.set(pattern, regex);
  }
  return regex;
}

/**
 * kustomize selects with anchored regular expressions for kind, name and namespace, and `key=value,…` for
 * labelSelector. A pattern that is not a valid regular expression selects nothing (a hostile patch never throws).
 */
export function selectsPatchTarget(target: Record<string, unknown>, candidate: PatchCandidate): boolean {
  const matches = (pattern: unknown, value: string | undefined) => (typeof pattern === "string" ? (targetPattern(pattern)?.testExact(value ?? "") ?? false) : true);
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
