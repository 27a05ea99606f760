// The objects a rule judges: what the change renders to (when builds exist) or its source documents,
// each located on a source line so that findings land where a person can fix them.
import { isDeepStrictEqual } from "node:util";
import type { KubeObject, SourceDocument } from "../../src/core/fleet.js";
import { apiGroup, asKubeObject, objectKey, refOf } from "../../src/core/fleet.js";
import { folderOf, isKustomizationFile } from "../../src/core/build/kustomization.js";
import { isFluxKustomization } from "../../src/core/flux.js";
import type { Build, ObjectRef, RuleContext, RuleFinding, Severity, Territory } from "../../src/core/types.js";
import { isRecord, valueAt } from "../../src/core/values.js";
import type { YamlPath } from "../../src/core/yaml.js";
import { inlinePatchLine, json6902Line, kustomizationPrefix } from "./inline-patches.js";
import { tenantOfFluxObject } from "./tenancy.js";

export interface LocatedObject {
  object: KubeObject;
  ref: ObjectRef;
  /** The source file a finding goes on. */
  path: string;
  /** The source document, when the object can be traced to one (rendered objects usually can). */
  doc?: SourceDocument;
  /** The line of the object's document (or the line that brought it in). */
  line: number;
  /** Set when the object comes from a rendered build: its name. */
  build?: string;
  territory: Territory;
  /**
   * For a rendered object: changed documents of its kind and name (overlay patches), which may write its fields,
   * those in the build's own folder first.
   */
  patches?: SourceDocument[];
  /**
   * For a rendered object: the changed kustomization files of its build (the root's, and those of the folders that
   * hold its file) and the build's deploying Flux Kustomization when changed. They may set its fields themselves:
   * `namespace:` / `spec.targetNamespace`, and inline patches.
   */
  kustomizations?: SourceDocument[];
}

/**
 * Objects to judge: every rendered object of the affected builds, and every Kubernetes object in the
 * changed files that no build rendered (no kustomize, or a file outside every build).
 */
export function objectsToCheck(context: RuleContext): LocatedObject[] {
  const located: LocatedObject[] = [];
  const rendered = new Set<string>();
  const changedByName = new Map<string, SourceDocument[]>();
  for (const doc of context.changedDocuments) {
    if (!doc.ref) continue;
    const key = `${doc.ref.kind}/${doc.ref.name}`;
    let named = changedByName.get(key);
    if (!named) changedByName.set(key, (named = []));
    named.push(doc);
  }
  const changedKustomizations = context.changedDocuments.filter((doc) => isKustomizationFile(doc.path));
  for (const build of context.builds) {
    const deployedFor = deployerTerritory(context, build);
    // Patches inside the build's own folder first: another overlay may patch the same object differently.
    const root = build.report.path;
    const inRoot = (doc: SourceDocument) => (root === "" || doc.path.startsWith(`${root}/`) ? 0 : 1);
    const deployer = build.deployer && changedDeployer(context, build.deployer);
    for (const item of build.objects) {
      const path = item.source?.path ?? build.report.path;
      // The root's own kustomization, and those of the folders that hold the object's file (its bases).
      const ofBuild = (doc: SourceDocument) => {
        const folder = folderOf(doc.path);
        return folder === root || (folder !== "" && path.startsWith(`${folder}/`));
      };
      const kustomizations = [...changedKustomizations.filter(ofBuild), ...(deployer ? [deployer] : [])];
      const doc = item.source ? findSourceDocument(context, item.source.path, item.ref, item.source.line) : undefined;
      // Changed documents of the object's kind under its rendered name or its name as written.
      const names = new Set([item.ref.name, ...(doc?.ref ? [doc.ref.name] : [])]);
      const patches = [...names]
        .flatMap((name) => changedByName.get(`${item.ref.kind}/${name}`) ?? [])
        .filter((patch) => patch !== doc)
        .sort((a, b) => inRoot(a) - inRoot(b));
      located.push({
        object: item.object as KubeObject,
        ref: item.ref,
        path,
        ...(doc ? { doc } : {}),
        line: doc?.startLine ?? item.source?.line ?? 1,
        build: build.report.name,
        territory: deployedFor ?? context.territory(path),
        ...(patches.length > 0 ? { patches } : {}),
        ...(kustomizations.length > 0 ? { kustomizations } : {}),
      });
      if (doc) rendered.add(`${doc.path}#${doc.startLine}`);
    }
  }
  for (const doc of context.changedDocuments) {
    if (!doc.object || !doc.ref || rendered.has(`${doc.path}#${doc.startLine}`)) continue;
    located.push({ object: doc.object, ref: doc.ref, path: doc.path, doc, line: doc.startLine, territory: context.territory(doc.path) });
  }
  return located;
}

/**
 * A tenant's territory when a tenant's Flux Kustomization applies the build: it applies every object with the
 * tenant's account, including platform manifests it pulls in from elsewhere in the repository.
 */
function deployerTerritory(context: RuleContext, build: Build): Territory | undefined {
  const object = build.deployer ? asKubeObject(build.deployer.object) : undefined;
  if (!build.deployer || !object) return undefined;
  const deployer: LocatedObject = { object, ref: refOf(object), path: build.deployer.path, line: build.deployer.line, territory: context.territory(build.deployer.path) };
  const tenant = tenantOfFluxObject(context, deployer);
  return tenant ? { kind: "tenant", tenant } : undefined;
}

