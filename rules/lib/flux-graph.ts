// The Flux graph of a tree, without running kustomize: which Flux objects each cluster applies (walking
// clusters/<name>/ and the spec.path of every Kustomization that reads this repository, through
// kustomization.yaml resources), with overlay patches and namespaces applied to their spec, and where
// every spec field was last written so that findings land on the line to fix.
import { isDeepStrictEqual } from "node:util";
import { posix } from "node:path";
import { folderOf, foldersOf, isKustomizationFile, kustomizationFileIn } from "../../src/core/build/kustomization.js";
import { isFluxApi, isYamlPath, mayMention, type FleetModel, type SourceDocument } from "../../src/core/fleet.js";
import { canonicalGitUrl, FLUX_SYSTEM, isFluxKustomization, normalizeRepoPath, specOf } from "../../src/core/flux.js";
import { asArray, asRecord, escapeRegExp, isRecord, valueAt } from "../../src/core/values.js";
import type { ObjectRef, RuleContext, RuleFinding, Severity } from "../../src/core/types.js";
import { parseYamlSafely, type YamlPath } from "../../src/core/yaml.js";
import { applyJsonPatchOperation, jsonPatchOperations, ownValue, setOwn } from "./json-patch.js";
import { findingOn, indentOf, type LocatedObject } from "./objects.js";
import { selectsPatchTarget, type PatchCandidate } from "./patch-target.js";

const CLUSTERS_DIR = "clusters";
/** Guards the walk against kustomizations that include each other. */
const MAX_DEPTH = 32;

/** Where a value was written: a document and the YAML path inside it. */
export interface Origin {
  doc: SourceDocument;
  path: YamlPath;
  /** For a patch: whether it writes the spec field at `specPath` (or a value above it), and the field's origin before it. */
  writes?: (specPath: YamlPath) => boolean;
  previous?: Origin;
  /** Where the field at `specPath` was before this patch: an insertion or removal in a list moves the items after it. */
  before?: (specPath: YamlPath) => YamlPath;
  /** A strategic-merge patch document: it holds every field it writes at the object's place (`path` is its spec). */
  holdsFields?: true;
}

/** A Flux object as one cluster applies it. The same document can appear once per cluster. */
export interface ClusterObject {
  doc: SourceDocument;
  /** The `clusters/<name>` folder name, or "" when no cluster reaches the object. */
  cluster: string;
  /** With the namespace it is applied in (kustomization `namespace:`, Flux `targetNamespace`). */
  ref: ObjectRef;
  /** The spec after overlay and Flux patches. */
  spec: Record<string, unknown>;
  /** Where each top-level spec field was last patched (earlier patches in `previous`); fields absent here come from `doc`. */
  specOrigin: Map<string, Origin>;
}

export interface FluxGraph {
  clusters: string[];
  objects: ClusterObject[];
  /** Flux Kustomizations (kustomize.toolkit.fluxcd.io), per cluster. */
  kustomizations: ClusterObject[];
  /** True for documents that a kustomization uses as a patch: partial objects, never applied alone. */
  isPatch(doc: SourceDocument): boolean;
  find(cluster: string, kind: string, namespace: string | undefined, name: string): ClusterObject | undefined;
  /** The object a Kustomization's `spec.sourceRef` names, in its cluster. */
  sourceOf(kustomization: ClusterObject): ClusterObject | undefined;
  /** True when the Kustomization's source is this repository (the branch the cluster itself syncs). */
  readsThisRepository(kustomization: ClusterObject): boolean;
  /** Files (repository paths) the Kustomization builds, as far as they can be resolved without kustomize. */
  appliedFiles(kustomization: ClusterObject): readonly string[];
}

const graphs = new WeakMap<FleetModel, FluxGraph>();

export function fluxGraph(model: FleetModel): FluxGraph {
  let graph = graphs.get(model);
  if (!graph) {
    graph = buildGraph(model);
    graphs.set(model, graph);
  }
  return graph;
}

/** A rule's `prepare`: the graph is built once per model, whichever rule asks first. */
export function prepareFluxGraph(model: FleetModel): void {
  fluxGraph(model);
}

