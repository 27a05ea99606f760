import { foldersOf } from "../src/core/build/kustomization.js";
import { gitRepositoryOptions, isInFolder, sparseCheckoutKeeps } from "../src/core/build/tree.js";
import { describeRef } from "../src/core/fleet.js";
import { FLUX_SYSTEM, normalizeRepoPath } from "../src/core/flux.js";
import type { Rule, RuleFinding } from "../src/core/types.js";
import { findingOnSpec, fluxGraph, prepareFluxGraph } from "./lib/flux-graph.js";

export const fluxPathExists: Rule = {
  meta: {
    id: "flux-path-exists",
    defaultSeverity: "error",
    summary: "The spec.path of every Flux Kustomization that reads this repository names a folder that exists in it.",
    rationale:
      "A Kustomization whose path is missing fails to build and stops reconciling: nothing under it is updated any more, including security fixes, and a folder renamed in one pull request silently strands every cluster that still points at the old name.",
  },
  prepare: prepareFluxGraph,
  check(context) {
    const graph = fluxGraph(context.head);
    const folders = foldersOf(context.head.paths());
    const findings: RuleFinding[] = [];
    // Every Kustomization of the repository: a pull request that moves a folder breaks Kustomizations it does not touch.
    for (const kustomization of graph.kustomizations) {
      if (graph.isPatch(kustomization.doc) || !graph.readsThisRepository(kustomization)) continue;
      const written = typeof kustomization.spec.path === "string" ? kustomization.spec.path : "";
      // Like Flux's secure join, `..` stops at the repository root.
      const path = normalizeRepoPath(written);
      const name = describeRef(kustomization.ref);
      const source = graph.sourceOf(kustomization);
      const options = gitRepositoryOptions(source?.spec ?? {}, source?.ref.namespace ?? FLUX_SYSTEM);
      // Filled (or held) by an included artifact: the build of the Kustomization judges it.
      if (options.includes?.some((include) => isInFolder(path, include.path) || isInFolder(include.path, path))) continue;
      const sparseKeeps = sparseCheckoutKeeps(options.sparseCheckout);
      let problem: string | undefined;
      if (path !== "" && context.head.exists(path)) problem = `${name}: spec.path ${written} is a file; Flux builds a folder.`;
      else if (path !== "" && !folders.has(path)) {
        problem = `${name}: spec.path ${written} does not exist in this repository; Flux fails to build the Kustomization and stops reconciling it.`;
      } else if (sparseKeeps && !context.head.paths().some((file) => isInFolder(file, path) && sparseKeeps(file))) {
        problem = `${name}: spec.path ${written} is outside the spec.sparseCheckout of ${describeRef(source!.ref)}, so Flux's artifact leaves it out; Flux fails to build the Kustomization and stops reconciling it.`;
      }
      if (problem) findings.push(findingOnSpec(context, kustomization, ["path"], problem));
    }
    return findings;
  },
};
