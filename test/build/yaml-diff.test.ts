import { describe, expect, it } from "vitest";
import { yamlDiff } from "../../src/core/build/index.js";

const configMap = (prefix: string, count: number) => ({ data: Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, `${prefix}${i}`])) });

describe("rendered object diff", () => {
  it("shows a small change with two lines of context", () => {
    expect(yamlDiff(configMap("a", 5), { data: { ...configMap("a", 5).data, k2: "b2" } })).toBe("@@ -2,5 +2,5 @@\n   k0: a0\n   k1: a1\n-  k2: a2\n+  k2: b2\n   k3: a3\n   k4: a4");
  });

  it("gives up on an object whose every line changed instead of diffing it for minutes", () => {
    expect(yamlDiff(configMap("a", 100_000), configMap("b", 100_000))).toBe("(more than 1000 lines differ: the diff is not shown)");
  });
});