/**
 * The Flux objects a change touches, as the clusters apply them: declared in a changed file, or patched from
 * one. Judging these (rather than rendered output) puts each finding, and its fix, where the field was written.
 */
export function changedFluxObjects(context: RuleContext): ClusterObject[] {
  const changed = new Set(context.changedFiles.map((file) => file.path));
  return fluxGraph(context.head).objects.filter((object) => writtenIn(object, changed));
}

/** True when the object is declared, or its spec patched, in one of the `files`. */
export function writtenIn(object: ClusterObject, files: ReadonlySet<string>): boolean {
  if (files.has(object.doc.path)) return true;
  for (const latest of object.specOrigin.values()) {
    for (let origin: Origin | undefined = latest; origin; origin = origin.previous) if (files.has(origin.doc.path)) return true;
  }
  return false;
}

/** True when a Kustomization of the cluster (other than `except`) applies another repository, which may define objects this one does not. */
export function clusterReadsOtherRepositories(graph: FluxGraph, cluster: string, except?: ClusterObject): boolean {
  return graph.kustomizations.some((other) => other !== except && other.cluster === cluster && !graph.readsThisRepository(other));
}

/** A fix replacing the value of a spec field where it was written; none when a JSON6902 patch wrote it. */
export function replaceSpecValueFix(object: ClusterObject, specPath: YamlPath, value: string, description: string): RuleFinding["fix"] {
  const origin = originOf(object, specPath);
  return isDeepStrictEqual(origin.path, ["spec", ...specPath]) ? replaceValueFix(origin.doc, origin.path, value, description) : undefined;
}

/** The file and line where a spec field of the object was last written (a patch, or the object itself). */
export function originOf(object: ClusterObject, specPath: YamlPath): Origin {
  const [field] = specPath;
  let origin = typeof field === "string" ? object.specOrigin.get(field) : undefined;
  // The last patch that wrote the field itself: one of spec.chart.spec.version says nothing of spec.chart.spec.interval.
  let path = specPath;
  while (origin?.writes && !origin.writes(path)) {
    path = origin.before?.(path) ?? path;
    origin = origin.previous;
  }
  if (!origin) return { doc: object.doc, path: ["spec", ...path] };
  // A strategic-merge patch document holds the field at the same place; an inline patch or JSON6902 operation is
  // found at its entry (in a kustomization, or a Flux Kustomization's spec.patches).
  return origin.holdsFields ? { doc: origin.doc, path: ["spec", ...path] } : origin;
}

/** A finding on a spec field of a cluster object, placed where that field was written. */
export function findingOnSpec(
  context: RuleContext,
  object: ClusterObject,
  specPath: YamlPath,
  message: string,
  extra: { severity?: Severity; fix?: RuleFinding["fix"] } = {},
): RuleFinding {
  const origin = originOf(object, specPath);
  return findingOn(locatedDocument(context, origin.doc, object.ref), nearestKeyPath(origin), message, extra);
}

/**
 * A source document as a LocatedObject, for findingOn. `ref` names the object the finding is about: the
 * document's own, or, for a patch document (possibly a bare JSON6902 list), the object it patches.
 */
export function locatedDocument(context: RuleContext, doc: SourceDocument, ref: ObjectRef): LocatedObject {
  return {
    object: doc.object ?? { apiVersion: ref.apiVersion, kind: ref.kind, metadata: {} },
    ref,
    path: doc.path,
    doc,
    line: doc.startLine,
    territory: context.territory(doc.path),
  };
}

/** The longest prefix of the origin's path that the document has (a field may be absent: point at its parent). */
function nearestKeyPath(origin: Origin): YamlPath {
  for (let length = origin.path.length; length > 0; length--) {
    const path = origin.path.slice(0, length);
    if (origin.doc.keyLine(path) !== undefined) return path;
  }
  return [];
}

/**
 * A fix that inserts `block` (lines relative to the mapping's indentation) as the first fields of the block
 * mapping at `path` (e.g. ["spec"]), keeping the file's indentation. Undefined when it is not a block mapping.
 */
