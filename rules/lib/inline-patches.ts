// Where a kustomization itself writes an object's field: the inline `patches[].patch` texts of kustomization
// files and of Flux Kustomizations. A finding on a field that no document of the object writes belongs there,
// on the line a person changed.
import { isDeepStrictEqual } from "node:util";
import { isKustomizationFile } from "../../src/core/build/kustomization.js";
import type { SourceDocument } from "../../src/core/fleet.js";
import { isFluxKustomization } from "../../src/core/flux.js";
import { asRecord, escapeRegExp, isRecord, valueAt } from "../../src/core/values.js";
import type { YamlPath } from "../../src/core/yaml.js";
import type { LocatedObject } from "./objects.js";
import { parsePointer } from "./json-patch.js";
import { parsePatchText, selectsPatchTarget } from "./patch-target.js";

/** The kustomization parts of a document: a kustomization file's top level, or a Flux Kustomization's spec. */
export function kustomizationPrefix(doc: SourceDocument): YamlPath | undefined {
  if (isKustomizationFile(doc.path)) return [];
  return isFluxKustomization(doc.ref) ? ["spec"] : undefined;
}

export interface InlinePatchLine {
  doc: SourceDocument;
  /** The YAML path of the patch text in `doc`. */
  path: YamlPath;
  line: number;
  /** True when the line sets the field to the value; false when it only names the field (a JSON6902 `path:`). */
  sets: boolean;
}

/**
 * The line, inside an inline `patches[].patch` block of one of `docs` that applies to `target`, that sets `field`
 * to `expected` (`privileged: true`), else that names it (a JSON6902 `path: …/privileged`).
 */
export function inlinePatchLine(docs: Iterable<SourceDocument>, target: LocatedObject, field: string, expected: unknown): InlinePatchLine | undefined {
  const names = new RegExp(`(^|[\\s{,/"'])${escapeRegExp(field)}\\b`);
  for (const doc of docs) {
    const prefix = kustomizationPrefix(doc);
    const patches = prefix ? valueAt(doc.value, [...prefix, "patches"]) : undefined;
    if (!prefix || !Array.isArray(patches)) continue;
    for (const [patchIndex, patch] of patches.entries()) {
      const text = isRecord(patch) ? patch.patch : undefined;
      if (typeof text !== "string" || !patchTargets(asRecord(patch), text, target)) continue;
      const path = [...prefix, "patches", patchIndex, "patch"];
      const start = doc.valueLine(path);
      // Only block scalars (`patch: |`) map the patch's lines one to one onto the file's.
      if (start === undefined || !/[|>][-+0-9]*\s*(#.*)?$/.test(doc.file.lines[start - 1] ?? "")) continue;
      const lines = text.split("\n");
      const setting = lines.findIndex((line) => names.test(line) && line.includes(String(expected)));
      const lineIndex = setting !== -1 ? setting : lines.findIndex((line) => names.test(line));
      if (lineIndex !== -1) return { doc, path, line: start + 1 + lineIndex, sets: setting !== -1 };
    }
  }
  return undefined;
}

/**
 * When the inline patch holding `inline` is a JSON6902 patch, the file line of the `path:` of its last operation that
 * sets `path` to `value` (the one that wins); undefined when none does.
 */
export function json6902Line(inline: InlinePatchLine, path: YamlPath, value: unknown): number | undefined {
  const text = valueAt(inline.doc.value, inline.path);
  const start = inline.doc.valueLine(inline.path);
  const operations = typeof text === "string" ? parsePatchText(text, inline.doc.path) : undefined;
  if (typeof text !== "string" || start === undefined || !Array.isArray(operations)) return undefined;
  const sets = (item: unknown): item is { path: string } =>
    isRecord(item) && (item.op === "add" || item.op === "replace") && typeof item.path === "string" && isDeepStrictEqual(parsePointer(item.path), path.map(String)) && isDeepStrictEqual(item.value, value);
  let index = operations.length - 1;
  while (index >= 0 && !sets(operations[index])) index--;
  if (index < 0) return undefined;
  // Its `path:` line: the n-th of the text's lines whose `path:` is its pointer as written (block or flow style).
  const written = (operations[index] as { path: string }).path;
  const pathLine = new RegExp(`(?:^|[\\s{,])path\\s*:\\s*(["']?)${escapeRegExp(written)}\\1\\s*(?:[,}#]|$)`);
  let nth = operations.slice(0, index).filter((item) => isRecord(item) && item.path === written).length;
  const lineIndex = text.split("\n").findIndex((line) => pathLine.test(line) && nth-- === 0);
  return lineIndex === -1 ? undefined : start + 1 + lineIndex;
}

/**
 * Whether an inline patch may apply to the object: its `target` selector (kind, and name as the regular expression
 * kustomize reads), else the kind and name written in a strategic-merge patch.
 */
function patchTargets(entry: Record<string, unknown>, text: string, target: LocatedObject): boolean {
  const names = [target.ref.name, target.doc?.ref?.name].filter((name): name is string => typeof name === "string");
  const selector = isRecord(entry.target) ? entry.target : undefined;
  let kind = selector?.kind;
  let name = selector?.name;
  if (!selector) {
    const parsed = parsePatchText(text, target.path);
    if (parsed === undefined) return false;
    kind = asRecord(parsed).kind;
    name = asRecord(asRecord(parsed).metadata).name;
    if (typeof name === "string") name = escapeRegExp(name);
  }
  const wanted = { ...(typeof kind === "string" ? { kind } : {}), ...(typeof name === "string" ? { name } : {}) };
  return names.some((candidate) => selectsPatchTarget(wanted, { kind: target.ref.kind, name: candidate }));
}
