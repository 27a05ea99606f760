// Realistic workload manifests and hand-built rendered builds for the workload rule tests.
import { parse } from "yaml";
import type { Build, TenantInfo } from "../../src/core/types.js";

export const tenants: TenantInfo[] = [{ name: "dev-team", paths: ["apps/**"], namespaces: ["apps"], origin: "config" }];

export type WorkloadKind = "Deployment" | "StatefulSet" | "DaemonSet" | "Job" | "CronJob" | "Pod" | "Rollout";

/** The manifest of a workload whose pod spec is `podSpec` (written without indentation). */
export function workload(kind: WorkloadKind, podSpec: string, name = "podinfo"): string {
  const header = [`apiVersion: ${kind === "Pod" ? "v1" : kind === "Job" || kind === "CronJob" ? "batch/v1" : kind === "Rollout" ? "argoproj.io/v1alpha1" : "apps/v1"}`, `kind: ${kind}`, "metadata:", `  name: ${name}`, "  namespace: apps"];
  const indent = (spaces: number) =>
    podSpec
      .trimEnd()
      .split("\n")
      .map((line) => (line === "" ? "" : " ".repeat(spaces) + line));
  const template = ["  template:", "    metadata:", "      labels:", `        app: ${name}`, "    spec:"];
  switch (kind) {
    case "Pod":
      return [...header, "spec:", ...indent(2)].join("\n") + "\n";
    case "Job":
      return [...header, "spec:", "  backoffLimit: 2", ...template, ...indent(6)].join("\n") + "\n";
    case "CronJob":
      return [
        ...header,
        "spec:",
        '  schedule: "*/5 * * * *"',
        "  jobTemplate:",
        "    spec:",
        ...template.map((line) => `    ${line}`),
        ...indent(10),
      ].join("\n") + "\n";
    default:
      return [...header, "spec:", "  selector:", "    matchLabels:", `      app: ${name}`, ...template, ...indent(6)].join("\n") + "\n";
  }
}

/** A well-behaved container: pinned image, requests and a memory limit, no privilege escalation. */
export const goodContainer = `- name: podinfo
  image: ghcr.io/stefanprodan/podinfo:6.7.0
  resources:
    requests:
      cpu: 100m
      memory: 64Mi
    limits:
      memory: 128Mi
  securityContext:
    allowPrivilegeEscalation: false
`;

/** `containers:` holding the given container entries. */
export function containers(...entries: string[]): string {
  return ["containers:", ...entries.flatMap((entry) => entry.trimEnd().split("\n").map((line) => `  ${line}`))].join("\n") + "\n";
}

/** The 1-based line of the first line of `text` that contains `needle` (after `after`, when given). */
export function lineWith(text: string, needle: string, after = 0): number {
  const index = text.split("\n").findIndex((line, i) => i >= after && line.includes(needle));
  if (index === -1) throw new Error(`"${needle}" not found`);
  return index + 1;
}

/** A build (of the folder `root`) that rendered `renderedText` (the object after overlays), traced to `sourcePath` at `sourceLine`. */
export function renderedBuild(
  renderedText: string,
  sourcePath: string,
  sourceLine = 1,
  name = "Kustomization flux-system/apps",
  root = sourcePath.split("/").slice(0, -1).join("/"),
): Build {
  const object = parse(renderedText) as Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };
  const { metadata } = object;
  return {
    report: { name, path: root, ok: true, objects: 1 },
    objects: [
      {
        object,
        ref: { apiVersion: object.apiVersion, kind: object.kind, name: metadata.name, ...(metadata.namespace ? { namespace: metadata.namespace } : {}) },
        source: { path: sourcePath, line: sourceLine },
      },
    ],
    issues: [],
  };
}
