// The pod specs of workload objects, with the YAML path of the pod spec and of every container, and
// the source line where a field of a (possibly rendered) workload is written, so that workload rules
// put findings and fixes on the exact line: the object's own document, or the overlay patch that set it.
import { posix } from "node:path";
import { parse as parseYaml } from "yaml";
import { apiGroup, type FleetModel, type KubeObject, type SourceDocument } from "../../src/core/fleet.js";
import type { Fix, RuleContext, RuleFinding } from "../../src/core/types.js";
import { escapeRegExp, isRecord, valueAt } from "../../src/core/values.js";
import type { YamlPath } from "../../src/core/yaml.js";
import { findingOn, objectsToCheck, territorySeverity, type LocatedObject } from "./objects.js";
import { isKustomizationFile } from "../../src/core/build/kustomization.js";
import { inlinePatchLine } from "./inline-patches.js";

export type Mapping = Record<string, unknown>;

const TEMPLATE_SPEC: YamlPath = ["spec", "template", "spec"];

/** Where each workload kind keeps its pod spec, and the API groups that define the kind. */
const POD_SPEC_PATHS: Record<string, { groups: string[]; path: YamlPath }> = {
  Pod: { groups: [""], path: ["spec"] },
  ReplicationController: { groups: [""], path: TEMPLATE_SPEC },
  Deployment: { groups: ["apps", "extensions"], path: TEMPLATE_SPEC },
  StatefulSet: { groups: ["apps"], path: TEMPLATE_SPEC },
  DaemonSet: { groups: ["apps", "extensions"], path: TEMPLATE_SPEC },
  ReplicaSet: { groups: ["apps", "extensions"], path: TEMPLATE_SPEC },
  Job: { groups: ["batch"], path: TEMPLATE_SPEC },
  CronJob: { groups: ["batch"], path: ["spec", "jobTemplate", "spec", "template", "spec"] },
  // Argo Rollouts: a Deployment by another name (one that uses spec.workloadRef has no pod spec of its own).
  Rollout: { groups: ["argoproj.io"], path: TEMPLATE_SPEC },
};

const CONTAINER_LISTS = ["containers", "initContainers", "ephemeralContainers"] as const;
export type ContainerList = (typeof CONTAINER_LISTS)[number];

export interface Container {
  list: ContainerList;
  name: string;
  value: Mapping;
  /** YAML path of the container inside the object. */
  path: YamlPath;
}

export interface PodSpec {
  /** YAML path of the pod spec inside the object. */
  path: YamlPath;
  value: Mapping;
  containers: Container[];
}

export interface Workload {
  target: LocatedObject;
  pod: PodSpec;
  /**
   * How messages name the object: kind and name as its source document declares them, without the
   * namespace or name prefix a build adds, so that every overlay's finding on one line is the same.
   */
  label: string;
  /**
   * The document is a kustomize patch (listed under a kustomization's `patches` or
   * `patchesStrategicMerge`): it only holds the fields it changes, so absent fields mean nothing.
   */
  isPatch: boolean;
}

export function asMapping(value: unknown): Mapping | undefined {
  return isRecord(value) ? value : undefined;
}


export function podSpecOf(object: KubeObject): PodSpec | undefined {
  const kind = POD_SPEC_PATHS[object.kind];
  if (!kind || !kind.groups.includes(apiGroup(object.apiVersion))) return undefined;
  const value = asMapping(valueAt(object, kind.path));
  if (!value) return undefined;
  const containers: Container[] = [];
  for (const list of CONTAINER_LISTS) {
    const items = value[list];
    if (!Array.isArray(items)) continue;
    items.forEach((item, index) => {
      const container = asMapping(item);
      if (container) containers.push({ list, name: typeof container.name === "string" ? container.name : "", value: container, path: [...kind.path, list, index] });
    });
  }
  return { path: kind.path, value, containers };
}