export function insertUnderFix(doc: SourceDocument, path: YamlPath, block: string[], description: string): RuleFinding["fix"] {
  const keyLine = doc.keyLine(path);
  const firstKey = Object.keys(asRecord(valueAt(doc.value, path)))[0];
  const childLine = firstKey === undefined ? undefined : doc.keyLine([...path, firstKey]);
  if (keyLine === undefined || childLine === undefined || childLine === keyLine) return undefined;
  const indent = indentOf(doc, childLine);
  return {
    line: keyLine,
    endLine: keyLine,
    replacement: [doc.file.lines[keyLine - 1]!, ...block.map((text) => `${indent}${text}`)].join("\n"),
    description,
  };
}

/** A fix replacing the scalar at `keyPath` on its line, keeping the key, its indentation and any trailing comment. */
export function replaceValueFix(doc: SourceDocument, keyPath: YamlPath, value: string, description: string): RuleFinding["fix"] {
  const line = doc.keyLine(keyPath);
  const key = keyPath[keyPath.length - 1];
  if (line === undefined || typeof key !== "string" || doc.valueEndLine(keyPath) !== line) return undefined;
  const text = doc.file.lines[line - 1]!;
  const match = new RegExp(`^(\\s*(?:-\\s+)?${escapeRegExp(key)}:\\s*)("[^"]*"|'[^']*'|[^\\s#]+)(.*)$`).exec(text);
  if (!match) return undefined;
  return { line, endLine: line, replacement: `${match[1]}${value}${match[3]}`, description };
}

// ---------------------------------------------------------------------------------------------------------
// Building the graph

interface Entry {
  doc: SourceDocument;
  namespace?: string;
  spec: Record<string, unknown>;
  specOrigin: Map<string, Origin>;
}

interface Resolution {
  entries: Entry[];
  files: Set<string>;
}

