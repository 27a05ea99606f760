// What the rules cannot see: the workloads a HelmRelease installs. helm-controller renders the chart in the cluster and
// fleet-warden never runs Helm, so a change to what a HelmRelease installs is named in a note, lest a green check
// read as a review of it.
import { apiGroup, describeRef, type SourceDocument } from "./fleet.js";
import { touchesAddedLines } from "./patch.js";
import type { Build, ChangedFile, ObjectRef, RenderedDiff } from "./types.js";
import { asArray, asRecord } from "./values.js";

const HELM_GROUP = "helm.toolkit.fluxcd.io";
const LISTED = 5;

function isHelmRelease(ref: ObjectRef | undefined): ref is ObjectRef {
  return ref?.kind === "HelmRelease" && apiGroup(ref.apiVersion) === HELM_GROUP;
}

/**
 * HelmReleases whose install the change alters: added or changed (as a build renders them, or as written where no
 * build does), or reading values (`spec.valuesFrom`) from a ConfigMap or Secret the change adds or changes.
 */
export function helmReleaseNote(headBuilds: Build[], renderedDiff: RenderedDiff[], changedDocuments: SourceDocument[], changedFiles: Map<string, ChangedFile>): string | undefined {
  const releases = new Map<string, ObjectRef>();
  for (const diff of renderedDiff) {
    const changed = diff.changes.filter((change) => change.change !== "removed").map((change) => change.ref);
    for (const ref of changed.filter(isHelmRelease)) releases.set(`${ref.namespace ?? ""}/${ref.name}`, ref);
    const valueSources = new Set(changed.filter((ref) => ref.kind === "ConfigMap" || ref.kind === "Secret").map((ref) => `${ref.kind}/${ref.namespace ?? ""}/${ref.name}`));
    if (valueSources.size === 0) continue;
    const build = headBuilds.find((candidate) => candidate.report.name === diff.build);
    for (const { ref, object } of build?.objects ?? []) {
      if (!isHelmRelease(ref)) continue;
      const reads = asArray(asRecord(object.spec).valuesFrom).map(asRecord);
      if (reads.some((source) => valueSources.has(`${String(source.kind)}/${ref.namespace ?? ""}/${String(source.name)}`))) releases.set(`${ref.namespace ?? ""}/${ref.name}`, ref);
    }
  }
  // As written, where no build renders its file: when the change adds lines to it.
  const builtFiles = new Set(headBuilds.flatMap((build) => build.objects.map((object) => object.source?.path)));
  for (const doc of changedDocuments) {
    const file = changedFiles.get(doc.path);
    if (!isHelmRelease(doc.ref) || builtFiles.has(doc.path) || !file || !(file.status === "added" || touchesAddedLines(file, doc.startLine, doc.endLine))) continue;
    releases.set(`${doc.ref.namespace ?? ""}/${doc.ref.name}`, doc.ref);
  }
  if (releases.size === 0) return undefined;
  const names = [...releases.values()].map(describeRef).sort();
  const listed = names.length > LISTED ? `${names.slice(0, LISTED).join(", ")} and ${names.length - LISTED} more` : names.join(", ");
  return `fleet-warden does not render Helm charts (helm-controller does, in the cluster): what ${listed} ${names.length === 1 ? "installs" : "install"} is not judged here, only the HelmRelease itself (its account, namespace and sources). Review the chart and its values, or rely on the cluster's admission policies.`;
}