const workloadsCache = new WeakMap<RuleContext, Workload[]>();

/**
 * Every workload (pod-bearing object) of the change: rendered when builds exist, else the changed
 * source documents. Computed once per context, since every workload rule asks.
 */
export function workloadsToCheck(context: RuleContext): Workload[] {
  const cached = workloadsCache.get(context);
  if (cached) return cached;
  const workloads: Workload[] = [];
  for (const target of objectsToCheck(context)) {
    const pod = podSpecOf(target.object);
    if (!pod) continue;
    const isPatch = target.doc !== undefined && isPatchDocument(context.head, target.doc);
    // With builds, a patch is judged through the objects it renders into (placeOf points back to it).
    if (isPatch && !target.build && context.builds.length > 0) continue;
    workloads.push({ target, pod, label: objectLabel(target), isPatch });
  }
  workloadsCache.set(context, workloads);
  return workloads;
}

export function objectLabel(target: LocatedObject): string {
  const ref = target.doc?.ref?.kind === target.ref.kind ? target.doc.ref : target.ref;
  return `${ref.kind} ${ref.name || "(unnamed)"}`;
}

export function describeContainer(workload: Workload, container: Container): string {
  const kind = container.list === "containers" ? "Container" : container.list === "initContainers" ? "Init container" : "Ephemeral container";
  return `${kind} "${container.name}" of ${workload.label}`;
}

/** A finding's anchor: the document (possibly an overlay patch) and the YAML path inside it. */
export interface Place {
  target: LocatedObject;
  path: YamlPath;
  /** False when no document declares the field: the place is then the object's own line, and no fix is offered. */
  exact: boolean;
  /** A line inside the scalar at `path`: the line of an inline patch's text that sets the field. */
  line?: number;
}

/**
 * Where a field of a workload is written. `rest` is the field's path under the container (or under the
 * pod spec when `container` is undefined). With `expected`, the place is the first document (the
 * object's own, then, for rendered objects, the changed overlay patches of the same object) whose value
 * there equals `expected`; without it, the first document that declares the container (or pod spec).
 * Falls back to the object's own line when no document says it (a JSON6902 or inline patch).
 */
export function placeOf(context: RuleContext, workload: Workload, container: Container | undefined, rest: YamlPath, expected?: unknown): Place {
  for (const target of candidateTargets(context, workload)) {
    const doc = target.doc!;
    const base = pathIn(doc, workload.pod.path, container);
    if (!base) continue;
    const path = [...base, ...rest];
    if (expected !== undefined && valueAt(doc.value, path) !== expected) continue;
    if (doc.keyLine(path) === undefined) continue;
    return { target, path, exact: true };
  }
  const field = rest[rest.length - 1];
  const inline = expected !== undefined && typeof field === "string" ? inlinePatchPlace(context, workload, field, expected) : undefined;
  return inline ?? { target: workload.target, path: [], exact: false };
}

/**
 * For a rendered field that no document writes: the line, inside a changed kustomization's (or Flux
 * Kustomization's) inline `patches[].patch` block, that sets it (`privileged: true`), else that names it
 * (a JSON6902 `path: …/privileged`).
 */
function inlinePatchPlace(context: RuleContext, workload: Workload, field: string, expected: unknown): Place | undefined {
  const inline = inlinePatchLine(context.changedDocuments, workload.target, field, expected);
  if (!inline) return undefined;
  const territory = context.territory(inline.doc.path);
  const target = { ...workload.target, path: inline.doc.path, doc: inline.doc, line: inline.doc.startLine, territory: territory.kind === "tenant" ? territory : workload.target.territory };
  // A JSON6902 patch names the field on one line and sets it on another: the finding, but no fix.
  return { target, path: inline.path, exact: inline.sets, line: inline.line };
}

/** Windows pods cannot set allowPrivilegeEscalation (the API rejects it): Windows has no no_new_privs. */
export function isWindowsPod(workload: Workload): boolean {
  return valueAt(workload.pod.value, ["os", "name"]) === "windows";
}

