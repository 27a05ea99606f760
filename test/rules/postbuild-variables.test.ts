import { describe, expect, it } from "vitest";
import { postbuildVariables } from "../../rules/postbuild-variables.js";
import type { Build } from "../../src/core/types.js";
import { evaluateTrees, fluxKustomization } from "../build/helpers.js";
import { ruleContext } from "../helpers/rule-context.js";

const settings = (value: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  host: ${value}\n`;
const fleet = {
  "app/kustomization.yaml": "resources:\n  - settings.yaml\n",
  "app/settings.yaml": settings("${domain}"),
  "clusters/prod/app.yaml": fluxKustomization("app", { path: "./app", postBuild: { substitute: { domain: "example.com" } } }),
};

describe("postbuild-variables", () => {
  it("maps the builds' postbuild-variables issues to findings, and only those", () => {
    const build: Build = {
      report: { name: "flux-system/app (clusters/prod)", path: "app", ok: true, objects: 1 },
      objects: [],
      issues: [
        { rule: "postbuild-variables", path: "app/settings.yaml", line: 6, message: "${host} is not defined", severity: "warning" },
        { rule: "kustomize-build", path: "app/kustomization.yaml", line: 2, message: "other rule" },
      ],
    };
    expect(postbuildVariables.check(ruleContext({ head: {}, builds: [build] }))).toEqual([
      { path: "app/settings.yaml", line: 6, endLine: 6, message: "${host} is not defined", build: "flux-system/app (clusters/prod)", severity: "warning" },
    ]);
  });

  it("passes a substitution every variable of which is defined", async () => {
    const verdict = await evaluateTrees({}, fleet, [postbuildVariables]);
    expect(verdict.findings).toEqual([]);
    expect(verdict.builds).toEqual([{ name: "flux-system/app (clusters/prod)", path: "app", ok: true, objects: 1 }]);
  });

  it("fails a syntax Flux rejects, on the line that holds it", async () => {
    const verdict = await evaluateTrees(fleet, { "app/settings.yaml": settings("${domain-example.org}") }, [postbuildVariables]);
    expect(verdict.findings.map(({ rule, severity, path, line, message }) => ({ rule, severity, path, line, message }))).toEqual([
      {
        rule: "postbuild-variables",
        severity: "error",
        path: "app/settings.yaml",
        line: 6,
        message:
          "Flux cannot substitute variables in ConfigMap settings: missing closing brace. Flux rejects ${var-default}, ${ var } and ${}; use ${var:=default} or ${var}, or escape a literal as $${...}.",
      },
    ]);
    expect(verdict.conclusion).toBe("failure");
  });

  it("fails a substitute value that is not a string, which Flux's API refuses", async () => {
    const numbers = { "clusters/prod/app.yaml": fluxKustomization("app", { path: "./app", postBuild: { substitute: { domain: "example.com", replicas: 3 } } }) };
    const verdict = await evaluateTrees(fleet, numbers, [postbuildVariables]);
    expect(verdict.findings.map(({ severity, path, line, message }) => ({ severity, path, line, message }))).toEqual([
      {
        severity: "error",
        path: "clusters/prod/app.yaml",
        line: 12,
        message: 'spec.postBuild.substitute.replicas is a number, but Flux\'s API takes strings only: the API server refuses the Kustomization. Quote the value ("3").',
      },
    ]);
  });

  it("warns about a variable that nothing defines", async () => {
    const verdict = await evaluateTrees(fleet, { "app/settings.yaml": settings("${domian}") }, [postbuildVariables]);
    expect(verdict.findings.map(({ severity, line, message }) => ({ severity, line, message }))).toEqual([
      {
        severity: "warning",
        line: 6,
        message:
          "${domian} in ConfigMap settings is not defined by flux-system/app (clusters/prod)'s postBuild variables, so Flux replaces it with an empty string. Define domian in postBuild.substitute or substituteFrom, or give a default with ${domian:=value}.",
      },
    ]);
  });

  it("does not guess when a substituteFrom source lives only in the cluster", async () => {
    const fromCluster = fluxKustomization("app", { path: "./app", postBuild: { substitute: { domain: "example.com" }, substituteFrom: [{ kind: "Secret", name: "cluster-secrets" }] } });
    const verdict = await evaluateTrees({ ...fleet, "clusters/prod/app.yaml": fromCluster }, { "app/settings.yaml": settings("${token}") }, [postbuildVariables]);
    expect(verdict.findings).toEqual([]);
  });
});
