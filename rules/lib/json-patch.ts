// RFC 6902 JSON patches (add, replace, remove) on parsed YAML, for the rules that follow kustomize and Flux
// patches without running kustomize. Lenient where kustomize would fail: a patch kustomize rejects is the
// kustomize-build rule's finding, and the rules only need to see what a valid patch does.
import { isRecord } from "../../src/core/values.js";

/** An array index token: digits without a leading zero (RFC 6901). */
const ARRAY_INDEX = /^(?:0|[1-9]\d*)$/;

export interface JsonPatchOperation {
  op: "add" | "replace" | "remove";
  /** The pointer's reference tokens, unescaped. */
  path: string[];
  /** Absent for remove. */
  value?: unknown;
}

/** The reference tokens of an RFC 6901 JSON pointer ("/spec/a~1b" -> ["spec", "a/b"]), or undefined when it is not one. */
export function parsePointer(pointer: string): string[] | undefined {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) return undefined;
  // ~1 before ~0, so that "~01" reads as "~1" (RFC 6901, section 4).
  return pointer.slice(1).split("/").map((token) => token.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** The add, replace and remove operations of a JSON patch, their pointers parsed; other or malformed operations are skipped. */
export function jsonPatchOperations(patch: readonly unknown[]): JsonPatchOperation[] {
  const operations: JsonPatchOperation[] = [];
  for (const item of patch) {
    if (!isRecord(item) || typeof item.path !== "string") continue;
    const { op } = item;
    const path = parsePointer(item.path);
    if (!path || (op !== "add" && op !== "replace" && op !== "remove")) continue;
    if (op === "remove") operations.push({ op, path });
    else if ("value" in item) operations.push({ op, path, value: item.value });
  }
  return operations;
}

/**
 * Applies an operation to `root` in place. Missing or scalar values on the way become maps; in a list, an
 * index or `-` (the end) inserts on add and overwrites on replace. The value is copied, never shared with the patch.
 */
export function applyJsonPatchOperation(root: Record<string, unknown>, operation: JsonPatchOperation): void {
  const { path } = operation;
  if (path.length === 0) return;
  let container: unknown = root;
  for (const token of path.slice(0, -1)) {
    if (Array.isArray(container) && !ARRAY_INDEX.test(token)) return;
    const holder = container as Record<string, unknown>;
    const child = ownValue(holder, token);
    if (!isRecord(child) && !Array.isArray(child)) setOwn(holder, token, {});
    container = ownValue(holder, token);
  }
  const last = path[path.length - 1]!;
  const value = operation.op === "remove" ? undefined : structuredClone(operation.value);
  if (Array.isArray(container)) {
    if (last !== "-" && !ARRAY_INDEX.test(last)) return;
    const index = last === "-" ? container.length : Number(last);
    if (operation.op === "remove") container.splice(index, 1);
    else container.splice(index, operation.op === "replace" ? 1 : 0, value);
  } else if (operation.op === "remove") {
    delete (container as Record<string, unknown>)[last];
  } else {
    setOwn(container as Record<string, unknown>, last, value);
  }
}

// Own properties only: a token such as "__proto__" names a key of the document, never Object.prototype.
export function ownValue(holder: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(holder, key) ? holder[key] : undefined;
}

export function setOwn(holder: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(holder, key, { value, writable: true, enumerable: true, configurable: true });
}