function buildGraph(model: FleetModel): FluxGraph {
  const directories = foldersOf(model.paths());
  const patchFiles = findPatchFiles(model);
  const resolver = new Resolver(model, directories);
  const objects: ClusterObject[] = [];
  // Indexes over `objects` (a fleet applies thousands): the first object under a name wins, as in a scan.
  const byName = new Map<string, ClusterObject>();
  const placed = new Map<SourceDocument, Set<string>>();
  const nameKey = (cluster: string, kind: string, namespace: string | undefined, name: string) => JSON.stringify([cluster, kind, namespace ?? null, name]);
  const add = (object: ClusterObject) => {
    objects.push(object);
    const key = nameKey(object.cluster, object.ref.kind, object.ref.namespace, object.ref.name);
    if (!byName.has(key)) byName.set(key, object);
    let clusters = placed.get(object.doc);
    if (!clusters) placed.set(object.doc, (clusters = new Set()));
    clusters.add(object.cluster);
  };
  const applied = new Map<ClusterObject, readonly string[]>();
  const reached = new Set<SourceDocument>();
  const reachedFiles = new Set<string>();
  const reachedFolders = new Set<string>();

  const clusters = [...directories].filter((dir) => dir.startsWith(`${CLUSTERS_DIR}/`) && dir.split("/").length === 2).map((dir) => dir.split("/")[1]!);
  const syncSources = clusterSyncSources(model);

  for (const cluster of clusters) {
    const root = `${CLUSTERS_DIR}/${cluster}`;
    const visited = new Set([root]);
    const rootResolution = resolver.resolve(root);
    const queue = rootResolution.entries;
    for (const file of rootResolution.files) reachedFiles.add(file);
    for (let i = 0; i < queue.length; i++) {
      const entry = queue[i]!;
      const object = toClusterObject(entry, cluster);
      if (placed.get(entry.doc)?.has(cluster)) continue;
      add(object);
      reached.add(entry.doc);
      if (!isFluxKustomization(object.ref) || !readsThisRepository(object)) continue;
      const path = normalizeRepoPath(typeof object.spec.path === "string" ? object.spec.path : "");
      if (path === undefined) continue;
      // Thousands of Kustomizations can name one folder: its files are listed once, its objects copied once per cluster.
      const files = resolver.files(path);
      applied.set(object, files);
      if (!reachedFolders.has(path)) for (const file of files) reachedFiles.add(file);
      reachedFolders.add(path);
      if (visited.has(path)) continue;
      visited.add(path);
      // One by one: spreading a folder of 100,000+ objects into push overflows the stack.
      for (const copy of applyFluxKustomization(object, resolver.resolve(path).entries)) queue.push(copy);
    }
  }

  // What no cluster reaches (a tenant repository, a fleet without clusters/): each top-level kustomization
  // (one that no other includes) as kustomize would build it, overlay patches applied; then the bare documents.
  const unreachedKustomizations = model.paths().filter((path) => isKustomizationFile(path) && !reachedFiles.has(path));
  const unreachedRoots = unreachedKustomizations.map((path) => ({ path, resolution: resolver.resolve(folderOf(path)) }));
  const included = new Set(unreachedRoots.flatMap(({ path, resolution }) => [...resolution.files].filter((file) => file !== path)));
  for (const { resolution } of unreachedRoots.filter(({ path }) => !included.has(path))) {
    const seen = new Set<SourceDocument>();
    for (const entry of resolution.entries) {
      if (reached.has(entry.doc) || seen.has(entry.doc)) continue;
      seen.add(entry.doc);
      add(toClusterObject(entry, ""));
    }
  }
  const unreached = new Set(objects.filter((object) => object.cluster === "").map((object) => object.doc));
  for (const doc of model.fluxObjects()) {
    if (reached.has(doc) || unreached.has(doc) || patchFiles.has(doc.path)) continue;
    add(toClusterObject({ doc, ...(doc.ref?.namespace ? { namespace: doc.ref.namespace } : {}), spec: specOf(doc), specOrigin: new Map() }, ""));
  }

  function find(cluster: string, kind: string, namespace: string | undefined, name: string): ClusterObject | undefined {
    return byName.get(nameKey(cluster, kind, namespace, name));
  }

  function sourceOf(kustomization: ClusterObject): ClusterObject | undefined {
    const sourceRef = asRecord(kustomization.spec.sourceRef);
    if (typeof sourceRef.name !== "string") return undefined;
    const namespace = typeof sourceRef.namespace === "string" ? sourceRef.namespace : kustomization.ref.namespace;
    return find(kustomization.cluster, typeof sourceRef.kind === "string" ? sourceRef.kind : "GitRepository", namespace, sourceRef.name);
  }

  function readsThisRepository(kustomization: ClusterObject): boolean {
    const sourceRef = asRecord(kustomization.spec.sourceRef);
    if ((sourceRef.kind ?? "GitRepository") !== "GitRepository" || typeof sourceRef.name !== "string") return false;
    const namespace = typeof sourceRef.namespace === "string" ? sourceRef.namespace : (kustomization.ref.namespace ?? FLUX_SYSTEM);
    if (sourceRef.name === FLUX_SYSTEM && namespace === FLUX_SYSTEM) return true;
    // Another GitRepository reads this repository when it names the same URL and branch as the cluster's own sync.
    const sync = syncSources.get(kustomization.cluster);
    const source = sourceOf(kustomization);
    return sync !== undefined && source !== undefined && sameGitSource(specOf(sync), source.spec);
  }

  const kustomizations = objects.filter((object) => isFluxKustomization(object.ref));
  return {
    clusters,
    objects,
    kustomizations,
    isPatch: (doc) => patchFiles.has(doc.path),
    find,
    sourceOf,
    readsThisRepository,
    appliedFiles: (kustomization) => applied.get(kustomization) ?? [],
  };
}

function toClusterObject(entry: Entry, cluster: string): ClusterObject {
  const ref = { ...entry.doc.ref! };
  delete ref.namespace;
  return { doc: entry.doc, cluster, ref: entry.namespace ? { ...ref, namespace: entry.namespace } : ref, spec: entry.spec, specOrigin: entry.specOrigin };
}