/** The document of the build's deploying Flux Kustomization, when the change touched it. */
function changedDeployer(context: RuleContext, deployer: NonNullable<Build["deployer"]>): SourceDocument | undefined {
  return context.changedDocuments.find((doc) => doc.path === deployer.path && doc.startLine <= deployer.line && deployer.line <= doc.endLine && isFluxKustomization(doc.ref));
}

/**
 * The document of `path` that declares the object (same kind and name), preferring the one at `line`.
 * None when `line` is the entry that brought the object in (a kustomization's `resources:` item).
 */
function findSourceDocument(context: RuleContext, path: string, ref: ObjectRef, line: number): SourceDocument | undefined {
  const documents = context.head.file(path)?.documents ?? [];
  const atLine = documents.find((doc) => doc.startLine <= line && line <= doc.endLine);
  // Same kind in the same API group: a kustomization.yaml is a "Kustomization" too, but not Flux's.
  const sameKind = (doc: SourceDocument) => doc.ref?.kind === ref.kind && apiGroup(doc.ref.apiVersion) === apiGroup(ref.apiVersion);
  if (atLine && sameKind(atLine)) return atLine;
  return documents.find((doc) => sameKind(doc) && doc.ref?.name === ref.name);
}

/**
 * Where a YAML path of a located object is written: the key's line in its source document when that says what
 * was rendered; else in a changed patch of the object that does (an overlay's); else in a changed kustomization of
 * its build that sets the value (its `namespace:`, an inline patch); else the key's line in the source document all
 * the same (a kustomize transformer, such as `images:`, changed the value), else the object's line. `own`: the
 * place is in the object's own file, where the rule's fix applies.
 */
export function placeOf(target: LocatedObject, path: YamlPath): { path: string; line: number; own: boolean } {
  const rendered = valueAt(target.object, path);
  // Only a scalar tells one document's writing from another's: a mapping is merged from several.
  const scalar = rendered !== undefined && !isRecord(rendered) && !Array.isArray(rendered);
  const writes = (doc: SourceDocument) => doc.keyLine(path) !== undefined && (isRecord(rendered) || Array.isArray(rendered) || isDeepStrictEqual(valueAt(doc.value, path), rendered));
  if (target.doc && writes(target.doc)) return { path: target.path, line: target.doc.keyLine(path)!, own: true };
  const patch = rendered === undefined ? undefined : target.patches?.find(writes);
  if (patch) return { path: patch.path, line: patch.keyLine(path)!, own: false };
  const kustomization = scalar ? kustomizationPlace(target, path, rendered) : undefined;
  if (kustomization) return { ...kustomization, own: false };
  return { path: target.path, line: target.doc?.keyLine(path) ?? target.line, own: true };
}

/** The line of a changed kustomization of the object's build that sets the scalar at `path` to `rendered`. */
function kustomizationPlace(target: LocatedObject, path: YamlPath, rendered: unknown): { path: string; line: number } | undefined {
  const kustomizations = target.kustomizations ?? [];
  if (path.length === 2 && path[0] === "metadata" && path[1] === "namespace") {
    for (const doc of kustomizations) {
      const key = kustomizationPrefix(doc)?.length === 0 ? ["namespace"] : ["spec", "targetNamespace"];
      const line = doc.keyLine(key);
      if (line !== undefined && valueAt(doc.value, key) === rendered) return { path: doc.path, line };
    }
  }
  const field = path[path.length - 1];
  const inline = typeof field === "string" ? inlinePatchLine(kustomizations, target, field, rendered) : undefined;
  if (!inline) return undefined;
  if (inline.sets) return { path: inline.doc.path, line: inline.line };
  // A JSON6902 operation names the field on one line (its `path:`) and sets it on another.
  const line = json6902Line(inline, path, rendered);
  return line === undefined ? undefined : { path: inline.doc.path, line };
}

/** A finding on a located object, carrying what the engine needs for exceptions and pre-existing matching. */
export function findingOn(
  target: LocatedObject,
  path: YamlPath,
  message: string,
  extra: { severity?: Severity; fix?: RuleFinding["fix"]; endLine?: number } = {},
): RuleFinding {
  const { path: file, line, own } = placeOf(target, path);
  // The rule's end line and fix are lines of the object's own file: they do not apply to the patch it moved to.
  const moved = !own;
  return {
    path: file,
    line,
    endLine: moved ? line : (extra.endLine ?? line),
    message,
    object: target.ref,
    ...(target.build ? { build: target.build } : {}),
    ...(extra.severity ? { severity: extra.severity } : {}),
    ...(extra.fix && !moved ? { fix: extra.fix } : {}),
  };
}

/** Errors in tenant territory, warnings in platform territory (node agents and CNI plugins need host access). */
export function territorySeverity(target: LocatedObject): Severity {
  return target.territory.kind === "tenant" ? "error" : "warning";
}

export function sameObject(a: ObjectRef, b: ObjectRef): boolean {
  return objectKey(a) === objectKey(b);
}

/** The indentation (spaces) of a 1-based line of a source document's file. */
export function indentOf(doc: SourceDocument, line: number): string {
  return /^\s*/.exec(doc.file.lines[line - 1] ?? "")?.[0] ?? "";
}
