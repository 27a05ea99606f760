// Flux's postBuild substitution, case by case. Expected outputs are those of fluxcd/pkg/envsubst
// (its own test table) and of kustomize-controller's non-strict mapping.
import { describe, expect, it } from "vitest";
import { substitute, SubstitutionError } from "../../src/core/build/envsubst.js";

const vars = (values: Record<string, string>) => new Map(Object.entries(values));

describe("Flux envsubst", () => {
  const cases: Array<[string, Record<string, string>, string, string]> = [
    ["set", { name: "web" }, "app: ${name}", "app: web"],
    ["unset expands to empty", {}, "app: ${name}", "app: "],
    ["empty value", { name: "" }, "app: ${name}", "app: "],
    [":= default used when unset", {}, "tag: ${tag:=1.0}", "tag: 1.0"],
    [":= default not used when set", { tag: "2.0" }, "tag: ${tag:=1.0}", "tag: 2.0"],
    [":- default used when empty", { tag: "" }, "tag: ${tag:-1.0}", "tag: 1.0"],
    ["= default", {}, "${var=xyz}", "xyz"],
    ["nested default", { default_var: "foo1" }, "foo: ${var=prefix${default_var}-suffix}", "foo: prefixfoo1-suffix"],
    ["$${var} escape", { var01: "abc" }, "$${var01}", "${var01}"],
    ["escapes mixed with values", { var01: "abcdEFGH28ij" }, "some text ${var01}$${var$${var01}$var01${var01}", "some text abcdEFGH28ij${var${var01}$var01abcdEFGH28ij"],
    ["bare $var untouched", { var: "x" }, "echo $var and $HOME", "echo $var and $HOME"],
    ["uppercase", { v: "abc" }, "${v^^}", "ABC"],
    ["lowercase first", { v: "ABC" }, "${v,}", "aBC"],
    ["length", { v: "abcdEFGH28ij" }, "${#v}", "12"],
    ["substring", { p: "/home/bozo/ideas/thoughts.for.today" }, "${p:11:5}", "ideas"],
    ["replace all", { s: "abcABC123ABCabc" }, "${s//abc/xyz}", "xyzABC123ABCxyz"],
    ["replace with escaped slash", { s: "foo/bar/baz" }, "${s//\\//-}", "foo-bar-baz"],
    ["remove shortest prefix", { f: "bash.string.txt" }, "${f#*.}", "string.txt"],
    ["remove longest suffix", { f: "bash.string.txt" }, "${f%%.*}", "bash"],
    // A pattern built to make a backtracking matcher run for ever ends at once, matching nothing.
    ["hostile pattern", { v: "a".repeat(60) }, "${v#*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b}", "a".repeat(60)],
  ];
  it.each(cases)("%s", (_name, values, input, output) => {
    expect(substitute(input, vars(values)).text).toBe(output);
  });

  const rejected: Array<[string, string, string]> = [
    ["${var-default}", "app: ${name-web}", "missing closing brace"],
    ["${ var }", "app: ${ name }", "unable to parse variable name"],
    ["${}", "app: ${}", "unable to parse variable name"],
    ["unterminated", "app: ${name", "missing closing brace"],
  ];
  it.each(rejected)("rejects %s as Flux does", (_name, input, message) => {
    expect(() => substitute(input, vars({ name: "web" }))).toThrow(new SubstitutionError(message));
  });

  it("reports variables used without a value or a default, and only those", () => {
    expect(substitute("a: ${one}\nb: ${two:=2}\nc: ${three}\nd: $${four}", vars({ three: "3" })).undefinedVariables).toEqual(["one"]);
  });
});
