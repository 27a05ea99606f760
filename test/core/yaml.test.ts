import { describe, expect, it } from "vitest";
import { defaultYamlLimits, parseYamlSafely } from "../../src/core/yaml.js";

describe("parseYamlSafely", () => {
  it("parses documents with their lines and key positions", () => {
    const text = "# leading comment\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n---\n# only a comment\n---\nb: 2\n";
    const { documents, error } = parseYamlSafely(text, "x.yaml");
    expect(error).toBeUndefined();
    expect(documents.map((doc) => [doc.index, doc.startLine, doc.endLine])).toEqual([
      [0, 2, 7],
      [2, 11, 11],
    ]);
    expect(documents[0]!.keyLine(["metadata", "name"])).toBe(5);
    expect(documents[0]!.valueLine(["data"])).toBe(7);
    expect(documents[0]!.keyLine(["missing"])).toBeUndefined();
  });

  it("keeps line numbers right with CRLF line endings", () => {
    const { documents } = parseYamlSafely("a: 1\r\nb:\r\n  c: 2\r\n", "crlf.yaml");
    expect(documents[0]!.value).toEqual({ a: 1, b: { c: 2 } });
    expect(documents[0]!.keyLine(["b", "c"])).toBe(3);
  });

  it("resolves anchors, aliases and merge keys", () => {
    const { documents } = parseYamlSafely("base: &base\n  a: 1\nderived:\n  <<: *base\n  b: 2\ncopy: *base\n", "anchors.yaml");
    expect(documents[0]!.value).toEqual({ base: { a: 1 }, derived: { a: 1, b: 2 }, copy: { a: 1 } });
  });

  it("refuses an alias inside the value it names, at the alias's line; aliases elsewhere are fine", () => {
    expect(parseYamlSafely("apiVersion: v1\nkind: X\nspec: &s\n  a: 1\n  loop: *s\n", "x.yaml").error).toEqual({
      line: 5,
      message: "an alias inside the value it names (a recursive alias): Flux cannot decode it",
    });
    expect(parseYamlSafely("a: &x\n  - &y [*y]\n", "x.yaml").error?.line).toBe(2);
    expect(parseYamlSafely("a: &x\n  <<: *x\n", "x.yaml").error?.line).toBe(2);
    const fine = parseYamlSafely("a: &x [1, 2]\nb: *x\nc: &y {k: *x}\nd: *y\n", "x.yaml");
    expect(fine.error).toBeUndefined();
    expect(fine.documents[0]!.value).toEqual({ a: [1, 2], b: [1, 2], c: { k: [1, 2] }, d: { k: [1, 2] } });
  });

  it("reports a syntax error at its line", () => {
    const { error } = parseYamlSafely("a: 1\nb: [1, 2\nc: 3\n", "bad.yaml");
    expect(error?.line).toBeGreaterThanOrEqual(2);
    expect(error?.message).toMatch(/flow sequence|Missing , or ]/i);
  });

  it("reads an escaped lone CR, NEL, LS or PS in a double-quoted string as kustomize's yaml.v3 does, lines unmoved", () => {
    // The values are kubectl kustomize's (v5.5.0) output for this file.
    const text = 'apiVersion: "v\\\r  1"\nkind: ConfigMap\nmetadata:\n  name: "a\\\u0085\t b"\ndata:\n  ls: "x\\\u2028   y"\n  plain: x\\y\n';
    const { documents, error } = parseYamlSafely(text, "cm.yaml");
    expect(error).toBeUndefined();
    expect(documents[0]!.value).toEqual({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "ab" }, data: { ls: "xy", plain: "x\\y" } });
    expect([documents[0]!.keyLine(["kind"]), documents[0]!.keyLine(["data", "plain"])]).toEqual([2, 7]);
    // Outside a double-quoted string a backslash escapes nothing, and an invalid escape stays an error.
    expect(parseYamlSafely('a: "x\\q"\n', "bad.yaml").error?.message).toMatch(/escape/i);
  });

  it("reads any other lone CR, NEL, LS or PS as the line break kustomize reads, numbering lines by line feeds", () => {
    // kustomize ends the comment at the LS and reads a namespace: so does fleet-warden (the key on line 4, as GitHub shows it).
    const comment = parseYamlSafely("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c # x\u2028  namespace: kube-system\ndata:\n  k: v\n", "cm.yaml");
    expect(comment.documents[0]!.value).toEqual({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace: "kube-system" }, data: { k: "v" } });
    expect([comment.documents[0]!.keyLine(["metadata", "namespace"]), comment.documents[0]!.keyLine(["data", "k"])]).toEqual([4, 6]);
    expect(parseYamlSafely("a: b\rc: d\n", "cr.yaml").documents[0]!.value).toEqual({ a: "b", c: "d" });
    // CR CR LF (line ends converted twice) is two line breaks to kustomize.
    const twice = parseYamlSafely("a: b\r\r\nc: d\r\r\n", "crcrlf.yaml");
    expect([twice.documents[0]!.value, twice.documents[0]!.keyLine(["c"])]).toEqual([{ a: "b", c: "d" }, 2]);
  });

  it("refuses a document marker next to one: kustomize splits documents at line feeds only", () => {
    const message = expect.stringContaining("kustomize does not split documents there");
    expect(parseYamlSafely("a: 1\r---\nb: 2\n", "x.yaml").error).toEqual({ line: 1, message });
    expect(parseYamlSafely("a: 1\n---\u2028b: 2\n", "x.yaml").error).toEqual({ line: 2, message });
    // Deep nesting written with such breaks is caught before the parser recurses.
    const deep = Array.from({ length: 100 }, (_, depth) => `${" ".repeat(depth)}k:`).join("\r");
    expect(parseYamlSafely(deep, "deep.yaml").error?.message).toBe("nesting deeper than 64 levels");
  });

  it("rejects duplicate keys, as Kubernetes' YAML decoder does", () => {
    const { error } = parseYamlSafely("a: 1\na: 2\n", "dup.yaml");
    expect(error).toEqual({ line: 2, message: expect.stringMatching(/unique/i) });
  });

  it("stops an alias bomb", () => {
    const bomb = ["a: &a [x, x, x, x, x, x, x, x, x]"];
    for (let i = 0; i < 9; i++) bomb.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill(`*${String.fromCharCode(97 + i)}`).join(", ")}]`);
    const { error, documents } = parseYamlSafely(bomb.join("\n"), "bomb.yaml");
    expect(documents).toEqual([]);
    expect(error?.message).toMatch(/alias/i);
  });

  it("stops deep nesting before the parser recurses", () => {
    const flow = `${"[".repeat(5000)}${"]".repeat(5000)}`;
    expect(parseYamlSafely(flow, "deep.yaml").error).toEqual({ line: 1, message: `nesting deeper than ${defaultYamlLimits.maxDepth} levels` });
    const block = Array.from({ length: 200 }, (_, i) => `${" ".repeat(i * 2)}k${i}:`).join("\n");
    expect(parseYamlSafely(block, "deep-block.yaml").error?.message).toMatch(/nesting deeper/);
  });

  it("refuses files over the size limit and binary files", () => {
    const big = "a: 1\n".repeat(10);
    expect(parseYamlSafely(big, "big.yaml", { ...defaultYamlLimits, maxBytes: 20 }).error?.message).toBe("big.yaml is 50 B, over the 20 B limit for a manifest");
    expect(parseYamlSafely("a: 1\n\u0000\u0001", "bin.yaml").error?.message).toMatch(/binary/);
  });

  it("caps the number of documents", () => {
    const many = Array.from({ length: 5 }, (_, i) => `a: ${i}`).join("\n---\n");
    const { error } = parseYamlSafely(many, "many.yaml", { ...defaultYamlLimits, maxDocuments: 3 });
    // The fourth document starts at its `---` marker.
    expect(error).toEqual({ line: 6, message: "more than 3 YAML documents in one file" });
  });

  it("keeps a __proto__ key as data, never as a prototype", () => {
    const { documents } = parseYamlSafely("__proto__:\n  polluted: true\nbase: &b\n  __proto__: {x: 1}\nm:\n  <<: *b\n", "proto.yaml");
    const value = documents[0]!.value as Record<string, unknown>;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(value, "__proto__")).toBe(true);
  });
});
