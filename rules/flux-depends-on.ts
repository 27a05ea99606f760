import { normalizeRepoPath } from "../src/core/flux.js";
import { asRecord } from "../src/core/values.js";
import type { RuleContext, Rule, RuleFinding } from "../src/core/types.js";
import { clusterReadsOtherRepositories, findingOnSpec, fluxGraph, prepareFluxGraph, type ClusterObject, type FluxGraph } from "./lib/flux-graph.js";

type Layer = "infrastructure" | "tenants";

interface Edge {
  from: ClusterObject;
  index: number;
  to: ClusterObject;
}

const key = (object: ClusterObject) => `${object.ref.namespace ?? ""}/${object.ref.name}`;

export const fluxDependsOn: Rule = {
  meta: {
    id: "flux-depends-on",
    defaultSeverity: "error",
    summary: "Every dependsOn names an object of the same cluster, dependencies form no cycle, and infrastructure never depends on tenants.",
    rationale:
      "Flux waits forever on a dependency that does not exist or that waits on itself, so everything downstream stops reconciling without an error anyone sees in review. A platform component that depends on a tenant's Kustomization lets any tenant change hold back (or break) the platform.",
  },
  prepare: prepareFluxGraph,
  check(context) {
    const graph = fluxGraph(context.head);
    const findings: RuleFinding[] = [];
    const edges: Edge[] = [];
    for (const object of graph.objects) {
      const dependsOn = Array.isArray(object.spec.dependsOn) ? object.spec.dependsOn : [];
      dependsOn.forEach((item, index) => {
        const dependency = asRecord(item);
        if (typeof dependency.name !== "string") return;
        const namespace = typeof dependency.namespace === "string" ? dependency.namespace : object.ref.namespace;
        const target = graph.find(object.cluster, object.ref.kind, namespace, dependency.name);
        if (target) {
          edges.push({ from: object, index, to: target });
          return;
        }
        findings.push(missingTarget(context, graph, object, index, `${namespace ? `${namespace}/` : ""}${dependency.name}`));
      });
    }
    for (const edge of edges) {
      if (layerOf(context, graph, edge.from) === "infrastructure" && layerOf(context, graph, edge.to) === "tenants") {
        findings.push(
          findingOnSpec(
            context,
            edge.from,
            ["dependsOn", edge.index],
            `Infrastructure ${edge.from.ref.kind} ${key(edge.from)} depends on tenant ${edge.to.ref.kind} ${key(edge.to)}: a tenant change could hold back the platform. Reverse or remove the dependency.`,
          ),
        );
      }
    }
    for (const cycle of findCycles(edges)) {
      const text = [...cycle.map((edge) => key(edge.from)), key(cycle[0]!.from)].join(" → ");
      for (const edge of cycle) {
        findings.push(findingOnSpec(context, edge.from, ["dependsOn", edge.index], `dependsOn forms a cycle (${cycle[0]!.from.ref.kind} ${text}): Flux never reconciles any of them.`));
      }
    }
    return findings;
  },
};

function missingTarget(context: RuleContext, graph: FluxGraph, object: ClusterObject, index: number, target: string): RuleFinding {
  const where = object.cluster ? `cluster ${object.cluster}` : "this repository";
  // A Kustomization reading another repository may create the target: then it is only a warning.
  return clusterReadsOtherRepositories(graph, object.cluster)
    ? findingOnSpec(
        context,
        object,
        ["dependsOn", index],
        `dependsOn names ${object.ref.kind} ${target}, which ${where} does not define in this repository; unless another source creates it, Flux waits on it forever.`,
        { severity: "warning" },
      )
    : findingOnSpec(context, object, ["dependsOn", index], `dependsOn names ${object.ref.kind} ${target}, which ${where} does not define; Flux waits on it forever.`);
}

/** Which side of the platform/tenant line an object is on: its file, or the folder it applies. */
function layerOf(context: RuleContext, graph: FluxGraph, object: ClusterObject): Layer | undefined {
  const applied = graph.readsThisRepository(object) && typeof object.spec.path === "string" ? normalizeRepoPath(object.spec.path) : undefined;
  const paths = [object.doc.path, ...(applied ? [`${applied}/`] : [])];
  if (paths.some((path) => path.startsWith("tenants/") || context.territory(path).kind === "tenant")) return "tenants";
  if (paths.some((path) => path.startsWith("infrastructure/"))) return "infrastructure";
  return undefined;
}

/** One cycle per strongly connected component of the dependency graph (Tarjan), as the edges that close it. */
function findCycles(edges: Edge[]): Edge[][] {
  const outgoing = new Map<ClusterObject, Edge[]>();
  for (const edge of edges) outgoing.set(edge.from, [...(outgoing.get(edge.from) ?? []), edge]);
  const index = new Map<ClusterObject, number>();
  const low = new Map<ClusterObject, number>();
  const stack: ClusterObject[] = [];
  const components: ClusterObject[][] = [];
  let counter = 0;
  const visit = (node: ClusterObject) => {
    index.set(node, counter);
    low.set(node, counter++);
    stack.push(node);
    for (const { to } of outgoing.get(node) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node)!, low.get(to)!));
      } else if (stack.includes(to)) {
        low.set(node, Math.min(low.get(node)!, index.get(to)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: ClusterObject[] = [];
      let member: ClusterObject;
      do {
        member = stack.pop()!;
        component.push(member);
      } while (member !== node);
      components.push(component);
    }
  };
  for (const edge of edges) if (!index.has(edge.from)) visit(edge.from);

  const cycles: Edge[][] = [];
  for (const component of components) {
    const members = new Set(component);
    const start = [...component].sort((a, b) => key(a).localeCompare(key(b)))[0]!;
    const path = cyclePath(start, start, members, outgoing, new Set());
    if (path) cycles.push(path);
  }
  return cycles;
}

/** A path of edges from `node` back to `start` inside one component (depth first, in dependsOn order). */
function cyclePath(node: ClusterObject, start: ClusterObject, members: Set<ClusterObject>, outgoing: Map<ClusterObject, Edge[]>, seen: Set<ClusterObject>): Edge[] | undefined {
  for (const edge of outgoing.get(node) ?? []) {
    if (edge.to === start) return [edge];
    if (!members.has(edge.to) || seen.has(edge.to)) continue;
    seen.add(edge.to);
    const rest = cyclePath(edge.to, start, members, outgoing, seen);
    if (rest) return [edge, ...rest];
  }
  return undefined;
}
