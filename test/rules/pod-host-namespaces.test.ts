import { describe, expect, it } from "vitest";
import { podHostNamespaces } from "../../rules/pod-host-namespaces.js";
import { ruleContext } from "../helpers/rule-context.js";
import { containers, goodContainer, lineWith, renderedBuild, tenants, workload, type WorkloadKind } from "./workload-fixtures.js";

function check(head: Record<string, string>, extra: Partial<Parameters<typeof ruleContext>[0]> = {}) {
  return podHostNamespaces.check(ruleContext({ head, tenants, ...extra }));
}

describe("pod-host-namespaces", () => {
  it.each<WorkloadKind>(["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod", "Rollout"])("flags hostNetwork: true on a %s, with a fix that sets false", (kind) => {
    const text = workload(kind, `hostNetwork: true\n${containers(goodContainer)}`);
    const line = lineWith(text, "hostNetwork");
    const findings = check({ "apps/dev-team/app.yaml": text });
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      path: "apps/dev-team/app.yaml",
      line,
      endLine: line,
      severity: "error",
      message: `${kind} podinfo sets hostNetwork: true: its pods share the node's network stack (its interfaces, localhost services and every pod's traffic).`,
      fix: { line, endLine: line, replacement: text.split("\n")[line - 1]!.replace("true", "false"), description: `Keep ${kind} podinfo out of the host's namespace` },
    });
  });

  it("reports each host namespace on its own line", () => {
    const text = workload("DaemonSet", `hostPID: true\nhostIPC: True\nhostNetwork: false\n${containers(goodContainer)}`);
    expect(check({ "apps/dev-team/agent.yaml": text }).map((finding) => [finding.line, finding.message, finding.fix?.replacement])).toEqual([
      [
        lineWith(text, "hostPID"),
        "DaemonSet podinfo sets hostPID: true: its pods share the node's process table (it can see and signal every process on the node).",
        "      hostPID: false",
      ],
      [
        lineWith(text, "hostIPC"),
        "DaemonSet podinfo sets hostIPC: true: its pods share the node's IPC namespace (shared memory of every process on the node).",
        "      hostIPC: false",
      ],
    ]);
  });

  it("is a warning in platform territory (CNI plugins and node agents)", () => {
    const text = workload("DaemonSet", `hostNetwork: true\n${containers(goodContainer)}`, "cilium");
    expect(check({ "infrastructure/cni/cilium.yaml": text }).map((finding) => finding.severity)).toEqual(["warning"]);
  });

  it("passes pods that keep their own namespaces", () => {
    const text = workload("Deployment", `hostNetwork: false\n${containers(goodContainer)}`);
    expect(check({ "apps/dev-team/app.yaml": text, "apps/dev-team/other.yaml": workload("Pod", containers(goodContainer)) })).toEqual([]);
  });

  it("attributes hostNetwork set by an overlay patch to the patch, not to the base", () => {
    const base = workload("Deployment", `hostNetwork: false\n${containers(goodContainer)}`);
    const patch = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: podinfo\nspec:\n  template:\n    spec:\n      hostNetwork: true\n";
    const rendered = workload("Deployment", `hostNetwork: true\n${containers(goodContainer)}`);
    const findings = check(
      { "apps/dev-team/base/deployment.yaml": base, "apps/dev-team/staging/host.yaml": patch, "apps/dev-team/staging/kustomization.yaml": "resources: [../base]\npatches:\n  - path: host.yaml\n" },
      { changed: ["apps/dev-team/staging/host.yaml"], builds: [renderedBuild(rendered, "apps/dev-team/base/deployment.yaml")] },
    );
    expect(findings.map((finding) => [finding.path, finding.line, finding.build, finding.fix?.replacement])).toEqual([
      ["apps/dev-team/staging/host.yaml", 8, "Kustomization flux-system/apps", "      hostNetwork: false"],
    ]);
  });

  it("finds the patch even when the rendered object has no source document (traced to a resources entry)", () => {
    const kustomization = "resources:\n  - ../../../vendor/podinfo\npatches:\n  - path: host.yaml\n";
    const patch = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: podinfo\nspec:\n  template:\n    spec:\n      hostNetwork: true\n";
    const rendered = workload("Deployment", `hostNetwork: true\n${containers(goodContainer)}`);
    const findings = check(
      { "apps/dev-team/staging/kustomization.yaml": kustomization, "apps/dev-team/staging/host.yaml": patch },
      { builds: [renderedBuild(rendered, "apps/dev-team/staging/kustomization.yaml", 2)] },
    );
    expect(findings.map((finding) => [finding.path, finding.line, finding.fix?.replacement])).toEqual([["apps/dev-team/staging/host.yaml", 8, "      hostNetwork: false"]]);
  });

  it("attributes a field set by an inline strategic-merge patch to its line inside the patch, with the fix", () => {
    const base = workload("Deployment", containers(goodContainer));
    const kustomization = `apiVersion: kustomize.config.k8s.io/v1beta1
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
            hostNetwork: true
`;
    const rendered = workload("Deployment", `hostNetwork: true\n${containers(goodContainer)}`);
    const findings = check(
      { "apps/dev-team/base/deployment.yaml": base, "apps/dev-team/staging/kustomization.yaml": kustomization },
      { changed: ["apps/dev-team/staging/kustomization.yaml"], builds: [renderedBuild(rendered, "apps/dev-team/base/deployment.yaml")] },
    );
    expect(findings.map((finding) => [finding.path, finding.line, finding.endLine, finding.fix])).toEqual([
      [
        "apps/dev-team/staging/kustomization.yaml",
        14,
        14,
        { line: 14, endLine: 14, replacement: "            hostNetwork: false", description: "Keep Deployment podinfo out of the host's namespace" },
      ],
    ]);
  });

  it("attributes a field added by a Flux Kustomization's inline JSON6902 patch to the patch's path line (no fix), and ignores patches for other objects", () => {
    const base = workload("Deployment", containers(goodContainer));
    const flux = `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 10m
  path: ./apps/dev-team/base
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
  patches:
    - target:
        kind: Deployment
        name: other
      patch: |
        - op: add
          path: /spec/template/spec/hostNetwork
          value: true
    - target:
        kind: Deployment
        name: "podinfo|web"
      patch: |
        - op: add
          path: /spec/template/spec/hostNetwork
          value: true
`;
    const rendered = workload("Deployment", `hostNetwork: true\n${containers(goodContainer)}`);
    const findings = check(
      { "apps/dev-team/base/deployment.yaml": base, "clusters/staging/apps.yaml": flux },
      { changed: ["clusters/staging/apps.yaml"], builds: [renderedBuild(rendered, "apps/dev-team/base/deployment.yaml")] },
    );
    expect(findings.map((finding) => [finding.path, finding.line, finding.severity, finding.fix])).toEqual([["clusters/staging/apps.yaml", 26, "error", undefined]]);
  });

  it("falls back to the object's line when no document sets the field (a JSON6902 patch)", () => {
    const base = workload("Deployment", containers(goodContainer));
    const rendered = workload("Deployment", `hostNetwork: true\n${containers(goodContainer)}`);
    const findings = check({ "apps/dev-team/base/deployment.yaml": base }, { builds: [renderedBuild(rendered, "apps/dev-team/base/deployment.yaml")] });
    expect(findings.map((finding) => [finding.path, finding.line, finding.fix])).toEqual([["apps/dev-team/base/deployment.yaml", 1, undefined]]);
  });
});
