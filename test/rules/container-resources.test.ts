import { describe, expect, it } from "vitest";
import { containerResources } from "../../rules/container-resources.js";
import { evaluateChange } from "../helpers/fleet.js";
import { ruleContext } from "../helpers/rule-context.js";
import { containers, goodContainer, lineWith, renderedBuild, tenants, workload, type WorkloadKind } from "./workload-fixtures.js";

function check(head: Record<string, string>, extra: Partial<Parameters<typeof ruleContext>[0]> = {}) {
  return containerResources.check(ruleContext({ head, tenants, ...extra }));
}

const bare = "- name: debug\n  image: busybox:1.36.1\n";

describe("container-resources", () => {
  it.each<WorkloadKind>(["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"])("flags a %s container without resources on its first line", (kind) => {
    const text = workload(kind, containers(goodContainer, bare));
    const line = lineWith(text, "name: debug");
    expect(check({ "apps/dev-team/app.yaml": text })).toEqual([
      {
        path: "apps/dev-team/app.yaml",
        line,
        endLine: line,
        message: `Container "debug" of ${kind} podinfo has no cpu request, memory request or memory limit.`,
        object: expect.objectContaining({ kind, name: "podinfo" }),
        severity: "error",
      },
    ]);
  });

  it("lists exactly what is missing, on the resources line, for init containers too", () => {
    const podSpec = `${containers(goodContainer)}initContainers:
  - name: migrate
    image: ghcr.io/acme/migrate:1.0.0
    resources:
      requests:
        memory: 64Mi
`;
    const text = workload("StatefulSet", podSpec);
    expect(check({ "apps/dev-team/db.yaml": text }).map((finding) => [finding.line, finding.message])).toEqual([
      [lineWith(text, "resources:", lineWith(text, "name: migrate")), 'Init container "migrate" of StatefulSet podinfo has no cpu request or memory limit.'],
    ]);
  });

  it("counts limits as requests (Kubernetes defaults a missing request to the limit) and pod-level resources", () => {
    const limitsOnly = workload("Deployment", containers("- name: a\n  image: x:1\n  resources:\n    limits:\n      cpu: 500m\n      memory: 256Mi\n"));
    const podLevel = workload("Deployment", `resources:\n  requests:\n    cpu: 200m\n    memory: 128Mi\n  limits:\n    memory: 256Mi\n${containers(bare)}`, "pod-level");
    expect(check({ "apps/dev-team/a.yaml": limitsOnly, "apps/dev-team/b.yaml": podLevel })).toEqual([]);
  });

  it("skips ephemeral containers, which cannot have resources", () => {
    const text = workload("Pod", `${containers(goodContainer)}ephemeralContainers:\n  - name: debugger\n    image: busybox:1.36.1\n`);
    expect(check({ "apps/dev-team/pod.yaml": text })).toEqual([]);
  });

  it("restores the resources the container had on the base branch, with the head file's indentation", () => {
    const path = "apps/dev-team/app.yaml";
    const base = workload("Deployment", containers(goodContainer));
    const head = workload("Deployment", containers("- name: podinfo\n  image: ghcr.io/stefanprodan/podinfo:6.7.1\n"));
    const line = lineWith(head, "name: podinfo", 10);
    expect(check({ [path]: head }, { base: { [path]: base } })).toEqual([
      {
        path,
        line,
        endLine: line,
        message: 'Container "podinfo" of Deployment podinfo has no cpu request, memory request or memory limit.',
        object: expect.objectContaining({ name: "podinfo" }),
        severity: "error",
        fix: {
          line,
          endLine: line,
          replacement: [
            "        - name: podinfo",
            "          resources:",
            "            requests:",
            "              cpu: 100m",
            "              memory: 64Mi",
            "            limits:",
            "              memory: 128Mi",
          ].join("\n"),
          description: 'Restore the resources container "podinfo" has on the base branch',
        },
      },
    ]);
  });

  it("offers no fix when the base has nothing complete to restore, or when head has a resources block to complete", () => {
    const path = "apps/dev-team/app.yaml";
    const base = workload("Deployment", containers("- name: podinfo\n  image: x:1\n  resources:\n    requests:\n      cpu: 100m\n"));
    const head = workload("Deployment", containers("- name: podinfo\n  image: x:1\n"));
    const partial = workload("Deployment", containers("- name: podinfo\n  image: x:1\n  resources:\n    requests:\n      cpu: 100m\n"));
    expect(check({ [path]: head }, { base: { [path]: base } }).map((finding) => finding.fix)).toEqual([undefined]);
    expect(check({ [path]: partial }, { base: { [path]: workload("Deployment", containers(goodContainer)) } }).map((finding) => finding.fix)).toEqual([undefined]);
  });

  it("keeps a finding the base already had as pre-existing, even when the change shifts its line", async () => {
    const path = "apps/dev-team/app.yaml";
    const config = { ".github/fleet-warden.yml": "tenants:\n  - name: dev-team\n    paths: ['apps/**']\n    namespaces: [apps]\n" };
    const before = workload("Deployment", containers(goodContainer, bare));
    const after = before.replace("spec:\n  selector:", "spec:\n  replicas: 3\n  revisionHistoryLimit: 5\n  selector:");
    const verdict = await evaluateChange({ ...config, [path]: before }, { [path]: after }, { rules: [containerResources] });
    expect(verdict.findings).toEqual([]);
    expect(verdict.preExisting.map((finding) => [finding.rule, finding.line])).toEqual([["container-resources", lineWith(after, "name: debug")]]);
    expect(verdict.conclusion).toBe("success");
  });

  it("is a warning in platform territory", () => {
    const text = workload("DaemonSet", containers(bare), "fluent-bit");
    expect(check({ "infrastructure/logging/fluent-bit.yaml": text }).map((finding) => finding.severity)).toEqual(["warning"]);
  });

  it("judges the rendered object: an overlay patch that adds a container without resources is annotated on the patch", () => {
    const base = workload("Deployment", containers(goodContainer));
    const patch = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: podinfo\nspec:\n  template:\n    spec:\n      containers:\n        - name: debug\n          image: busybox:1.36.1\n";
    const rendered = workload("Deployment", containers(goodContainer, bare));
    const findings = check(
      { "apps/dev-team/base/deployment.yaml": base, "apps/dev-team/staging/debug.yaml": patch, "apps/dev-team/staging/kustomization.yaml": "resources: [../base]\npatches:\n  - path: debug.yaml\n" },
      { changed: ["apps/dev-team/staging/debug.yaml"], builds: [renderedBuild(rendered, "apps/dev-team/base/deployment.yaml")] },
    );
    expect(findings.map((finding) => [finding.path, finding.line, finding.message])).toEqual([
      ["apps/dev-team/staging/debug.yaml", 9, 'Container "debug" of Deployment podinfo has no cpu request, memory request or memory limit.'],
    ]);
  });
});
