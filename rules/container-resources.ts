import type { SourceDocument } from "../src/core/fleet.js";
import type { Fix, Rule, RuleContext, RuleFinding } from "../src/core/types.js";
import type { YamlPath } from "../src/core/yaml.js";
import {
  findingAt,
  addToContainerFix,
  asMapping,
  baseContainerOf,
  describeContainer,
  indentStep,
  keyColumn,
  placeOf,
  workloadsToCheck,
  type Container,
  type Mapping,
  type Place,
} from "./lib/workloads.js";

type Need = "cpu request" | "memory request" | "memory limit";

export const containerResources: Rule = {
  meta: {
    id: "container-resources",
    defaultSeverity: "error",
    summary: "Every container and init container requests cpu and memory and sets a memory limit.",
    rationale:
      "Without requests the scheduler packs pods onto nodes that cannot run them and the pod is the first evicted under pressure; without a memory limit one leaking container can exhaust a node's memory and take down every tenant's pods on it.",
  },
  check(context) {
    const findings: RuleFinding[] = [];
    for (const workload of workloadsToCheck(context)) {
      // A kustomize patch only holds what it changes: its containers get their resources from the base.
      if (workload.isPatch) continue;
      // Pod-level resources (spec.resources) cover every container of the pod.
      const podResources = asMapping(workload.pod.value.resources);
      for (const container of workload.pod.containers) {
        // Ephemeral containers cannot have resources: the API rejects them.
        if (container.list === "ephemeralContainers") continue;
        const missing = missingResources(asMapping(container.value.resources), podResources);
        if (missing.length === 0) continue;
        const hasResources = container.value.resources !== undefined;
        const declared = hasResources ? placeOf(context, workload, container, ["resources"]) : undefined;
        const place = declared?.exact ? declared : placeOf(context, workload, container, []);
        const fix = hasResources ? undefined : restoreFromBase(context, place, container);
        findings.push(
          findingAt(place, `${describeContainer(workload, container)} has no ${listed(missing)}.`, fix),
        );
      }
    }
    return findings;
  },
};

/**
 * What the container lacks. Kubernetes defaults a missing request to the limit, so a cpu or memory
 * limit also counts as that request.
 */
function missingResources(resources: Mapping | undefined, podResources: Mapping | undefined): Need[] {
  const has = (scope: Mapping | undefined, kind: "requests" | "limits", resource: "cpu" | "memory") => {
    const value = asMapping(scope?.[kind])?.[resource];
    return value !== undefined && value !== null && value !== "";
  };
  const either = (kind: "requests" | "limits", resource: "cpu" | "memory") => has(resources, kind, resource) || has(podResources, kind, resource);
  const missing: Need[] = [];
  if (!either("requests", "cpu") && !either("limits", "cpu")) missing.push("cpu request");
  if (!either("requests", "memory") && !either("limits", "memory")) missing.push("memory request");
  if (!either("limits", "memory")) missing.push("memory limit");
  return missing;
}

function listed(items: string[]): string {
  return items.length === 1 ? items[0]! : `${items.slice(0, -1).join(", ")} or ${items[items.length - 1]}`;
}

/**
 * The honest fix: the resources the same container had on the base branch, when they were complete
 * (no guessing of numbers nobody measured).
 */
function restoreFromBase(context: RuleContext, place: Place, container: Container): Fix | undefined {
  const base = baseContainerOf(context, place, container);
  if (!base || missingResources(asMapping(base.container.value.resources), undefined).length > 0) return undefined;
  const block = relativeBlock(base.doc, [...base.container.path, "resources"]);
  return block && addToContainerFix(place, block, `Restore the resources container "${container.name}" has on the base branch`);
}

/** The lines of a key and its block value, indented relative to the key in two-space units. */
function relativeBlock(doc: SourceDocument, path: YamlPath): string[] | undefined {
  const first = doc.keyLine(path);
  const last = doc.valueEndLine(path);
  if (first === undefined || last === undefined) return undefined;
  const lines = doc.file.lines.slice(first - 1, last);
  const column = keyColumn(lines[0]!, String(path[path.length - 1]));
  const step = indentStep(doc);
  if (column === undefined) return undefined;
  const relative: string[] = [lines[0]!.slice(column)];
  for (const line of lines.slice(1)) {
    const spaces = /^ */.exec(line)![0].length - column;
    if (spaces <= 0 || spaces % step !== 0) return undefined;
    relative.push(`${"  ".repeat(spaces / step)}${line.trimStart()}`);
  }
  return relative;
}
