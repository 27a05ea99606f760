import { describe, expect, it } from "vitest";
import { podPrivileged } from "../../rules/pod-privileged.js";
import { evaluateChange } from "../helpers/fleet.js";
import { ruleContext } from "../helpers/rule-context.js";
import { containers, goodContainer, lineWith, renderedBuild, tenants, workload, type WorkloadKind } from "./workload-fixtures.js";

const privilegedSidecar = `- name: debug
  image: busybox:1.36.1
  securityContext:
    privileged: true
`;

function check(head: Record<string, string>, extra: Partial<Parameters<typeof ruleContext>[0]> = {}) {
  return podPrivileged.check(ruleContext({ head, tenants, ...extra }));
}

describe("pod-privileged", () => {
  it.each<WorkloadKind>(["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"])("flags a privileged container of a %s on its line, with the fix", (kind) => {
    const text = workload(kind, containers(goodContainer, privilegedSidecar));
    const line = lineWith(text, "privileged: true");
    expect(check({ "apps/dev-team/app.yaml": text })).toEqual([
      {
        path: "apps/dev-team/app.yaml",
        line,
        endLine: line,
        message: `Container "debug" of ${kind} podinfo runs privileged (securityContext.privileged: true): it can take over the node.`,
        object: { apiVersion: kind === "Pod" ? "v1" : kind === "Job" || kind === "CronJob" ? "batch/v1" : "apps/v1", kind, name: "podinfo", namespace: "apps" },
        severity: "error",
        fix: { line, endLine: line, replacement: text.split("\n")[line - 1]!.replace("true", "false"), description: 'Run container "debug" unprivileged' },
      },
    ]);
  });

  it("writes the fix with the file's indentation and keeps a trailing comment", () => {
    const text = workload("Deployment", containers(goodContainer, privilegedSidecar.replace("privileged: true", "privileged: true # needs raw sockets")));
    const [finding] = check({ "apps/dev-team/app.yaml": text });
    expect(finding?.fix?.replacement).toBe("            privileged: false # needs raw sockets");
  });

  it("flags init containers and ephemeral containers too", () => {
    const podSpec = `${containers(goodContainer)}initContainers:
  - name: setup
    image: busybox:1.36.1
    securityContext: {privileged: true}
ephemeralContainers:
  - name: debugger
    image: busybox:1.36.1
    securityContext:
      privileged: true
`;
    const text = workload("StatefulSet", podSpec);
    const findings = check({ "apps/dev-team/db.yaml": text });
    expect(findings.map((finding) => [finding.line, finding.message, finding.fix?.replacement])).toEqual([
      [
        lineWith(text, "privileged: true"),
        'Init container "setup" of StatefulSet podinfo runs privileged (securityContext.privileged: true): it can take over the node.',
        "          securityContext: {privileged: false}",
      ],
      [
        lineWith(text, "privileged: true", lineWith(text, "debugger")),
        'Ephemeral container "debugger" of StatefulSet podinfo runs privileged (securityContext.privileged: true): it can take over the node.',
        "            privileged: false",
      ],
    ]);
  });

  it("is a warning in platform territory, where node agents legitimately need it", () => {
    const text = workload("DaemonSet", containers(privilegedSidecar), "node-exporter");
    expect(check({ "infrastructure/monitoring/node-exporter.yaml": text }).map((finding) => finding.severity)).toEqual(["warning"]);
  });

  it("passes containers that are not privileged", () => {
    const text = workload("Deployment", containers(goodContainer, privilegedSidecar.replace("privileged: true", "privileged: false"), "- name: plain\n  image: nginx:1.27\n"));
    expect(check({ "apps/dev-team/app.yaml": text })).toEqual([]);
  });

  it("ignores objects that only look like workloads (a CRD kind named Deployment)", () => {
    const text = workload("Deployment", containers(privilegedSidecar)).replace("apiVersion: apps/v1", "apiVersion: example.com/v1");
    expect(check({ "apps/dev-team/app.yaml": text })).toEqual([]);
  });

  it("attributes a violation that only an overlay patch introduces to the patch's line", () => {
    const base = workload("Deployment", containers(goodContainer, "- name: debug\n  image: busybox:1.36.1\n"));
    const patch = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: podinfo
spec:
  template:
    spec:
      containers:
        - name: debug
          securityContext:
            privileged: true
`;
    const rendered = workload("Deployment", containers(goodContainer, privilegedSidecar));
    const findings = check(
      {
        "apps/dev-team/base/deployment.yaml": base,
        "apps/dev-team/staging/debug-patch.yaml": patch,
        "apps/dev-team/staging/kustomization.yaml": "resources:\n  - ../base\npatches:\n  - path: debug-patch.yaml\n",
      },
      { changed: ["apps/dev-team/staging/debug-patch.yaml", "apps/dev-team/staging/kustomization.yaml"], builds: [renderedBuild(rendered, "apps/dev-team/base/deployment.yaml")] },
    );
    expect(findings).toEqual([
      {
        path: "apps/dev-team/staging/debug-patch.yaml",
        line: 11,
        endLine: 11,
        message: 'Container "debug" of Deployment podinfo runs privileged (securityContext.privileged: true): it can take over the node.',
        object: { apiVersion: "apps/v1", kind: "Deployment", name: "podinfo", namespace: "apps" },
        build: "Kustomization flux-system/apps",
        severity: "error",
        fix: { line: 11, endLine: 11, replacement: "            privileged: false", description: 'Run container "debug" unprivileged' },
      },
    ]);
  });

  it("attributes each overlay's finding to that overlay's own patch", () => {
    const base = workload("Deployment", containers(goodContainer, "- name: debug\n  image: busybox:1.36.1\n"));
    const patch = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: podinfo\nspec:\n  template:\n    spec:\n      containers:\n        - name: debug\n          securityContext:\n            privileged: true\n";
    const rendered = workload("Deployment", containers(goodContainer, privilegedSidecar));
    const source = "apps/dev-team/base/deployment.yaml";
    const findings = check(
      {
        [source]: base,
        "apps/dev-team/production/debug.yaml": patch,
        "apps/dev-team/production/kustomization.yaml": "resources: [../base]\npatches:\n  - path: debug.yaml\n",
        "apps/dev-team/staging/debug.yaml": patch,
        "apps/dev-team/staging/kustomization.yaml": "resources: [../base]\npatches:\n  - path: debug.yaml\n",
      },
      {
        changed: ["apps/dev-team/production/debug.yaml", "apps/dev-team/staging/debug.yaml"],
        builds: [
          renderedBuild(rendered, source, 1, "Kustomization flux-system/staging", "apps/dev-team/staging"),
          renderedBuild(rendered, source, 1, "Kustomization flux-system/production", "apps/dev-team/production"),
        ],
      },
    );
    expect(findings.map((finding) => [finding.path, finding.line, finding.build])).toEqual([
      ["apps/dev-team/staging/debug.yaml", 11, "Kustomization flux-system/staging"],
      ["apps/dev-team/production/debug.yaml", 11, "Kustomization flux-system/production"],
    ]);
  });

  it("fails a real change that adds a privileged sidecar, and not the unchanged base", async () => {
    const config = ".github/fleet-warden.yml";
    const base = { [config]: "tenants:\n  - name: dev-team\n    paths: ['apps/**']\n    namespaces: [apps]\n", "apps/dev-team/app.yaml": workload("Deployment", containers(goodContainer)) };
    const head = { "apps/dev-team/app.yaml": workload("Deployment", containers(goodContainer, privilegedSidecar)) };
    const verdict = await evaluateChange(base, head, { rules: [podPrivileged] });
    expect(verdict.conclusion).toBe("failure");
    expect(verdict.findings.map((finding) => [finding.rule, finding.path, finding.line, finding.severity])).toEqual([
      ["pod-privileged", "apps/dev-team/app.yaml", lineWith(head["apps/dev-team/app.yaml"], "privileged: true"), "error"],
    ]);
  });
});