/** What a Flux Kustomization does to the objects it applies: `spec.patches`, then `spec.targetNamespace`. */
function applyFluxKustomization(kustomization: ClusterObject, entries: Entry[]): Entry[] {
  const patches = Array.isArray(kustomization.spec.patches) ? kustomization.spec.patches : [];
  const patchOrigin = originOf(kustomization, ["patches"]);
  patches.forEach((patch, index) => {
    const origin = { doc: patchOrigin.doc, path: [...patchOrigin.path, index] };
    applyPatchEntry(entries, asRecord(patch), origin);
  });
  const targetNamespace = kustomization.spec.targetNamespace;
  if (typeof targetNamespace === "string" && targetNamespace !== "") {
    for (const entry of entries) entry.namespace = targetNamespace;
  }
  // The objects may be applied by several Kustomizations: each gets its own copy.
  return entries.map((entry) => ({ ...entry, spec: structuredClone(entry.spec), specOrigin: new Map(entry.specOrigin) }));
}

/**
 * Each cluster's own GitRepository (flux-system/flux-system under clusters/<name>/), when it is committed: the
 * first in the tree. Indexed in one pass, not searched per cluster: a pull request can add thousands of each.
 */
function clusterSyncSources(model: FleetModel): Map<string, SourceDocument> {
  const sources = new Map<string, SourceDocument>();
  for (const doc of model.fluxObjectsOfKind("GitRepository")) {
    const [top, cluster, ...rest] = doc.path.split("/");
    if (top !== CLUSTERS_DIR || cluster === undefined || rest.length === 0 || sources.has(cluster)) continue;
    if (doc.ref?.name === FLUX_SYSTEM && (doc.ref.namespace ?? FLUX_SYSTEM) === FLUX_SYSTEM) sources.set(cluster, doc);
  }
  return sources;
}

function sameGitSource(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const url = (spec: Record<string, unknown>) => (typeof spec.url === "string" ? canonicalGitUrl(spec.url) : undefined);
  const branch = (spec: Record<string, unknown>) => JSON.stringify(asRecord(spec.ref));
  return url(a) !== undefined && url(a) === url(b) && branch(a) === branch(b);
}

/** Every file used as a patch by some kustomization of the tree (`patches[].path`, `patchesStrategicMerge`, `patchesJson6902[].path`). */
function findPatchFiles(model: FleetModel): Set<string> {
  const files = new Set<string>();
  for (const path of model.paths().filter(isKustomizationFile)) {
    const kustomization = asRecord(model.file(path)?.documents[0]?.value);
    const dir = posix.dirname(path);
    const entries = [...asArray(kustomization.patches), ...asArray(kustomization.patchesJson6902), ...asArray(kustomization.patchesStrategicMerge)];
    for (const entry of entries) {
      const file = typeof entry === "string" ? entry : asRecord(entry).path;
      // An inline strategic-merge patch in patchesStrategicMerge is YAML text, not a path.
      if (typeof file !== "string" || file.includes("\n")) continue;
      const resolved = normalizeRepoPath(posix.join(dir, file));
      if (resolved !== undefined) files.add(resolved);
    }
  }
  return files;
}

/** The tree as folders: each one's own files and sub-folders, and where every path and folder comes in the tree's order. */
interface FolderIndex {
  contents: Map<string, { files: string[]; folders: string[] }>;
  pathOrder: Map<string, number>;
  folderOrder: Map<string, number>;
}

class Resolver {
  private readonly resolved = new Map<string, Resolution>();
  private readonly fileLists = new Map<string, readonly string[]>();
  private folderIndex?: FolderIndex;

  constructor(
    private readonly model: FleetModel,
    private readonly directories: ReadonlySet<string>,
  ) {}

  /**
   * The Flux objects a folder renders to, with their files. Without a kustomization file, Flux generates one
   * from every YAML file below the folder, sub-folders with their own kustomization file added as a whole.
   * Each call returns its own copy of the entries: callers patch them.
   */
  resolve(dir: string, depth = 0): Resolution {
    const resolution = this.resolution(dir, depth);
    return {
      entries: resolution.entries.map((entry) => ({ ...entry, spec: structuredClone(entry.spec), specOrigin: new Map(entry.specOrigin) })),
      files: new Set(resolution.files),
    };
  }

