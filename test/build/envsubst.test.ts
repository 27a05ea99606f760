// Flux's postBuild substitution, case by case. Expected outputs are those of fluxcd/pkg/envsubst
// (its own test table) and of kustomize-controller's non-strict mapping.
import { describe, expect, it } from "vitest";
import { substitute, SubstitutionError, SubstitutionTooCostly } from "../../src/core/build/envsubst.js";

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
    ["remove longest prefix", { f: "bash.string.txt" }, "${f##*.}", "txt"],
    ["remove shortest suffix", { f: "bash.string.txt" }, "${f%.*}", "bash.string"],
    ["* never matches a slash", { p: "a/b.c" }, "${p#*.}", "a/b.c"],
    ["? and a class", { v: "x1-y2-z" }, "${v#[a-z]?-}", "y2-z"],
    ["negated class", { v: "ab1c" }, "${v##[!0-9]}|${v##[!a-z]*}", "b1c|ab1c"],
    ["unterminated class matches nothing", { v: "[ab" }, "${v#[a}", "[ab"],
    // Every prefix of a long value is a candidate: testing each one alone took minutes on the event loop.
    ["long value, no match", { v: "a".repeat(200_000) }, "${v#*b}${v##*b}${v%b*}${v%%b*}", "a".repeat(800_000)],
    ["long value, shortest and longest", { v: `${"a/".repeat(100_000)}b` }, "${v#*/}|${v##a*}|${v%/*}|${v%%/*}", `${"a/".repeat(99_999)}b|/${"a/".repeat(99_999)}b|${"a/".repeat(99_999)}a|${"a/".repeat(99_999)}a`],
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

  it("refuses trims whose pattern and value are both long instead of holding the event loop", () => {
    const hostile = `\${v#${"*a".repeat(1_000)}b}`;
    expect(() => substitute(hostile, vars({ v: "a".repeat(1_000_000) }))).toThrow(SubstitutionTooCostly);
    expect(() => substitute(hostile, vars({ v: "a".repeat(1_000_000) }))).toThrow(
      "${var#pattern} and ${var%pattern} trims here are too costly to evaluate (a long pattern against a long value)",
    );
    // The same trim on a short value is evaluated.
    expect(substitute(hostile, vars({ v: "a".repeat(100) })).text).toBe("a".repeat(100));
  });

  it("reports variables used without a value or a default, and only those", () => {
    expect(substitute("a: ${one}\nb: ${two:=2}\nc: ${three}\nd: $${four}", vars({ three: "3" })).undefinedVariables).toEqual(["one"]);
  });
});