/** The API rejects allowPrivilegeEscalation: false next to the CAP_SYS_ADMIN capability. */
export function addsSysAdmin(container: Container): boolean {
  const added = asMapping(asMapping(container.value.securityContext)?.capabilities)?.add;
  return Array.isArray(added) && added.includes("CAP_SYS_ADMIN");
}

function candidateTargets(context: RuleContext, workload: Workload): LocatedObject[] {
  const { target } = workload;
  const own = target.doc ? [target] : [];
  return [
    ...own,
    ...(target.patches ?? []).map((doc) => {
      const territory = context.territory(doc.path);
      // A tenant's overlay patching a platform base is judged as tenant territory.
      return { ...target, path: doc.path, doc, line: doc.startLine, territory: territory.kind === "tenant" ? territory : target.territory };
    }),
  ];
}

/** The path of the pod spec, or of the container with the same name, inside a source document. */
function pathIn(doc: SourceDocument, podPath: YamlPath, container: Container | undefined): YamlPath | undefined {
  if (!container) return asMapping(valueAt(doc.value, podPath)) ? podPath : undefined;
  const items = valueAt(doc.value, [...podPath, container.list]);
  if (!Array.isArray(items)) return undefined;
  const index = items.findIndex((item) => asMapping(item)?.name === container.name);
  return index === -1 ? undefined : [...podPath, container.list, index];
}

/** The 1-based line of a place, when its document has that key. */
export function lineAt(place: Place): number | undefined {
  if (!place.exact) return undefined;
  return place.line ?? place.target.doc?.keyLine(place.path);
}

/** A workload finding at a place: error in tenant territory, warning in platform territory. */
export function findingAt(place: Place, message: string, fix?: Fix): RuleFinding {
  const finding = findingOn(place.target, place.path, message, { severity: territorySeverity(place.target), ...(fix ? { fix } : {}) });
  return place.line === undefined ? finding : { ...finding, line: place.line, endLine: place.line };
}

const patchFilesCache = new WeakMap<FleetModel, Set<string>>();

/** Files that some kustomization lists as a patch (`patches[].path`, `patchesStrategicMerge`). */
export function isPatchDocument(model: FleetModel, doc: SourceDocument): boolean {
  let patchFiles = patchFilesCache.get(model);
  if (!patchFiles) {
    patchFiles = new Set();
    for (const path of model.paths().filter(isKustomizationFile)) {
      const kustomization = asMapping(model.file(path)?.documents[0]?.value) ?? {};
      const dir = posix.dirname(path);
      const entries = [
        ...(Array.isArray(kustomization.patchesStrategicMerge) ? kustomization.patchesStrategicMerge : []),
        ...(Array.isArray(kustomization.patches) ? kustomization.patches.map((patch) => asMapping(patch)?.path) : []),
      ];
      for (const entry of entries) {
        if (typeof entry === "string" && !entry.includes("\n")) patchFiles.add(posix.normalize(posix.join(dir, entry)));
      }
    }
    patchFilesCache.set(model, patchFiles);
  }
  return patchFiles.has(doc.path);
}

