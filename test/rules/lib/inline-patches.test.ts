import { describe, expect, it } from "vitest";
import { parseSourceFile } from "../../../src/core/fleet.js";
import { json6902Line } from "../../../rules/lib/inline-patches.js";

/** A kustomization whose first inline patch is `operations` (a JSON6902 list, as block-scalar lines). */
function kustomization(operations: string[]) {
  const text = ["apiVersion: kustomize.config.k8s.io/v1beta1", "kind: Kustomization", "patches:", "  - patch: |", ...operations.map((line) => `      ${line}`), "    target:", "      kind: Kustomization", ""].join("\n");
  const doc = parseSourceFile("kustomization.yaml", text).documents[0]!;
  return { doc, path: ["patches", 0, "patch"], line: 0, sets: false };
}

describe("the line of a JSON6902 operation", () => {
  it("is the path: line of the last operation that sets the value, not of one whose pointer merely contains it", () => {
    const inline = kustomization(["- op: replace", "  path: /spec/chart/spec/interval", "  value: 5s", "- {op: replace, path: /spec/interval, value: 1m}", "- op: replace", '  path: "/spec/interval"', "  value: 5s"]);
    expect(json6902Line(inline, ["spec", "interval"], "5s")).toBe(10);
    expect(json6902Line(inline, ["spec", "interval"], "1m")).toBe(8);
    expect(json6902Line(inline, ["spec", "chart", "spec", "interval"], "5s")).toBe(6);
    expect(json6902Line(inline, ["spec", "interval"], "2m")).toBeUndefined();
  });
});
