import { describe, expect, it } from "vitest";
import { applyJsonPatchOperation, jsonPatchOperations, parsePointer } from "../../../rules/lib/json-patch.js";

/** Applies every operation of `patch` to a copy of `document`. */
function patched(document: Record<string, unknown>, patch: unknown[]): Record<string, unknown> {
  const result = structuredClone(document);
  for (const operation of jsonPatchOperations(patch)) applyJsonPatchOperation(result, operation);
  return result;
}

describe("JSON pointers", () => {
  it("splits and unescapes ~1 before ~0", () => {
    expect(parsePointer("/spec/a~1b/c~0d/~01")).toEqual(["spec", "a/b", "c~d", "~1"]);
    expect(parsePointer("/")).toEqual([""]);
    expect(parsePointer("")).toEqual([]);
  });

  it("refuses a pointer that does not start with /", () => {
    expect(parsePointer("spec/path")).toBeUndefined();
  });
});

describe("JSON patch operations", () => {
  it("keeps add, replace and remove with a valid pointer, and skips the rest", () => {
    expect(
      jsonPatchOperations([
        { op: "add", path: "/spec/x", value: 1 },
        { op: "replace", path: "/spec/y", value: null },
        { op: "remove", path: "/spec/z", value: "ignored" },
        { op: "move", from: "/spec/x", path: "/spec/w" },
        { op: "test", path: "/spec/x", value: 1 },
        { op: "add", path: "/spec/no-value" },
        { op: "add", path: "spec/x", value: 1 },
        "not an operation",
      ]),
    ).toEqual([
      { op: "add", path: ["spec", "x"], value: 1 },
      { op: "replace", path: ["spec", "y"], value: null },
      { op: "remove", path: ["spec", "z"] },
    ]);
  });

  it("adds, replaces and removes keys of maps, creating maps on the way", () => {
    const document = { spec: { path: "./a", prune: true } };
    expect(
      patched(document, [
        { op: "replace", path: "/spec/path", value: "./b" },
        { op: "remove", path: "/spec/prune" },
        { op: "add", path: "/spec/decryption/secretRef/name", value: "sops-age" },
      ]),
    ).toEqual({ spec: { path: "./b", decryption: { secretRef: { name: "sops-age" } } } });
  });

  it("inserts at an index or at the end (-) on add, overwrites on replace, and removes from lists", () => {
    const document = { args: ["--a", "--b", "--c"] };
    expect(patched(document, [{ op: "add", path: "/args/1", value: "--x" }])).toEqual({ args: ["--a", "--x", "--b", "--c"] });
    expect(patched(document, [{ op: "add", path: "/args/-", value: "--x" }])).toEqual({ args: ["--a", "--b", "--c", "--x"] });
    expect(patched(document, [{ op: "replace", path: "/args/0", value: "--x" }])).toEqual({ args: ["--x", "--b", "--c"] });
    expect(patched(document, [{ op: "remove", path: "/args/2" }])).toEqual({ args: ["--a", "--b"] });
  });

  it("leaves a list alone for a token that is not an index", () => {
    const document = { args: ["--a"] };
    for (const token of ["x", "01", "-1", "1.5", ""]) expect(patched(document, [{ op: "add", path: `/args/${token}`, value: "--x" }])).toEqual(document);
    for (const token of ["length", "x", "-"]) expect(patched(document, [{ op: "add", path: `/args/${token}/y`, value: "--x" }])).toEqual(document);
  });

  it("treats __proto__ as a key of the document, never reaching Object.prototype (a patch is pull request content)", () => {
    const result = patched({ spec: {} }, [
      { op: "add", path: "/spec/__proto__/polluted", value: "yes" },
      { op: "add", path: "/__proto__", value: { inherited: "yes" } },
    ]);
    const probe: Record<string, unknown> = {};
    expect(probe.polluted).toBeUndefined();
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(result.inherited).toBeUndefined();
    expect(Object.getOwnPropertyDescriptor(result.spec, "__proto__")?.value).toEqual({ polluted: "yes" });
    expect(Object.getOwnPropertyDescriptor(result, "__proto__")?.value).toEqual({ inherited: "yes" });
  });

  it("copies the value instead of sharing it with the patch", () => {
    const value = { name: "sops-age" };
    const result = patched({ spec: {} }, [{ op: "add", path: "/spec/secretRef", value }]);
    value.name = "changed";
    expect(result).toEqual({ spec: { secretRef: { name: "sops-age" } } });
  });
});
