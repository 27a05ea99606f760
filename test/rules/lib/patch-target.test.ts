import { describe, expect, it } from "vitest";
import { parsePatchText, selectsPatchTarget } from "../../../rules/lib/patch-target.js";

describe("selectsPatchTarget", () => {
  const controller = { kind: "Deployment", name: "kustomize-controller", namespace: "flux-system", labels: { app: "kustomize-controller" } };

  it("matches kind, name and namespace as anchored regular expressions, as kustomize does", () => {
    expect(selectsPatchTarget({ kind: "Deployment", name: "(kustomize-controller|helm-controller)" }, controller)).toBe(true);
    expect(selectsPatchTarget({ name: "kustomize" }, controller)).toBe(false);
    expect(selectsPatchTarget({ kind: "Deploy.*", namespace: "flux-system" }, controller)).toBe(true);
    expect(selectsPatchTarget({ namespace: "apps" }, controller)).toBe(false);
    expect(selectsPatchTarget({}, controller)).toBe(true);
  });

  it("reads labelSelector pairs", () => {
    expect(selectsPatchTarget({ labelSelector: "app=kustomize-controller" }, controller)).toBe(true);
    expect(selectsPatchTarget({ labelSelector: "app=kustomize-controller,tier=x" }, controller)).toBe(false);
  });

  it("selects nothing with a pattern that is not a regular expression, instead of throwing", () => {
    expect(selectsPatchTarget({ name: "(unclosed" }, controller)).toBe(false);
  });

  it("reads patterns as Go's RE2 does: named groups yes, lookaround and backreferences no", () => {
    expect(selectsPatchTarget({ name: "(?P<tool>kustomize)-controller" }, controller)).toBe(true);
    expect(selectsPatchTarget({ name: "(?=kustomize).*" }, controller)).toBe(false);
    expect(selectsPatchTarget({ name: "(kustomize)-\\1" }, { ...controller, name: "kustomize-kustomize" })).toBe(false);
  });

  it("answers a pattern built to backtrack forever (a patch in a pull request cannot stall the process)", () => {
    expect(selectsPatchTarget({ name: "(a+)+" }, { ...controller, name: `${"a".repeat(64)}!` })).toBe(false);
    expect(selectsPatchTarget({ name: "(a+)+" }, { ...controller, name: "a".repeat(64) })).toBe(true);
  });
});

describe("parsePatchText", () => {
  it("gives the first document, or undefined for text over the parser's limits", () => {
    expect(parsePatchText("- op: add\n  path: /spec/x\n  value: 1\n", "k.yaml")).toEqual([{ op: "add", path: "/spec/x", value: 1 }]);
    expect(parsePatchText(`${"[".repeat(500)}${"]".repeat(500)}`, "k.yaml")).toBeUndefined();
  });
});
