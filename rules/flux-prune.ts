import { describeRef } from "../src/core/fleet.js";
import type { Rule, RuleFinding } from "../src/core/types.js";
import { fluxGraph, insertUnderFix, isFluxKustomization, replaceValueFix } from "./lib/flux-graph.js";
import { findingOn, objectsToCheck } from "./lib/objects.js";

export const fluxPrune: Rule = {
  meta: {
    id: "flux-prune",
    defaultSeverity: "warning",
    summary: "Flux Kustomizations set `prune: true`, so that what is deleted from Git is deleted from the cluster.",
    rationale:
      "Without garbage collection, an object removed from the repository keeps running: a revoked RoleBinding still grants access, a deleted Deployment still serves, and the cluster silently drifts from what review approved.",
  },
  check(context) {
    const graph = fluxGraph(context.head);
    const findings: RuleFinding[] = [];
    for (const target of objectsToCheck(context)) {
      if (!isFluxKustomization(target.ref)) continue;
      const spec = (target.object.spec ?? {}) as Record<string, unknown>;
      const patch = target.doc !== undefined && graph.isPatch(target.doc);
      // A patch only judges what it sets; the object it patches is judged where it is declared.
      if (spec.prune === true || (patch && !("prune" in spec))) continue;
      const name = describeRef(target.ref);
      if ("prune" in spec) {
        const fix = target.doc && replaceValueFix(target.doc, ["spec", "prune"], "true", "Turn on garbage collection");
        findings.push(findingOn(target, ["spec", "prune"], `${name} sets prune to ${JSON.stringify(spec.prune)}: objects removed from Git stay in the cluster. Set prune: true.`, fix ? { fix } : {}));
      } else {
        const fix = target.doc && insertUnderFix(target.doc, ["spec"], ["prune: true"], "Turn on garbage collection");
        findings.push(findingOn(target, ["spec"], `${name} does not set prune: objects removed from Git stay in the cluster. Add prune: true.`, fix ? { fix } : {}));
      }
    }
    return findings;
  },
};
