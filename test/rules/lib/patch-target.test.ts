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
});

describe("parsePatchText", () => {
  it("gives the first document, or undefined for text over the parser's limits", () => {
    expect(parsePatchText("- op: add\n  path: /spec/x\n  value: 1\n", "k.yaml")).toEqual([{ op: "add", path: "/spec/x", value: 1 }]);
    expect(parsePatchText(`${"[".repeat(500)}${"]".repeat(500)}`, "k.yaml")).toBeUndefined();
  });
});
