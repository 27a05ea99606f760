import { describe, expect, it } from "vitest";
import { escapeRegExp } from "../../src/core/values.js";

describe("escapeRegExp", () => {
  it("makes every regular expression syntax character literal, outside and inside a character class", () => {
    const text = "a.b*c+d?e^f$g{h}i(j)k|l[m]n\\o/p-q";
    expect(escapeRegExp(text)).toBe("a\\.b\\*c\\+d\\?e\\^f\\$g\\{h\\}i\\(j\\)k\\|l\\[m\\]n\\\\o\\/p\\-q");
    expect(new RegExp(`^${escapeRegExp(text)}$`).test(text)).toBe(true);
    expect(new RegExp(`^${escapeRegExp("a.b")}$`).test("axb")).toBe(false);
    expect(new RegExp(`^[${escapeRegExp("a-c")}]+$`).test("a-c")).toBe(true);
    expect(new RegExp(`^[${escapeRegExp("a-c")}]$`).test("b")).toBe(false);
  });
});
