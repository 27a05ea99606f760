import { describeRef } from "../src/core/fleet.js";
import { valueAt } from "../src/core/values.js";
import { isFluxKustomization } from "../src/core/flux.js";
import type { Rule, RuleFinding } from "../src/core/types.js";
import type { YamlPath } from "../src/core/yaml.js";
import { changedFluxObjects, findingOnSpec, prepareFluxGraph, replaceSpecValueFix } from "./lib/flux-graph.js";

/** Where each Flux kind turns on replace-on-conflict (paths inside spec): a Kustomization's force, a HelmRelease's upgrade and rollback. */
function forcePaths(ref: { apiVersion: string; kind: string }): YamlPath[] {
  if (isFluxKustomization(ref)) return [["force"]];
  if (ref.kind === "HelmRelease" && ref.apiVersion.startsWith("helm.toolkit.fluxcd.io/")) {
    return [
      ["upgrade", "force"],
      ["rollback", "force"],
    ];
  }
  return [];
}

export const fluxForce: Rule = {
  meta: {
    id: "flux-force",
    defaultSeverity: "warning",
    summary: "Flux objects do not set `force: true`, which deletes and recreates objects whose immutable fields changed.",
    rationale:
      "With force, a change to an immutable field (a Deployment selector, a Job template, a PVC's storage class) silently deletes and recreates the object: pods restart all at once and a recreated volume claim can lose its data. Such changes should be made deliberately, not on every reconciliation.",
  },
  prepare: prepareFluxGraph,
  check(context) {
    const findings: RuleFinding[] = [];
    for (const object of changedFluxObjects(context)) {
      for (const path of forcePaths(object.ref)) {
        if (valueAt(object.spec, path) !== true) continue;
        const fix = replaceSpecValueFix(object, path, "false", "Stop recreating objects on immutable-field changes");
        findings.push(
          findingOnSpec(
            context,
            object,
            path,
            `${describeRef(object.ref)} sets ${path.join(".")}: true: objects whose immutable fields change are deleted and recreated on reconciliation.`,
            fix ? { fix } : {},
          ),
        );
      }
    }
    return findings;
  },
};