/** The file's indentation step (the usual extra indentation of a nested block), 2 when it cannot tell. */
export function indentStep(doc: SourceDocument): number {
  const lines = doc.file.lines;
  let step = Infinity;
  for (let i = 0; i + 1 < lines.length; i++) {
    const opener = lines[i]!;
    if (!/:\s*(#.*)?$/.test(opener)) continue;
    const next = lines.slice(i + 1).find((line) => line.trim() !== "" && !line.trim().startsWith("#"));
    if (next === undefined) continue;
    const increase = leadingSpaces(next) - leadingSpaces(opener.replace(/^(\s*)- /, "$1  "));
    if (increase > 0) step = Math.min(step, increase);
  }
  return Number.isFinite(step) ? step : 2;
}

function leadingSpaces(line: string): number {
  return /^ */.exec(line)![0].length;
}

/**
 * The key's column on its line: the indentation its sibling keys have (a `- key:` line counts the
 * dash as indentation). Undefined when the key does not start the line's content.
 */
export function keyColumn(line: string, key: string): number | undefined {
  const match = new RegExp(`^(\\s*(?:-\\s+)?)${escapeRegExp(key)}\\s*:`).exec(line);
  return match ? match[1]!.length : undefined;
}

/** The line with `key: <scalar>` changed to `key: <value>`, indentation, quoting and trailing comment kept. */
export function replaceScalarOnLine(line: string, key: string, value: string, asString = false): string | undefined {
  const pattern = new RegExp(`((?:^|[\\s{,])${escapeRegExp(key)}\\s*:\\s*)("[^"]*"|'[^']*'|[^\\s,}#]+)`);
  const match = pattern.exec(line);
  if (!match) return undefined;
  const start = match.index + match[1]!.length;
  // A string YAML would read as another type unquoted ("16", "6.10", "true") is quoted: kustomize wants a string.
  const quote = /^["']/.exec(match[2]!)?.[0] ?? (asString && typeof parseYaml(value) !== "string" ? '"' : "");
  return line.slice(0, start) + quote + value + quote + line.slice(start + match[2]!.length);
}

/** A fix that sets the scalar at a place to `value` (e.g. `privileged: false`); `asString`: read as a string, quoted if need be. */
export function setScalarFix(place: Place, key: string, value: string, description: string, asString = false): Fix | undefined {
  const line = lineAt(place);
  const text = line === undefined ? undefined : place.target.doc?.file.lines[line - 1];
  const replacement = text === undefined ? undefined : replaceScalarOnLine(text, key, value, asString);
  return line !== undefined && replacement !== undefined && replacement !== text ? { line, endLine: line, replacement, description } : undefined;
}

/**
 * A fix that adds keys to a container, right after its `name:` line (when that name is a one-line
 * scalar). `block` lines are relative to the container's key indentation; a leading unit of two spaces
 * in `block` is rewritten to the file's own indentation step.
 */
export function addToContainerFix(place: Place, block: string[], description: string): Fix | undefined {
  const doc = place.target.doc;
  if (!doc || !place.exact) return undefined;
  const namePath = [...place.path, "name"];
  const line = doc.keyLine(namePath);
  if (line === undefined || doc.valueEndLine(namePath) !== line) return undefined;
  const text = doc.file.lines[line - 1]!;
  const column = keyColumn(text, "name");
  if (column === undefined) return undefined;
  const unit = " ".repeat(indentStep(doc));
  const added = block.map((entry) => " ".repeat(column) + entry.replace(/^((?: {2})*)/, (spaces) => unit.repeat(spaces.length / 2)));
  return { line, endLine: line, replacement: [text, ...added].join("\n"), description };
}

/** The document of the same object on the base side (same file, or the file it was renamed from). */
function baseDocumentOf(context: RuleContext, doc: SourceDocument): SourceDocument | undefined {
  const changed = context.changedFiles.find((file) => file.path === doc.path);
  const basePath = changed?.previousPath ?? doc.path;
  return context.base.file(basePath)?.documents.find((candidate) => candidate.ref?.kind === doc.ref?.kind && candidate.ref?.name === doc.ref?.name);
}

/** The container with the same name and list in a base document, with its path there. */
export function baseContainerOf(context: RuleContext, place: Place, container: Container): { doc: SourceDocument; container: Container } | undefined {
  const doc = place.target.doc && baseDocumentOf(context, place.target.doc);
  const pod = doc?.object ? podSpecOf(doc.object) : undefined;
  const match = pod?.containers.find((candidate) => candidate.list === container.list && candidate.name === container.name);
  return doc && match ? { doc, container: match } : undefined;
}
