import { describe, expect, it } from "vitest";
import { podPrivilegeEscalation } from "../../rules/pod-privilege-escalation.js";
import { podPrivileged } from "../../rules/pod-privileged.js";
import type { Fix } from "../../src/core/types.js";
import { evaluateChange } from "../helpers/fleet.js";
import { ruleContext } from "../helpers/rule-context.js";
import { containers, goodContainer, lineWith, renderedBuild, tenants, workload, type WorkloadKind } from "./workload-fixtures.js";

const privilegedSidecar = `- name: debug
  image: busybox:1.36.1
  securityContext:
    privileged: true
`;

const UNPRIVILEGED = 'Run container "debug" unprivileged, with allowPrivilegeEscalation: false';

function check(head: Record<string, string>, extra: Partial<Parameters<typeof ruleContext>[0]> = {}) {
  return podPrivileged.check(ruleContext({ head, tenants, ...extra }));
}

/** The text with a fix applied, as a reviewer who commits the suggestion gets it. */
function applyFix(text: string, fix: Fix): string {
  const lines = text.split("\n");
  lines.splice(fix.line - 1, fix.endLine - fix.line + 1, ...fix.replacement.split("\n"));
  return lines.join("\n");
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
        fix: {
          line,
          endLine: line,
          replacement: `${text.split("\n")[line - 1]!.replace("true", "false")}\n${text.split("\n")[line - 1]!.replace("privileged: true", "allowPrivilegeEscalation: false")}`,
          description: UNPRIVILEGED,
        },
      },
    ]);
  });

  it("writes the fix with the file's indentation and keeps a trailing comment", () => {
    const text = workload("Deployment", containers(goodContainer, privilegedSidecar.replace("privileged: true", "privileged: true # needs raw sockets")));
    const [finding] = check({ "apps/dev-team/app.yaml": text });
    expect(finding?.fix?.replacement).toBe("            privileged: false # needs raw sockets\n            allowPrivilegeEscalation: false");
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
        "          securityContext: {privileged: false, allowPrivilegeEscalation: false}",
      ],
      [
        lineWith(text, "privileged: true", lineWith(text, "debugger")),
        'Ephemeral container "debugger" of StatefulSet podinfo runs privileged (securityContext.privileged: true): it can take over the node.',
        "            privileged: false\n            allowPrivilegeEscalation: false",
      ],
    ]);
  });

  it("turns allowPrivilegeEscalation: true off in the same fix, on its own line or beside privileged in a flow mapping", () => {
    const separate = workload(
      "Deployment",
      containers(goodContainer, "- name: debug\n  image: busybox:1.36.1\n  securityContext:\n    allowPrivilegeEscalation: true # was needed\n    privileged: true\n"),
    );
    const first = lineWith(separate, "allowPrivilegeEscalation: true");
    expect(check({ "apps/dev-team/app.yaml": separate }).map((finding) => [finding.line, finding.fix])).toEqual([
      [
        first + 1,
        {
          line: first,
          endLine: first + 1,
          replacement: "            allowPrivilegeEscalation: false # was needed\n            privileged: false",
          description: UNPRIVILEGED,
        },
      ],
    ]);
    // Further apart, the lines between may lie outside the pull request's diff, where GitHub takes no suggestion:
    // privileged alone, and pod-privilege-escalation's own fix for the other line.
    const apart = separate.replace("# was needed\n", "# was needed\n            runAsUser: 0\n");
    expect(check({ "apps/dev-team/app.yaml": apart }).map((finding) => [finding.line, finding.fix?.line, finding.fix?.endLine, finding.fix?.replacement])).toEqual([
      [first + 2, first + 2, first + 2, "            privileged: false"],
    ]);
    const flow = workload("Deployment", containers("- name: debug\n  image: busybox:1.36.1\n  securityContext: {allowPrivilegeEscalation: true, privileged: true}\n"));
    expect(check({ "apps/dev-team/app.yaml": flow }).map((finding) => finding.fix?.replacement)).toEqual([
      "          securityContext: {allowPrivilegeEscalation: false, privileged: false}",
    ]);
  });

  it("adds allowPrivilegeEscalation to a flow mapping written over several lines, after the value", () => {
    const text = workload("Deployment", containers("- name: debug\n  image: busybox:1.36.1\n  securityContext: {\n    privileged: true,\n    runAsUser: 0 }\n"));
    expect(check({ "apps/dev-team/app.yaml": text }).map((finding) => finding.fix?.replacement)).toEqual(["            privileged: false, allowPrivilegeEscalation: false,"]);
  });

  it.each([
    ["a Windows pod, where the API rejects the field", "os: {name: windows}\n", "- name: debug\n  image: busybox:1.36.1\n  securityContext:\n    privileged: true\n"],
    ["CAP_SYS_ADMIN, next to which the API rejects false", "", "- name: debug\n  image: busybox:1.36.1\n  securityContext:\n    capabilities: {add: [CAP_SYS_ADMIN]}\n    privileged: true\n"],
    ["a container that already sets it false", "", "- name: debug\n  image: busybox:1.36.1\n  securityContext:\n    privileged: true\n    allowPrivilegeEscalation: false\n"],
  ])("only unsets privileged for %s", (_, podFields, container) => {
    const text = workload("Deployment", `${podFields}${containers(container)}`);
    const line = lineWith(text, "privileged: true");
    expect(check({ "apps/dev-team/app.yaml": text }).map((finding) => finding.fix)).toEqual([
      { line, endLine: line, replacement: "            privileged: false", description: 'Run container "debug" unprivileged' },
    ]);
  });

  it("adds the setting inside an inline patch, unless the patch writes it already", () => {
    const base = workload("Deployment", containers(goodContainer, "- name: debug\n  image: busybox:1.36.1\n"));
    const inline = (extra: string) => `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../base
patches:
  - patch: |
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: podinfo
      spec:
        template:
          spec:
            containers:
              - name: debug
                securityContext:
                  privileged: true${extra}
`;
    const rendered = workload("Deployment", containers(goodContainer, privilegedSidecar));
    const fixOf = (kustomization: string) =>
      check(
        { "apps/dev-team/base/deployment.yaml": base, "apps/dev-team/staging/kustomization.yaml": kustomization },
        { changed: ["apps/dev-team/staging/kustomization.yaml"], builds: [renderedBuild(rendered, "apps/dev-team/base/deployment.yaml")] },
      ).map((finding) => finding.fix);
    expect(fixOf(inline(""))).toEqual([
      { line: 17, endLine: 17, replacement: "                  privileged: false\n                  allowPrivilegeEscalation: false", description: UNPRIVILEGED },
    ]);
    expect(fixOf(inline("\n                  allowPrivilegeEscalation: true"))).toEqual([
      { line: 17, endLine: 17, replacement: "                  privileged: false", description: 'Run container "debug" unprivileged' },
    ]);
  });

  it.each([
    ["a block securityContext", "- name: debug\n  image: busybox:1.36.1\n  securityContext:\n    runAsUser: 0\n    privileged: true\n"],
    ["a flow securityContext", "- name: debug\n  image: busybox:1.36.1\n  securityContext: {privileged: true}\n"],
    ["a flow securityContext over several lines", "- name: debug\n  image: busybox:1.36.1\n  securityContext: {\n    privileged: true,\n    runAsUser: 0 }\n"],
    ["allowPrivilegeEscalation: true beside it", "- name: debug\n  image: busybox:1.36.1\n  securityContext:\n    privileged: true\n    allowPrivilegeEscalation: true\n"],
  ])("leaves neither finding once its fix is applied, on %s", async (_, sidecar) => {
    const config = ".github/fleet-warden.yml";
    const path = "apps/dev-team/app.yaml";
    const base = { [config]: "tenants:\n  - name: dev-team\n    paths: ['apps/**']\n    namespaces: [apps]\n", [path]: workload("Deployment", containers(goodContainer)) };
    const head = workload("Deployment", containers(goodContainer, sidecar));
    const rules = [podPrivileged, podPrivilegeEscalation];
    const before = await evaluateChange(base, { [path]: head }, { rules });
    expect(before.findings.map((finding) => finding.rule)).toEqual(["pod-privileged"]);
    const after = await evaluateChange(base, { [path]: applyFix(head, before.findings[0]!.fix!) }, { rules });
    expect(after.findings).toEqual([]);
    expect(after.conclusion).toBe("success");
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
        fix: { line: 11, endLine: 11, replacement: "            privileged: false\n            allowPrivilegeEscalation: false", description: UNPRIVILEGED },
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
