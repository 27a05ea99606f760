import type { Fix, Rule, RuleFinding } from "../src/core/types.js";
import { indentOf } from "./lib/objects.js";
import { FLUX_CONTROLLERS, clusterControllers, flagValue, type ClusterControllers } from "./lib/tenancy.js";

interface LockdownFlag {
  /** The flag's name, without dashes. */
  name: string;
  /** How the message names the requirement. */
  requirement: string;
  /** The argument the fix adds. */
  arg: string;
  controllers: string[];
  satisfied(value: string | undefined): boolean;
}

const LOCKDOWN_FLAGS: LockdownFlag[] = [
  {
    name: "no-cross-namespace-refs",
    requirement: "--no-cross-namespace-refs=true",
    arg: "--no-cross-namespace-refs=true",
    controllers: ["kustomize-controller", "helm-controller"],
    satisfied: (value) => value === "true",
  },
  {
    name: "no-remote-bases",
    requirement: "--no-remote-bases=true",
    arg: "--no-remote-bases=true",
    controllers: ["kustomize-controller"],
    satisfied: (value) => value === "true",
  },
  {
    name: "default-service-account",
    requirement: "--default-service-account",
    arg: "--default-service-account=default",
    controllers: ["kustomize-controller", "helm-controller"],
    // Falling back to a controller's own account would apply unimpersonated objects with cluster-admin rights.
    satisfied: (value) => value !== undefined && value !== "" && !(FLUX_CONTROLLERS as readonly string[]).includes(value),
  },
];

export const controllerLockdown: Rule = {
  meta: {
    id: "controller-lockdown",
    defaultSeverity: "error",
    summary:
      "In a repository with tenants, each cluster's kustomize-controller and helm-controller run with --no-cross-namespace-refs=true and --default-service-account, and kustomize-controller with --no-remote-bases=true.",
    rationale:
      "Without these flags, tenant isolation rests on every tenant object being written correctly: a Kustomization without serviceAccountName is applied with the controller's cluster-admin account, a sourceRef into flux-system reads the platform's sources, and a remote base pulls unreviewed manifests from anywhere on the internet.",
  },
  check(context) {
    // The lockdown presumes tenants impersonate an account: with --default-service-account set, tenant objects
    // without one run as that account, so it only makes sense once some tenant has one.
    if (!context.tenants.some((tenant) => tenant.serviceAccount !== undefined)) return [];
    return clusterControllers(context.head).flatMap((cluster) => {
      const missing = LOCKDOWN_FLAGS.map((flag) => ({
        flag,
        controllers: flag.controllers.filter((controller) => !flag.satisfied(flagValue(cluster.args.get(controller) ?? [], flag.name))),
      })).filter((entry) => entry.controllers.length > 0);
      if (missing.length === 0) return [];
      const message = `The Flux controllers of cluster ${cluster.cluster} run without the multi-tenancy lockdown: ${missing
        .map((entry) => `${entry.flag.requirement} (${entry.controllers.join(", ")})`)
        .join(", ")}.`;
      return [lockdownFinding(context.head.paths(), cluster, message, missing)];
    });
  },
};

function lockdownFinding(paths: readonly string[], cluster: ClusterControllers, message: string, missing: Array<{ flag: LockdownFlag; controllers: string[] }>): RuleFinding {
  const doc = cluster.kustomization;
  if (doc) {
    const line = doc.keyLine(["patches"]) ?? doc.endLine;
    const fix = patchesFix(doc, missing);
    return { path: doc.path, line, endLine: line, message, ...(fix ? { fix } : {}) };
  }
  // No kustomization.yaml to patch from: point at the controller's args in gotk-components.yaml.
  const deployment = missing.flatMap((entry) => entry.controllers).map((name) => cluster.deployments.get(name)).find((found) => found !== undefined);
  if (deployment) {
    const line = deployment.keyLine(["spec", "template", "spec", "containers"]) ?? deployment.startLine;
    return { path: deployment.path, line, endLine: line, message, object: deployment.ref! };
  }
  const path = paths.find((candidate) => candidate.startsWith(`${cluster.dir}/`))!;
  return { path, line: 1, endLine: 1, message };
}

/** Appends one lockdown patch per missing flag to the kustomization's `patches:` (or adds the list), in the shape of Flux's multi-tenancy guide. */
function patchesFix(doc: NonNullable<ClusterControllers["kustomization"]>, missing: Array<{ flag: LockdownFlag; controllers: string[] }>): Fix | undefined {
  const value = (doc.value ?? {}) as Record<string, unknown>;
  const hasPatches = Array.isArray(value.patches) && value.patches.length > 0;
  if (value.patches !== undefined && !hasPatches) return undefined; // `patches: []` or something odd: leave it to a person
  const firstItemLine = hasPatches ? doc.valueLine(["patches", 0]) : undefined;
  const itemIndent = firstItemLine !== undefined ? indentOf(doc, firstItemLine) : "  ";
  const line = hasPatches ? doc.valueEndLine(["patches"]) : doc.endLine;
  if (line === undefined) return undefined;
  const entries = missing.flatMap(({ flag, controllers }) => {
    const name = controllers.length === 1 ? controllers[0]! : `(${controllers.join("|")})`;
    return [
      `${itemIndent}- patch: |`,
      `${itemIndent}    - op: add`,
      `${itemIndent}      path: /spec/template/spec/containers/0/args/-`,
      `${itemIndent}      value: ${flag.arg}`,
      `${itemIndent}  target:`,
      `${itemIndent}    kind: Deployment`,
      `${itemIndent}    name: "${name}"`,
    ];
  });
  const lines = [doc.file.lines[line - 1] ?? "", ...(hasPatches ? [] : ["patches:"]), ...entries];
  return { line, endLine: line, replacement: lines.join("\n"), description: "Add Flux's multi-tenancy lockdown patches" };
}
