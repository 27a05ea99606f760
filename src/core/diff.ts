// The object-level diff of the changed manifests: which Kubernetes objects were added, removed or modified, per file.
import { isDeepStrictEqual } from "node:util";
import { describeRef, isYamlPath, objectKey, type FleetModel, type SourceDocument } from "./fleet.js";
import type { ChangedFile, ChangeStatus, ObjectRef } from "./types.js";

export interface ObjectDiffEntry {
  ref: ObjectRef;
  change: "added" | "removed" | "modified";
  /** Head-side line of the object (base-side for a removed one). */
  line: number;
}

export interface FileObjectDiff {
  path: string;
  previousPath?: string;
  status: ChangeStatus;
  objects: ObjectDiffEntry[];
  /** Documents that are not Kubernetes objects and changed (values files, workflow files …). */
  otherDocumentsChanged: boolean;
  /** The file is not YAML, or could not be parsed on one side. */
  note?: string;
}

export function diffChangedFiles(changed: ChangedFile[], base: FleetModel, head: FleetModel): FileObjectDiff[] {
  return changed.filter((file) => isYamlPath(file.path) || (file.previousPath && isYamlPath(file.previousPath))).map((file) => diffFile(file, base, head));
}

function diffFile(file: ChangedFile, base: FleetModel, head: FleetModel): FileObjectDiff {
  const basePath = file.previousPath ?? file.path;
  const before = file.status === "added" ? undefined : base.file(basePath);
  const after = file.status === "removed" ? undefined : head.file(file.path);
  const result: FileObjectDiff = {
    path: file.path,
    ...(file.previousPath ? { previousPath: file.previousPath } : {}),
    status: file.status,
    objects: [],
    otherDocumentsChanged: false,
  };
  const broken = [before, after].find((side) => side?.error);
  if (broken?.error) {
    result.note = `${broken.path} (${broken === before ? "base" : "head"}) does not parse: line ${broken.error.line}: ${broken.error.message}`;
  }
  const beforeObjects = indexObjects(before?.documents ?? []);
  const afterObjects = indexObjects(after?.documents ?? []);
  for (const [key, doc] of afterObjects) {
    const old = beforeObjects.get(key);
    if (!old) result.objects.push({ ref: doc.ref!, change: "added", line: doc.startLine });
    else if (!isDeepStrictEqual(old.value, doc.value)) result.objects.push({ ref: doc.ref!, change: "modified", line: doc.startLine });
  }
  for (const [key, doc] of beforeObjects) {
    if (!afterObjects.has(key)) result.objects.push({ ref: doc.ref!, change: "removed", line: doc.startLine });
  }
  const otherBefore = (before?.documents ?? []).filter((doc) => !doc.ref).map((doc) => doc.value);
  const otherAfter = (after?.documents ?? []).filter((doc) => !doc.ref).map((doc) => doc.value);
  result.otherDocumentsChanged = !isDeepStrictEqual(otherBefore, otherAfter);
  return result;
}

function indexObjects(documents: SourceDocument[]): Map<string, SourceDocument> {
  const index = new Map<string, SourceDocument>();
  for (const doc of documents) if (doc.ref) index.set(objectKey(doc.ref), doc);
  return index;
}

export function describeObjectChange(entry: ObjectDiffEntry): string {
  return `${entry.change} ${entry.ref.apiVersion} ${describeRef(entry.ref)}`;
}
