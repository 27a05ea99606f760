import { describeRef } from "../src/core/fleet.js";
import type { Rule, RuleFinding } from "../src/core/types.js";
import type { YamlPath } from "../src/core/yaml.js";
import { isFluxKustomization, replaceValueFix, valueAtPath } from "./lib/flux-graph.js";
import { findingOn, objectsToCheck } from "./lib/objects.js";

/** Where each Flux kind turns on replace-on-conflict: a Kustomization's spec.force, a HelmRelease's upgrade and rollback. */
function forcePaths(ref: { apiVersion: string; kind: string }): YamlPath[] {
  if (isFluxKustomization(ref)) return [["spec", "force"]];
  if (ref.kind === "HelmRelease" && ref.apiVersion.startsWith("helm.toolkit.fluxcd.io/")) {
    return [
      ["spec", "upgrade", "force"],
      ["spec", "rollback", "force"],
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
  check(context) {
    const findings: RuleFinding[] = [];
    for (const target of objectsToCheck(context)) {
      for (const path of forcePaths(target.ref)) {
        if (valueAtPath(target.object, path) !== true) continue;
        const fix = target.doc && replaceValueFix(target.doc, path, "false", "Stop recreating objects on immutable-field changes");
        const field = path.slice(1).join(".");
        findings.push(
          findingOn(
            target,
            path,
            `${describeRef(target.ref)} sets ${field}: true: objects whose immutable fields change are deleted and recreated on reconciliation.`,
            fix ? { fix } : {},
          ),
        );
      }
    }
    return findings;
  },
};