  /** The files of the folder's resolution, as one list that every caller shares (to read, not to change). */
  files(dir: string): readonly string[] {
    let files = this.fileLists.get(dir);
    if (!files) this.fileLists.set(dir, (files = [...this.resolution(dir, 0).files]));
    return files;
  }

  private resolution(dir: string, depth: number): Resolution {
    let resolution = this.resolved.get(dir);
    if (!resolution) {
      resolution = this.resolveOnce(dir, depth);
      if (depth <= MAX_DEPTH) this.resolved.set(dir, resolution);
    }
    return resolution;
  }

  private exists(path: string): boolean {
    return this.model.exists(path);
  }

  private kustomizationFile(dir: string): string | undefined {
    return kustomizationFileIn(dir, (path) => this.exists(path));
  }

  private resolveOnce(dir: string, depth: number): Resolution {
    const resolution: Resolution = { entries: [], files: new Set() };
    if (depth > MAX_DEPTH) return resolution;
    const kustomizationPath = this.kustomizationFile(dir);
    if (!kustomizationPath) {
      this.generate(dir, depth, resolution);
      return resolution;
    }
    resolution.files.add(kustomizationPath);
    const kustomizationDoc = this.model.file(kustomizationPath)?.documents[0];
    const kustomization = asRecord(kustomizationDoc?.value);
    for (const resource of [...asArray(kustomization.resources), ...asArray(kustomization.bases), ...asArray(kustomization.components)]) {
      if (typeof resource !== "string" || /^[a-z0-9+.-]+:\/\/|^github\.com\/|\?ref=/i.test(resource)) continue;
      const path = normalizeRepoPath(posix.join(dir, resource));
      if (path === undefined) continue;
      if (this.directories.has(path) || path === "") this.merge(resolution, this.resolve(path, depth + 1));
      else this.addFile(path, resolution);
    }
    // Generator inputs are applied too (as Secrets and ConfigMaps): `files: [key=path]`, `envs: [path]`.
    for (const generator of [...asArray(kustomization.secretGenerator), ...asArray(kustomization.configMapGenerator)].map(asRecord)) {
      for (const input of [...asArray(generator.files), ...asArray(generator.envs), generator.env]) {
        const path = typeof input === "string" ? normalizeRepoPath(posix.join(dir, input.replace(/^[^=]*=/, ""))) : undefined;
        if (path !== undefined && this.exists(path)) resolution.files.add(path);
      }
    }
    // Patches only matter here for the Flux objects they reach: without any, the patch files need not be parsed.
    if (kustomizationDoc && resolution.entries.length > 0) this.applyPatches(kustomizationDoc, kustomization, dir, resolution);
    if (typeof kustomization.namespace === "string" && kustomization.namespace !== "") {
      for (const entry of resolution.entries) entry.namespace = kustomization.namespace;
    }
    return resolution;
  }

  /**
   * Walks the folder down to the sub-folders with a kustomization file (the outermost ones: what is below them
   * is theirs), so that it costs the folder's own size, not the tree's: a pull request controls both.
   */
  private generate(dir: string, depth: number, resolution: Resolution): void {
    const { contents, pathOrder, folderOrder } = (this.folderIndex ??= indexFolders(this.model.paths(), this.directories));
    const files: string[] = [];
    const nested: string[] = [];
    for (const pending = [dir]; pending.length > 0; ) {
      const content = contents.get(pending.pop()!);
      for (const path of content?.files ?? []) if (isYamlPath(path)) files.push(path);
      for (const sub of content?.folders ?? []) (this.kustomizationFile(sub) ? nested : pending).push(sub);
    }
    // In the tree's order, as a scan of the whole tree would add them.
    for (const path of files.sort((a, b) => pathOrder.get(a)! - pathOrder.get(b)!)) this.addFile(path, resolution);
    for (const sub of nested.sort((a, b) => folderOrder.get(a)! - folderOrder.get(b)!)) this.merge(resolution, this.resolve(sub, depth + 1));
  }

