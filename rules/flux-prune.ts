import { describeRef } from "../src/core/fleet.js";
import { isFluxKustomization } from "../src/core/flux.js";
import type { Rule, RuleFinding } from "../src/core/types.js";
import { changedFluxObjects, findingOnSpec, insertUnderFix, prepareFluxGraph, replaceSpecValueFix } from "./lib/flux-graph.js";

const FIX_DESCRIPTION = "Turn on garbage collection";

export const fluxPrune: Rule = {
  meta: {
    id: "flux-prune",
    defaultSeverity: "warning",
    summary: "Flux Kustomizations set `prune: true`, so that what is deleted from Git is deleted from the cluster.",
    rationale:
      "Without garbage collection, an object removed from the repository keeps running: a revoked RoleBinding still grants access, a deleted Deployment still serves, and the cluster silently drifts from what review approved.",
  },
  prepare: prepareFluxGraph,
  check(context) {
    const findings: RuleFinding[] = [];
    for (const kustomization of changedFluxObjects(context)) {
      const prune = kustomization.spec.prune;
      if (!isFluxKustomization(kustomization.ref) || prune === true) continue;
      const name = describeRef(kustomization.ref);
      if (prune === undefined) {
        const fix = insertUnderFix(kustomization.doc, ["spec"], ["prune: true"], FIX_DESCRIPTION);
        findings.push(findingOnSpec(context, kustomization, ["prune"], `${name} does not set prune: objects removed from Git stay in the cluster. Add prune: true.`, fix ? { fix } : {}));
      } else {
        const fix = replaceSpecValueFix(kustomization, ["prune"], "true", FIX_DESCRIPTION);
        findings.push(
          findingOnSpec(context, kustomization, ["prune"], `${name} sets prune to ${JSON.stringify(prune)}: objects removed from Git stay in the cluster. Set prune: true.`, fix ? { fix } : {}),
        );
      }
    }
    return findings;
  },
};
