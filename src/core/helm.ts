// What the rules cannot see: the workloads a HelmRelease installs. helm-controller renders the chart in the cluster and
// fleet-warden never runs Helm, so a change to what a HelmRelease installs is named in a note, lest a green check
// read as a review of it.
import { isInFolder } from "./build/tree.js";
import { apiGroup, describeRef, type FleetModel, type SourceDocument } from "./fleet.js";
import { normalizeRepoPath } from "./flux.js";
import { touchesAddedLines } from "./patch.js";
import type { Build, ChangedFile, ObjectRef, RenderedDiff } from "./types.js";
import { asArray, asRecord } from "./values.js";

const HELM_GROUP = "helm.toolkit.fluxcd.io";
/** Chart sources whose `chart` is a path in their artifact, as opposed to a chart name. */
const PATH_SOURCES = new Set(["GitRepository", "Bucket"]);
const LISTED = 5;

function isHelmRelease(ref: ObjectRef | undefined): ref is ObjectRef {
  return ref?.kind === "HelmRelease" && apiGroup(ref.apiVersion) === HELM_GROUP;
}

export interface HelmChangeInput {
  headBuilds: Build[];
  renderedDiff: RenderedDiff[];
  /** The head's documents in changed files. */
  changedDocuments: SourceDocument[];
  changedFiles: Map<string, ChangedFile>;
  head: FleetModel;
}

/**
 * Objects the change adds or alters: as builds render them, else as written (no namespace, where kustomize would set
 * one: such a ref matches any namespace).
 */
class ChangedObjects {
  private readonly placed = new Set<string>();
  private readonly named = new Set<string>();
  private readonly unplaced = new Set<string>();

  add(ref: Pick<ObjectRef, "kind" | "name" | "namespace">): void {
    if (ref.namespace === undefined) {
      this.unplaced.add(`${ref.kind}/${ref.name}`);
    } else {
      this.placed.add(`${ref.kind}/${ref.namespace}/${ref.name}`);
      this.named.add(`${ref.kind}/${ref.name}`);
    }
  }

  has(kind: unknown, namespace: string | undefined, name: unknown): boolean {
    if (typeof kind !== "string" || typeof name !== "string") return false;
    const key = `${kind}/${name}`;
    return this.unplaced.has(key) || (namespace === undefined ? this.named.has(key) : this.placed.has(`${kind}/${namespace}/${name}`));
  }
}

/**
 * HelmReleases whose install the change may alter: the release itself, its chart source (`chart.spec.sourceRef`,
 * `chartRef`), a chart kept in the repository (its folder), or a ConfigMap or Secret it reads values from.
 */
export function helmReleaseNote(input: HelmChangeInput): string | undefined {
  const builtFiles = new Set(input.headBuilds.flatMap((build) => build.objects.map((object) => object.source?.path)));
  const changed = new ChangedObjects();
  for (const diff of input.renderedDiff) for (const change of diff.changes) if (change.change !== "removed") changed.add(change.ref);
  // Where no build renders a file: the documents the change adds lines to.
  for (const doc of input.changedDocuments) {
    const file = input.changedFiles.get(doc.path);
    if (doc.ref && !builtFiles.has(doc.path) && file && (file.status === "added" || touchesAddedLines(file, doc.startLine, doc.endLine))) changed.add(doc.ref);
  }
  const changedPaths = [...input.changedFiles.keys()];
  const releases: Array<{ ref: ObjectRef; spec: Record<string, unknown> }> = [
    ...input.headBuilds.flatMap((build) => build.objects.filter((object) => isHelmRelease(object.ref)).map((object) => ({ ref: object.ref, spec: asRecord(object.object.spec) }))),
    ...input.head
      .fluxObjectsOfKind("HelmRelease")
      .filter((doc) => isHelmRelease(doc.ref) && !builtFiles.has(doc.path))
      .map((doc) => ({ ref: doc.ref!, spec: asRecord(doc.object?.spec) })),
  ];
  const named = new Map<string, ObjectRef>();
  for (const { ref, spec } of releases) {
    const namespace = ref.namespace;
    const refers = (reference: unknown) => {
      const { kind, name, namespace: own } = asRecord(reference);
      return changed.has(kind, typeof own === "string" ? own : namespace, name);
    };
    const chart = asRecord(asRecord(spec.chart).spec);
    const source = asRecord(chart.sourceRef);
    const chartFolder = PATH_SOURCES.has(String(source.kind)) && typeof chart.chart === "string" ? normalizeRepoPath(chart.chart) : undefined;
    const alters =
      changed.has(ref.kind, namespace, ref.name) ||
      refers(chart.sourceRef) ||
      refers(spec.chartRef) ||
      asArray(spec.valuesFrom).some(refers) ||
      (chartFolder !== undefined && changedPaths.some((path) => isInFolder(path, chartFolder)));
    if (alters) named.set(`${namespace ?? ""}/${ref.name}`, ref);
  }
  // A release rendered with its namespace and written without it is one release.
  for (const [key, ref] of named) if (ref.namespace === undefined && [...named.values()].some((other) => other.namespace !== undefined && other.name === ref.name)) named.delete(key);
  if (named.size === 0) return undefined;
  const names = [...named.values()].map(describeRef).sort();
  const listed = names.length > LISTED ? `${names.slice(0, LISTED).join(", ")} and ${names.length - LISTED} more` : names.join(", ");
  return `fleet-warden does not render Helm charts (helm-controller does, in the cluster): what ${listed} ${names.length === 1 ? "installs" : "install"} is not judged here, only the HelmRelease itself (its account, namespace and sources). Review the chart and its values, or rely on the cluster's admission policies.`;
}
