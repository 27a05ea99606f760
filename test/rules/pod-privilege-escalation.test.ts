import { describe, expect, it } from "vitest";
import { podPrivilegeEscalation } from "../../rules/pod-privilege-escalation.js";
import { ruleContext } from "../helpers/rule-context.js";
import { containers, goodContainer, lineWith, renderedBuild, tenants, workload, type WorkloadKind } from "./workload-fixtures.js";

function check(head: Record<string, string>, extra: Partial<Parameters<typeof ruleContext>[0]> = {}) {
  return podPrivilegeEscalation.check(ruleContext({ head, tenants, ...extra }));
}

const UNSET = (container: string, kind = "Deployment") =>
  `Container "${container}" of ${kind} podinfo does not set allowPrivilegeEscalation: false; unset, Kubernetes lets its processes gain more privileges than they started with (setuid binaries, file capabilities).`;

describe("pod-privilege-escalation", () => {
  it.each<WorkloadKind>(["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"])(
    "flags a %s container without securityContext, and the fix adds one after its name",
    (kind) => {
      const text = workload(kind, containers(goodContainer, "- name: worker\n  image: ghcr.io/acme/worker:2.1.0\n"));
      const line = lineWith(text, "name: worker");
      const indent = " ".repeat(text.split("\n")[line - 1]!.indexOf("name"));
      expect(check({ "apps/dev-team/app.yaml": text })).toEqual([
        {
          path: "apps/dev-team/app.yaml",
          line,
          endLine: line,
          message: UNSET("worker", kind),
          object: expect.objectContaining({ kind, name: "podinfo" }),
          severity: "error",
          fix: {
            line,
            endLine: line,
            replacement: `${text.split("\n")[line - 1]}\n${indent}securityContext:\n${indent}  allowPrivilegeEscalation: false`,
            description: 'Set allowPrivilegeEscalation: false on container "worker"',
          },
        },
      ]);
    },
  );

  it("adds the setting as the first key of an existing securityContext, at its keys' indentation", () => {
    const text = workload("Deployment", containers("- name: worker\n  image: ghcr.io/acme/worker:2.1.0\n  securityContext:\n    runAsNonRoot: true\n"));
    const line = lineWith(text, "securityContext:");
    const [finding] = check({ "apps/dev-team/app.yaml": text });
    expect(finding?.line).toBe(line);
    expect(finding?.fix).toEqual({
      line,
      endLine: line,
      replacement: "          securityContext:\n            allowPrivilegeEscalation: false",
      description: 'Set allowPrivilegeEscalation: false on container "worker"',
    });
  });

  it("handles flow-style and empty securityContexts", () => {
    const text = workload(
      "Deployment",
      containers("- name: a\n  image: x:1\n  securityContext: {runAsNonRoot: true}\n", "- name: b\n  image: x:1\n  securityContext: {}\n"),
    );
    expect(check({ "apps/dev-team/app.yaml": text }).map((finding) => finding.fix?.replacement)).toEqual([
      "          securityContext: {allowPrivilegeEscalation: false, runAsNonRoot: true}",
      "          securityContext: {allowPrivilegeEscalation: false}",
    ]);
  });

  it("keeps a flow-style securityContext written over several lines valid YAML", () => {
    const text = workload("Deployment", containers("- name: a\n  image: x:1\n  securityContext: {\n    runAsNonRoot: true\n  }\n"));
    const [finding] = check({ "apps/dev-team/app.yaml": text });
    expect(finding?.fix?.replacement).toBe("          securityContext: {allowPrivilegeEscalation: false, ");
    const lines = text.split("\n");
    lines.splice(finding!.fix!.line - 1, finding!.fix!.endLine - finding!.fix!.line + 1, ...finding!.fix!.replacement.split("\n"));
    expect(check({ "apps/dev-team/app.yaml": lines.join("\n") })).toEqual([]);
  });

  it("uses the file's own indentation step (4 spaces)", () => {
    const text = [
      "apiVersion: batch/v1",
      "kind: Job",
      "metadata:",
      "    name: migrate",
      "spec:",
      "    template:",
      "        spec:",
      "            restartPolicy: Never",
      "            containers:",
      "                -   name: migrate",
      "                    image: ghcr.io/acme/migrate:1.0.0",
      "",
    ].join("\n");
    const [finding] = check({ "apps/dev-team/job.yaml": text });
    expect(finding?.fix?.replacement).toBe(
      "                -   name: migrate\n                    securityContext:\n                        allowPrivilegeEscalation: false",
    );
  });

  it("flags an explicit allowPrivilegeEscalation: true on its line, and flips it", () => {
    const text = workload("CronJob", containers("- name: report\n  image: ghcr.io/acme/report:3.0.0\n  securityContext:\n    allowPrivilegeEscalation: true\n"));
    const line = lineWith(text, "allowPrivilegeEscalation");
    expect(check({ "apps/dev-team/report.yaml": text }).map((finding) => [finding.line, finding.message, finding.fix?.replacement])).toEqual([
      [
        line,
        'Container "report" of CronJob podinfo sets allowPrivilegeEscalation: true, which lets its processes gain more privileges than they started with (setuid binaries, file capabilities).',
        "                allowPrivilegeEscalation: false",
      ],
    ]);
  });

  it("checks init containers, and offers no fix where the API would reject false (CAP_SYS_ADMIN)", () => {
    const podSpec = `${containers(goodContainer)}initContainers:
  - name: mount
    image: ghcr.io/acme/mount:1.0.0
    securityContext:
      capabilities:
        add: ["CAP_SYS_ADMIN"]
`;
    const text = workload("StatefulSet", podSpec);
    expect(check({ "apps/dev-team/db.yaml": text }).map((finding) => [finding.line, finding.message, finding.fix])).toEqual([
      [lineWith(text, "securityContext", lineWith(text, "name: mount")), UNSET("mount", "StatefulSet").replace("Container", "Init container"), undefined],
    ]);
  });

  it("leaves privileged containers (pod-privileged) and Windows pods (no such setting) alone, and passes false", () => {
    const privileged = workload("Deployment", containers(goodContainer, "- name: debug\n  image: busybox:1.36.1\n  securityContext:\n    privileged: true\n"));
    const windows = workload("Deployment", `os:\n  name: windows\n${containers("- name: iis\n  image: mcr.microsoft.com/windows/servercore/iis:20240910\n")}`, "iis");
    expect(check({ "apps/dev-team/a.yaml": privileged, "apps/dev-team/b.yaml": windows })).toEqual([]);
  });

  it("does not judge absent fields in a kustomize patch (the base sets them)", () => {
    const patch = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: podinfo\nspec:\n  template:\n    spec:\n      containers:\n        - name: podinfo\n          image: ghcr.io/stefanprodan/podinfo:6.7.1\n";
    const head = { "apps/dev-team/staging/image.yaml": patch, "apps/dev-team/staging/kustomization.yaml": "resources: [../base]\npatchesStrategicMerge:\n  - image.yaml\n" };
    expect(check(head, { changed: ["apps/dev-team/staging/image.yaml"] })).toEqual([]);
  });

  it("judges the rendered container: a patch that adds a container without the setting is annotated on the patch", () => {
    const base = workload("Deployment", containers(goodContainer));
    const patch = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: podinfo\nspec:\n  template:\n    spec:\n      containers:\n        - name: sidecar\n          image: ghcr.io/acme/proxy:1.2.3\n";
    const rendered = workload("Deployment", containers(goodContainer, "- name: sidecar\n  image: ghcr.io/acme/proxy:1.2.3\n"));
    const findings = check(
      { "apps/dev-team/base/deployment.yaml": base, "apps/dev-team/staging/sidecar.yaml": patch, "apps/dev-team/staging/kustomization.yaml": "resources: [../base]\npatches:\n  - path: sidecar.yaml\n" },
      { changed: ["apps/dev-team/staging/sidecar.yaml"], builds: [renderedBuild(rendered, "apps/dev-team/base/deployment.yaml")] },
    );
    expect(findings.map((finding) => [finding.path, finding.line, finding.message, finding.fix?.replacement])).toEqual([
      [
        "apps/dev-team/staging/sidecar.yaml",
        9,
        UNSET("sidecar"),
        "        - name: sidecar\n          securityContext:\n            allowPrivilegeEscalation: false",
      ],
    ]);
  });
});
