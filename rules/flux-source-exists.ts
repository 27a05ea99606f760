import { apiGroup } from "../src/core/fleet.js";
import { FLUX_SYSTEM } from "../src/core/flux.js";
import type { Rule, RuleContext, RuleFinding } from "../src/core/types.js";
import { asRecord, valueAt } from "../src/core/values.js";
import type { YamlPath } from "../src/core/yaml.js";
import { clusterReadsOtherRepositories, findingOnSpec, fluxGraph, prepareFluxGraph, type ClusterObject, type FluxGraph } from "./lib/flux-graph.js";

/** Per deploying kind: where it names its source, and the kind a reference without one means. */
const SOURCE_REFERENCES: Record<string, Array<{ path: string[]; defaultKind?: string }>> = {
  "kustomize.toolkit.fluxcd.io/Kustomization": [{ path: ["sourceRef"], defaultKind: "GitRepository" }],
  "helm.toolkit.fluxcd.io/HelmRelease": [{ path: ["chart", "spec", "sourceRef"] }, { path: ["chartRef"] }],
};

export const fluxSourceExists: Rule = {
  meta: {
    id: "flux-source-exists",
    defaultSeverity: "error",
    summary: "Every Kustomization's sourceRef and HelmRelease's chart source names a source its cluster defines.",
    rationale:
      "A Kustomization or HelmRelease whose source does not exist is never reconciled again: Flux reports 'source not found' on the cluster, prunes nothing and applies nothing, so every later change to it is silently ignored. A misspelt name or a deleted source passes every other check.",
  },
  prepare: prepareFluxGraph,
  check(context) {
    const graph = fluxGraph(context.head);
    const findings: RuleFinding[] = [];
    // Objects no cluster reaches (a tenant repository's) may read sources the platform repository defines.
    for (const object of graph.objects.filter((candidate) => candidate.cluster !== "")) {
      for (const reference of SOURCE_REFERENCES[`${apiGroup(object.ref.apiVersion)}/${object.ref.kind}`] ?? []) {
        const sourceRef = asRecord(valueAt(object.spec, reference.path));
        const kind = typeof sourceRef.kind === "string" ? sourceRef.kind : reference.defaultKind;
        if (typeof sourceRef.name !== "string" || !kind || kind === "ExternalArtifact") continue;
        const namespace = typeof sourceRef.namespace === "string" ? sourceRef.namespace : (object.ref.namespace ?? FLUX_SYSTEM);
        // `flux bootstrap` creates flux-system's own source, committed or not.
        if (sourceRef.name === FLUX_SYSTEM && namespace === FLUX_SYSTEM) continue;
        if (graph.find(object.cluster, kind, namespace, sourceRef.name)) continue;
        findings.push(missingSource(context, graph, object, [...reference.path, "name"], `${kind} ${namespace}/${sourceRef.name}`));
      }
    }
    return findings;
  },
};

function missingSource(context: RuleContext, graph: FluxGraph, object: ClusterObject, path: YamlPath, source: string): RuleFinding {
  const field = `spec.${path.slice(0, -1).join(".")}`;
  return clusterReadsOtherRepositories(graph, object.cluster, object)
    ? findingOnSpec(
        context,
        object,
        path,
        `${field} names ${source}, which cluster ${object.cluster} does not define in this repository; unless another source creates it, Flux never reconciles this ${object.ref.kind}.`,
        { severity: "warning" },
      )
    : findingOnSpec(context, object, path, `${field} names ${source}, which cluster ${object.cluster} does not define; Flux never reconciles this ${object.ref.kind} ("source not found").`);
}