  private addFile(path: string, resolution: Resolution): void {
    resolution.files.add(path);
    // Only files that mention Flux's API groups can hold Flux objects: the others need not be parsed.
    const documents = mayMention(this.model.readText(path) ?? "", ".fluxcd.io/") ? (this.model.file(path)?.documents ?? []) : [];
    for (const doc of documents) {
      if (!doc.ref || !isFluxApi(doc.ref.apiVersion)) continue;
      resolution.entries.push({ doc, ...(doc.ref.namespace ? { namespace: doc.ref.namespace } : {}), spec: structuredClone(specOf(doc)), specOrigin: new Map() });
    }
  }

  private merge(into: Resolution, from: Resolution): void {
    // One by one, as in buildGraph: a spread overflows the stack past about 100,000 entries.
    for (const entry of from.entries) into.entries.push(entry);
    for (const file of from.files) into.files.add(file);
  }

  private applyPatches(kustomizationDoc: SourceDocument, kustomization: Record<string, unknown>, dir: string, resolution: Resolution): void {
    const lists: Array<[string, unknown[]]> = [
      ["patches", asArray(kustomization.patches)],
      ["patchesStrategicMerge", asArray(kustomization.patchesStrategicMerge)],
      ["patchesJson6902", asArray(kustomization.patchesJson6902)],
    ];
    for (const [key, list] of lists) {
      list.forEach((item, index) => {
        const entry = typeof item === "string" ? (item.includes("\n") ? { patch: item } : { path: item }) : asRecord(item);
        if (typeof entry.path === "string") {
          const path = normalizeRepoPath(posix.join(dir, entry.path));
          const target = asRecord(entry.target);
          if (path === undefined || !mayPatch(this.model.readText(path) ?? "", target, resolution.entries)) return;
          for (const doc of this.model.file(path)?.documents ?? []) applyPatch(resolution.entries, doc.value, target, { doc, path: [] });
        } else {
          applyPatchEntry(resolution.entries, entry, { doc: kustomizationDoc, path: [key, index] });
        }
      });
    }
  }
}

function indexFolders(paths: readonly string[], directories: ReadonlySet<string>): FolderIndex {
  const parentOf = (path: string) => path.slice(0, Math.max(0, path.lastIndexOf("/")));
  const contents = new Map([...directories].map((folder) => [folder, { files: [] as string[], folders: [] as string[] }]));
  const folderOrder = new Map<string, number>();
  for (const folder of directories) {
    folderOrder.set(folder, folderOrder.size);
    if (folder !== "") contents.get(parentOf(folder))!.folders.push(folder);
  }
  const pathOrder = new Map<string, number>();
  for (const path of paths) {
    pathOrder.set(path, pathOrder.size);
    contents.get(parentOf(path))!.files.push(path);
  }
  return { contents, pathOrder, folderOrder };
}

/**
 * Whether a patch file can reach any of the Flux objects, told without parsing it: a fleet's overlays patch its
 * Deployments and ConfigMaps, hundreds of files that need not be parsed to judge a change. A targeted patch
 * reaches what its target selects; an untargeted one is a strategic-merge patch that names the kind it patches
 * (kustomize refuses an untargeted JSON6902 patch, and one without a kind).
 */
function mayPatch(text: string, target: Record<string, unknown>, entries: readonly Entry[]): boolean {
  if (Object.keys(target).length > 0) return entries.some((entry) => selectsPatchTarget(target, candidateOf(entry)));
  return entries.some((entry) => mayMention(text, entry.doc.ref!.kind));
}

/** A `{patch: "<yaml text>", target}` entry of a kustomization or of a Flux Kustomization's spec.patches. */
function applyPatchEntry(entries: Entry[], entry: Record<string, unknown>, origin: Origin): void {
  if (typeof entry.patch !== "string") return;
  const parsed = parseYamlSafely(entry.patch, origin.doc.path);
  const value = parsed.documents[0]?.value;
  if (!parsed.error && value !== undefined) applyPatch(entries, value, asRecord(entry.target), origin);
}

/** A strategic-merge patch (an object) or a JSON6902 patch (a list of operations) applied to matching Flux objects. */
function applyPatch(entries: Entry[], patch: unknown, target: Record<string, unknown>, origin: Origin): void {
  if (Array.isArray(patch)) {
    for (const entry of entries.filter((candidate) => selectsPatchTarget(target, candidateOf(candidate)))) applyJson6902(entry, patch, origin);
    return;
  }
  const object = asRecord(patch);
  const metadata = asRecord(object.metadata);
  const selector = Object.keys(target).length > 0 ? target : { kind: object.kind, name: metadata.name };
  const spec = asRecord(object.spec);
  for (const entry of entries.filter((candidate) => selectsPatchTarget(selector, candidateOf(candidate)))) {
    for (const [field, value] of Object.entries(spec)) {
      setOwn(entry.spec, field, mergeValue(ownValue(entry.spec, field), value));
      const at = origin.path.length === 0 ? { doc: origin.doc, path: ["spec", field], holdsFields: true as const } : origin;
      // Merged: the patch writes the paths it holds, and whatever lies below a value that is not a map.
      entry.specOrigin.set(field, { ...at, writes: (specPath) => holds(spec, specPath), previous: entry.specOrigin.get(field) });
    }
  }
}

function holds(value: unknown, path: YamlPath): boolean {
  let current = value;
  for (const key of path) {
    if (!isRecord(current)) return true;
    if (!Object.hasOwn(current, key)) return false;
    current = current[key];
  }
  return true;
}

function applyJson6902(entry: Entry, operations: unknown[], origin: Origin): void {
  for (const operation of jsonPatchOperations(operations)) {
    const [root, field] = operation.path;
    if (root !== "spec" || field === undefined) continue;
    const path = operation.path.slice(1);
    const list = valueAt(entry.spec, path.slice(0, -1));
    // In a list, `-` is the position past the end.
    const written = Array.isArray(list) && path.at(-1) === "-" ? [...path.slice(0, -1), String(list.length)] : path;
    applyJsonPatchOperation(entry.spec, { ...operation, path });
    // The operation writes its path and all below it, and in part a field above it; a removal from a list writes
    // no item, and moves those after it, as an insertion does.
    const above = (specPath: YamlPath) => specPath.length < written.length && isPrefix(specPath, written);
    const shift = Array.isArray(list) && operation.op !== "replace" ? (operation.op === "add" ? -1 : 1) : 0;
    const writes = shift === 1 ? above : (specPath: YamlPath) => above(specPath) || isPrefix(written, specPath);
    entry.specOrigin.set(field, { ...origin, writes, ...(shift ? { before: listShift(written, shift) } : {}), previous: entry.specOrigin.get(field) });
  }
}

function isPrefix(prefix: YamlPath, path: YamlPath): boolean {
  return prefix.length <= path.length && prefix.every((key, index) => String(key) === String(path[index]));
}

/** Where an item after `written` in its list was before an insertion there (`shift` -1) or a removal (+1). */
function listShift(written: YamlPath, shift: 1 | -1): (specPath: YamlPath) => YamlPath {
  const list = written.slice(0, -1);
  const at = Number(written.at(-1));
  return (specPath) => {
    const index = Number(specPath[list.length]);
    if (specPath.length <= list.length || !isPrefix(list, specPath) || !Number.isInteger(index) || index < at || (shift === -1 && index === at)) return specPath;
    return [...list, index + shift, ...specPath.slice(list.length + 1)];
  };
}

/** Strategic merge, simplified: maps merge key by key, anything else is replaced. */
function mergeValue(current: unknown, patch: unknown): unknown {
  if (!isRecord(current) || !isRecord(patch)) return structuredClone(patch);
  const merged: Record<string, unknown> = { ...current };
  // Own keys only: a patch's __proto__ key is a field (as for Flux), never the merged object's prototype.
  for (const [key, value] of Object.entries(patch)) setOwn(merged, key, value === null ? undefined : mergeValue(ownValue(current, key), value));
  return merged;
}

function candidateOf(entry: Entry): PatchCandidate {
  const ref = entry.doc.ref!;
  return { kind: ref.kind, name: ref.name, ...(entry.namespace !== undefined ? { namespace: entry.namespace } : {}), labels: asRecord(entry.doc.object?.metadata.labels) };
}
