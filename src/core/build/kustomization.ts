// Reads kustomizations without running anything: every file a build would read (its closure, used for the
// affected set and for the sandbox copy), and every entry fleet-warden refuses before kustomize runs
// (remote bases, paths leaving the repository, links, Helm charts, plugins, KRM functions, cycles,
// files that trip the YAML safety limits).
import { posix } from "node:path";
import { isKustomizationFile, KUSTOMIZATION_FILES, type FleetModel, type SourceDocument } from "../fleet.js";
import type { BuildIssue, SpecialFile } from "../types.js";
import { isRecord } from "../values.js";
import { parseYamlSafely, type ParsedDocument, type YamlError } from "../yaml.js";
import { includedFolderOf, type SourceTree } from "./tree.js";

export { isKustomizationFile, KUSTOMIZATION_FILES };

/** The kustomization file of `folder` ("" is the root) among the paths `has` knows, in kustomize's order. */
export function kustomizationFileIn(folder: string, has: (path: string) => boolean): string | undefined {
  return KUSTOMIZATION_FILES.map((name) => join(folder, name)).find(has);
}
const FUNCTION_ANNOTATIONS = ["config.kubernetes.io/function", "config.k8s.io/function"];
/** Fields whose files kustomize reads as data, not as YAML. */
const GENERATOR_INPUTS = new Set(["configMapGenerator", "secretGenerator"]);

/**
 * Field names of kustomizations and of builtin generator and transformer configs. kustomize decodes them through
 * Go's encoding/json, which matches names case-insensitively (and folds "ſ" to "s" and the Kelvin sign to "k"): a
 * `Resources:` or `Files:` is read as `resources:` or `files:`. Any such spelling is refused, so that every file
 * entry kustomize reads is one fleet-warden has vetted.
 */
/** The fields of kustomize's Kustomization type (kustypes.Kustomization), at the top of a kustomization file. */
export const KUSTOMIZATION_TOP_FIELDS: ReadonlySet<string> = new Set([
  "apiVersion", "kind", "metadata", "openapi", "namePrefix", "nameSuffix", "namespace", "commonLabels", "labels", "commonAnnotations",
  "buildMetadata", "patchesStrategicMerge", "patchesJson6902", "patches", "images", "imageTags", "replacements", "replicas", "vars",
  "sortOptions", "resources", "components", "crds", "bases", "configMapGenerator", "secretGenerator", "helmGlobals", "helmCharts",
  "helmChartInflationGenerator", "generatorOptions", "configurations", "generators", "transformers", "validators", "inventory",
]);
const KUSTOMIZE_FIELDS = [
  ...KUSTOMIZATION_TOP_FIELDS,
  "name", "behavior", "files", "envs", "env", "literals", "options", "disableNameSuffixHash", "immutable", "type", "path", "paths",
  "patch", "target", "group", "version", "labelSelector", "annotationSelector", "newName", "newTag", "digest", "count", "source",
  "targets", "select", "reject", "fieldPath", "fieldPaths", "fieldSpecs", "pairs", "includeSelectors", "includeTemplates", "fields",
  "order", "chartHome", "configHome", "repo", "releaseName", "valuesFile", "additionalValuesFiles", "valuesInline", "valuesMerge",
  // `vars` spell these in lower case (its fieldref.fieldpath beside replacements' fieldPath).
  "objref", "fieldref", "fieldpath",
];
const foldName = (name: string) => name.replace(/\u017f/g, "s").replace(/\u212a/g, "k").toLowerCase();
const CANONICAL_FIELDS = new Map<string, string[]>();
for (const field of KUSTOMIZE_FIELDS) CANONICAL_FIELDS.set(foldName(field), [...(CANONICAL_FIELDS.get(foldName(field)) ?? []), field]);
/** Maps of the user's own keys (labels, annotations, Helm values, object metadata), where any spelling is data. */
const USER_DATA_FIELDS = new Set(["metadata", "commonLabels", "commonAnnotations", "labels", "annotations", "pairs", "valuesInline", "patch"]);
/** Fields of builtin generator and transformer configs that name files kustomize reads. */
const CONFIG_FILE_FIELDS = new Set(["files", "envs", "env", "path", "paths", "valuesFile", "additionalValuesFiles", "chartHome", "configHome"]);

export interface Closure {
  /** Tree paths of every file the build reads. */
  files: Set<string>;
  /** Tree folders holding a kustomization the build reads. */
  folders: Set<string>;
  issues: BuildIssue[];
  /** True when an issue is a refusal: kustomize must not run. */
  refused: boolean;
  /** Why the build reads files this repository does not hold (another GitRepository's, included): it is not run. */
  unseen?: string;
  /** YAML files read as they are, not yet checked against the safety limits and for KRM functions (see vetClosure). */
  unvetted: UnvettedFile[];
  /**
   * Tree paths of the files kustomize reads as instructions (kustomizations, generator and transformer configs): the
   * build gets them as fleet-warden read them (see render.ts), so that kustomize reads no other file than those vetted.
   */
  instructions: Set<string>;
}

interface UnvettedFile {
  repoFile: string;
  /** The kustomization entry that reads it. */
  fromFile: string;
  line: number;
  field: string;
  value: string;
}

/** What a kustomization entry points at. */
type Target =
  | { kind: "file" | "folder"; path: string }
  | { kind: "refused"; reason: string }
  /** In a folder another GitRepository provides: the closure is marked unseen. */
  | { kind: "unseen" };

export class ClosureWalker {
  private readonly files: Set<string>;
  private readonly folders = new Set<string>();
  private readonly folderSet: ReadonlySet<string>;
  private readonly pathSet: ReadonlySet<string>;
  readonly closure: Closure;

  constructor(
    private readonly tree: SourceTree,
    private readonly model: FleetModel,
    private readonly specialFiles: readonly SpecialFile[],
  ) {
    this.files = new Set<string>();
    this.folderSet = foldersOf(tree.paths);
    this.pathSet = pathSetOf(tree.paths);
    this.closure = { files: this.files, folders: this.folders, issues: [], refused: false, unvetted: [], instructions: new Set() };
  }

  kustomizationFile(folder: string): string | undefined {
    return kustomizationFileIn(folder, (path) => this.pathSet.has(path));
  }

  /** Walks the kustomization in `folder`; `via` is the entry that referenced it (for cycle findings). */
  walkFolder(folder: string, stack: string[] = [], via?: { path: string; line: number }): void {
    if (stack.includes(folder)) {
      const cycle = [...stack.slice(stack.indexOf(folder)), folder].map((f) => f || ".").join(" → ");
      this.refuse(via?.path ?? folder, via?.line ?? 1, `Kustomization cycle: ${cycle}. kustomize would recurse without end; fleet-warden does not build it.`);
      return;
    }
    if (this.folders.has(folder)) return;
    const file = this.kustomizationFile(folder);
    if (!file) {
      this.refuse(via?.path ?? folder, via?.line ?? 1, `${folder || "."} has no kustomization.yaml, so kustomize cannot build it as a folder.`);
      return;
    }
    const others = KUSTOMIZATION_FILES.map((name) => join(folder, name)).filter((path) => path !== file && this.pathSet.has(path));
    if (others.length > 0) {
      // kustomize refuses to choose ("Found multiple kustomization files"), and so does Flux.
      const names = [file, ...others].map((path) => path.slice(path.lastIndexOf("/") + 1)).join(", ");
      return this.refuse(this.tree.repoPath(others[0]!), 1, `${folder || "."} holds several kustomization files (${names}): kustomize and Flux refuse to build it. Keep one.`);
    }
    this.folders.add(folder);
    this.files.add(file);
    this.closure.instructions.add(file);
    const doc = this.document(file);
    if (!doc) return;
    const next = [...stack, folder];
    const kustomization = (doc.value ?? {}) as Record<string, unknown>;
    const repoFile = this.tree.repoPath(file);
    const lineOf = (path: Array<string | number>) => doc.valueLine(path) ?? doc.keyLine(path.slice(0, 1)) ?? 1;
    if (this.refuseMiscasedFields(kustomization, doc, repoFile)) return;
    const hazard = doc.readerHazard();
    if (hazard) return this.refuse(repoFile, hazard.line, readerHazardMessage(hazard));

    for (const field of ["helmCharts", "helmChartInflationGenerator", "helmGlobals"]) {
      if (kustomization[field] !== undefined && kustomization[field] !== null) {
        this.refuse(repoFile, doc.keyLine([field]) ?? 1, `${field} inflates a Helm chart fetched from a chart repository; fleet-warden never runs Helm or fetches charts. Use a Flux HelmRelease instead.`);
      }
    }
    const entries = (field: string) => stringsAt(kustomization[field]);
    for (const [field, kind] of [["resources", "any"], ["bases", "folder"], ["components", "folder"]] as const) {
      entries(field).forEach(({ value, index }) => {
        const line = lineOf([field, index]);
        const target = this.resolve(folder, value);
        if (target.kind === "refused") return this.refuse(repoFile, line, `${field} entry "${value}": ${target.reason}`);
        if (target.kind === "unseen") return;
        if (target.kind === "folder") return this.walkFolder(target.path, next, { path: repoFile, line });
        if (kind === "folder") return this.refuse(repoFile, line, `${field} entry "${value}" is a file; ${field} must name folders with a kustomization.`);
        this.addFile(target.path, repoFile, line, field, value);
      });
    }
    const fileEntry = (value: string, path: Array<string | number>, field: string) => {
      const line = lineOf(path);
      const target = this.resolve(folder, value);
      if (target.kind === "refused") return this.refuse(repoFile, line, `${field} entry "${value}": ${target.reason}`);
      if (target.kind === "unseen") return;
      if (target.kind === "folder") return this.refuse(repoFile, line, `${field} entry "${value}" is a folder; a file is expected.`);
      this.addFile(target.path, repoFile, line, field, value);
    };
    objectsAt(kustomization.patches).forEach(({ value, index }) => {
      if (typeof value.path === "string") fileEntry(value.path, ["patches", index, "path"], "patches");
    });
    objectsAt(kustomization.patchesJson6902).forEach(({ value, index }) => {
      if (typeof value.path === "string") fileEntry(value.path, ["patchesJson6902", index, "path"], "patchesJson6902");
    });
    objectsAt(kustomization.replacements).forEach(({ value, index }) => {
      if (typeof value.path === "string") fileEntry(value.path, ["replacements", index, "path"], "replacements");
    });
    entries("patchesStrategicMerge").forEach(({ value, index }) => {
      if (!inlineObjects(value)) return fileEntry(value, ["patchesStrategicMerge", index], "patchesStrategicMerge");
      const line = lineOf(["patchesStrategicMerge", index]);
      const escape = escapeOf(folder, value);
      if (escape) return this.refuse(repoFile, line, `patchesStrategicMerge entry: ${inlineEscapeMessage(escape)}`);
      const file = this.fileAt(folder, value);
      if (file) this.addFile(file, repoFile, line, "patchesStrategicMerge", value);
    });
    for (const field of ["crds", "configurations"]) entries(field).forEach(({ value, index }) => fileEntry(value, [field, index], field));
    const openapi = kustomization.openapi as Record<string, unknown> | undefined;
    if (openapi && typeof openapi.path === "string") fileEntry(openapi.path, ["openapi", "path"], "openapi");
    for (const field of ["configMapGenerator", "secretGenerator"]) {
      objectsAt(kustomization[field]).forEach(({ value, index }) => {
        stringsAt(value.files).forEach(({ value: entry, index: i }) => fileEntry(entry.slice(entry.indexOf("=") + 1), [field, index, "files", i], field));
        stringsAt(value.envs).forEach(({ value: entry, index: i }) => fileEntry(entry, [field, index, "envs", i], field));
        if (typeof value.env === "string") fileEntry(value.env, [field, index, "env"], field);
      });
    }
    for (const field of ["generators", "transformers", "validators"]) {
      entries(field).forEach(({ value, index }) => this.checkPluginEntry(folder, field, value, repoFile, lineOf([field, index])));
    }
  }

  /** Adds a Flux-generated kustomization's resources: files are checked like resources entries. */
  addGeneratedResource(path: string, isFolder: boolean, via: { path: string; line: number }): void {
    if (isFolder) this.walkFolder(path, [], via);
    else this.addFile(path, via.path, via.line, "resources", path);
  }

  refuse(path: string, line: number, message: string, restatedBy?: string): void {
    refuse(this.closure, path, line, message, restatedBy);
  }

  /** The first reason is kept: one is enough to say why the build is not run. */
  unsee(reason: string): void {
    this.closure.unseen ??= reason;
  }

  private document(file: string): SourceDocument | undefined {
    const repoFile = this.tree.repoPath(file);
    const parsed = this.model.file(repoFile);
    if (!parsed) return undefined;
    if (parsed.error) {
      this.refuse(repoFile, parsed.error.line, `kustomize would read ${repoFile}, which fleet-warden refuses to parse: ${parsed.error.message}`);
      return undefined;
    }
    return parsed.documents[0];
  }

  private addFile(path: string, fromFile: string, line: number, field: string, value: string): void {
    if (this.files.has(path)) return;
    this.files.add(path);
    // kustomize reads every file it is given as YAML, whatever its name, except generator inputs (data).
    if (GENERATOR_INPUTS.has(field)) return;
    // Parsing every file of every kustomization of a fleet costs more than the rest of planning: files are
    // checked only for the builds that run.
    this.closure.unvetted.push({ repoFile: this.tree.repoPath(path), fromFile, line, field, value });
  }

  /**
   * A generator, transformer or validator entry: kustomize reads it as YAML when it holds complete objects, else (or
   * when two of them share a name) as a path. The path must stay in the repository, and a file it names is vetted as
   * a config file whichever way kustomize reads the entry.
   */
  private checkPluginEntry(folder: string, field: string, value: string, repoFile: string, line: number): void {
    const inline = inlineObjects(value);
    if (!inline) return this.checkPluginFile(folder, field, value, repoFile, line);
    const escape = escapeOf(folder, value);
    if (escape) return this.refuse(repoFile, line, `${field} entry: ${inlineEscapeMessage(escape)}`);
    // Where Go's YAML reader refuses what ours reads, kustomize tries the entry as a git URL, which it would clone.
    if (remoteReason(value)) return this.refuse(repoFile, line, `${field} entry: kustomize may also read this inline YAML as a path, and that path is a remote (a git URL such as user@host/path), which fleet-warden never fetches. Put the config in a file.`);
    const path = treePathOf(folder, value);
    if (this.folderSet.has(path)) return this.refuse(repoFile, line, `${field} entry: kustomize may also read this inline YAML as a path, and that path is the folder ${path}, which it would build as ${field}. Rename the folder or the objects.`);
    this.checkPluginConfigs(folder, inline, `${field} entry`, repoFile, line);
    if (this.pathSet.has(path)) this.checkPluginFile(folder, field, value, repoFile, line);
  }

  private checkPluginFile(folder: string, field: string, value: string, repoFile: string, line: number): void {
    const target = this.resolve(folder, value);
    if (target.kind === "refused") return this.refuse(repoFile, line, `${field} entry "${value}": ${target.reason}`);
    if (target.kind === "unseen") return;
    if (target.kind === "folder") return this.refuse(repoFile, line, `${field} entry "${value}" is a folder of plugin configurations; fleet-warden only builds builtin transformer files listed one by one.`);
    this.addFile(target.path, repoFile, line, field, value);
    this.closure.instructions.add(target.path);
    this.checkPluginConfigs(folder, this.model.file(this.tree.repoPath(target.path))?.documents ?? [], `${field} entry "${value}"`, repoFile, line);
  }

  /** The tree path of the repository file an entry names, read as a path; undefined when it names none. */
  private fileAt(folder: string, value: string): string | undefined {
    const path = treePathOf(folder, value);
    return this.pathSet.has(path) ? path : undefined;
  }

  private checkPluginConfigs(folder: string, documents: readonly ParsedDocument[], entry: string, repoFile: string, line: number): void {
    const hazard = documents.map((doc) => doc.readerHazard()).find((found) => found !== undefined);
    if (hazard) return this.refuse(repoFile, line, `${entry}, line ${hazard.line}: ${readerHazardMessage(hazard)}`);
    // kustomize reads each item of a List (`kind: …List`) as a config of its own (a file's, the model has split already).
    const configs = documents.flatMap(({ value }) => (isRecord(value) && String(value.kind).endsWith("List") && Array.isArray(value.items) ? value.items : [value]));
    for (const config of configs.filter(isRecord)) {
      const annotations = isRecord(config.metadata) && isRecord(config.metadata.annotations) ? config.metadata.annotations : {};
      if (config.apiVersion !== "builtin" || FUNCTION_ANNOTATIONS.some((key) => annotations[key] !== undefined)) {
        return this.refuse(repoFile, line, `${entry} configures ${String(config.kind ?? "a plugin")} (${String(config.apiVersion ?? "no apiVersion")}), a plugin that runs code; only kustomize's builtin transformers are built.`);
      }
      if (/helm/i.test(String(config.kind))) return this.refuse(repoFile, line, `${entry} configures ${String(config.kind)}, which inflates a Helm chart; fleet-warden never runs Helm or fetches charts. Use a Flux HelmRelease instead.`);
      const miscased = miscasedFields(config)[0];
      if (miscased) return this.refuse(repoFile, line, `${entry}: ${miscasedMessage(miscased)}`);
      // A builtin generator reads files as the kustomization does: each must be one the build may read.
      for (const file of configFiles(config)) {
        const target = this.resolve(folder, file);
        if (target.kind === "refused") return this.refuse(repoFile, line, `${entry} reads "${file}": ${target.reason}`);
        if (target.kind === "unseen") return;
        if (target.kind === "folder") return this.refuse(repoFile, line, `${entry} reads "${file}", a folder; a file is expected.`);
        this.files.add(target.path);
      }
    }
  }

  /** Refuses the kustomization when a field is spelt in another case than kustomize's; true when it did. */
  private refuseMiscasedFields(kustomization: Record<string, unknown>, doc: SourceDocument, repoFile: string): boolean {
    const miscased = miscasedFields(kustomization);
    for (const field of miscased) this.refuse(repoFile, doc.keyLine(field.path) ?? 1, miscasedMessage(field));
    return miscased.length > 0;
  }

  /** Where an entry of the kustomization in `folder` points, or why it is refused. */
  resolve(folder: string, value: string): Target {
    const remote = remoteReason(value);
    if (remote) return { kind: "refused", reason: remote };
    const escape = escapeOf(folder, value);
    if (escape) return { kind: "refused", reason: ESCAPE_REASONS[escape] };
    const normalized = treePathOf(folder, value);
    const link = this.specialFiles.find((special) => special.path === normalized || normalized.startsWith(`${special.path}/`));
    if (link) return { kind: "refused", reason: `${link.path} is a ${link.kind === "symlink" ? "symbolic link" : link.kind === "hardlink" ? "hard link" : "special file"}${link.target ? ` to ${link.target}` : ""}; links are never followed, so the build cannot use it.` };
    const included = includedFolderOf(this.tree, normalized);
    if (included) {
      this.unsee(`it reads ${normalized || "."}, which ${included.source} copies in (spec.include to ${included.path || "."})`);
      return { kind: "unseen" };
    }
    if (this.pathSet.has(normalized)) return { kind: "file", path: normalized };
    if (this.folderSet.has(normalized)) return { kind: "folder", path: normalized };
    if (hostLike(value)) return { kind: "refused", reason: "not a local path, so kustomize would fetch it as a remote base; remote bases are never fetched." };
    const excluded = this.model.exists(normalized) || [...this.model.paths()].some((p) => p.startsWith(`${normalized}/`));
    return {
      kind: "refused",
      reason: excluded
        ? `${normalized} is left out of the Flux source (by .sourceignore, spec.ignore, Flux's default ignores or spec.sparseCheckout), so the build fails.`
        : `${normalized || "."} does not exist in the repository, so the build fails (kustomize would then try it as a remote URL, which is never fetched).`,
    };
  }
}

function refuse(closure: Closure, path: string, line: number, message: string, restatedBy?: string): void {
  closure.issues.push({ rule: "kustomize-build", path, line, message, ...(restatedBy ? { restatedBy } : {}) });
  closure.refused = true;
}

/** Checks the YAML files a build reads before kustomize reads them: safety limits, then KRM functions. */
export function vetClosure(closure: Closure, model: FleetModel): void {
  for (const { repoFile, fromFile, line, field, value } of closure.unvetted.splice(0)) {
    const parsed = model.file(repoFile);
    if (parsed?.error) refuse(closure, fromFile, line, `${field} entry "${value}": ${repoFile} line ${parsed.error.line}: ${parsed.error.message}`);
    else refuseFunctions(closure, parsed?.documents ?? [], repoFile);
  }
}

/** KRM functions run containers or executables: refused wherever they appear. */
function refuseFunctions(closure: Closure, documents: SourceDocument[], repoFile: string): void {
  for (const doc of documents) {
    const annotations = (doc.object?.metadata?.annotations ?? {}) as Record<string, unknown>;
    for (const key of FUNCTION_ANNOTATIONS) {
      if (annotations[key] !== undefined) {
        refuse(closure, repoFile, doc.keyLine(["metadata", "annotations", key]) ?? doc.startLine, `${describe(doc)} is annotated ${key}: a KRM function that runs a container or program; fleet-warden never runs it.`);
      }
    }
  }
}

/** The tree path an entry names, read as a path from `folder`, as Go's Clean makes it (no trailing slash; "" is the root). */
function treePathOf(folder: string, value: string): string {
  const path = posix.normalize(join(folder, value)).replace(/\/+$/, "");
  return path === "." ? "" : path;
}

/**
 * Why an entry, read as a path from `folder`, is outside the repository: kustomize reads an absolute path as it is, and
 * cleans `..` as Go does (a first segment such as `kind: x` or `x<LF>` is a folder name that `..` removes).
 */
function escapeOf(folder: string, value: string): Escape | undefined {
  if (value.startsWith("/")) return "absolute";
  const path = treePathOf(folder, value);
  if (path === ".." || path.startsWith("../")) return "leaves";
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? "url" : undefined;
}

type Escape = "absolute" | "leaves" | "url";

const ESCAPE_REASONS: Record<Escape, string> = {
  absolute: "an absolute path, outside the repository; builds never read outside the repository root.",
  leaves: "leaves the repository root; builds never read outside the repository.",
  url: "a URL, which kustomize fetches; fleet-warden never fetches anything.",
};

/** An inline entry kustomize may also read as a path (see inlineObjects). */
function inlineEscapeMessage(escape: Escape): string {
  const path = { absolute: "is absolute", leaves: "leaves the repository root", url: "is a URL, which kustomize fetches" }[escape];
  return `kustomize may also read this inline YAML as a path (it does when two of its objects share a name), and that path ${path}: builds never read outside the repository.`;
}

function readerHazardMessage(hazard: YamlError): string {
  return `${hazard.message}, so kustomize and Flux could read another file than the one reviewed. Write plain YAML.`;
}

/**
 * Remote resources in any of kustomize's spellings. `user@host/path` too: kustomize tries an entry that names a folder
 * as a git URL before it reads the folder, and takes a user name before the first `/` for SSH.
 */
export function remoteReason(value: string): string | undefined {
  const remote =
    /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ||
    /^git::/i.test(value) ||
    /^[\w.-]+@[\w.-]+:/.test(value) ||
    /^[^/?]*@[^/?:]*[:/]./.test(value) ||
    /^(gh:|github\.com[:/]|gitlab\.com[:/]|bitbucket\.org[:/])/i.test(value);
  return remote ? "a remote resource; fleet-warden never fetches remote bases (Flux refuses them too when kustomize-controller runs with --no-remote-bases=true)." : undefined;
}

function hostLike(value: string): boolean {
  const first = value.split("/")[0] ?? "";
  return /^[a-z0-9-]+(\.[a-z0-9-]+)+(:\d+)?$/i.test(first) && !/\.ya?ml$/i.test(first) && (value.includes("/") || value.includes("?ref="));
}

// eslint-disable-next-line no-control-regex -- the control characters are what is matched
const GO_REFUSED_CONTROLS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u0084\u0086-\u009f]/;

/**
 * The documents of an entry kustomize reads as inline YAML rather than as a path: objects with a kind and a name, no
 * two with the same kind and name (kustomize tells them apart by namespace too, but takes none and `default` for one,
 * and none for a cluster-scoped kind: stricter is safer). Undefined when kustomize may read it as a path.
 */
function inlineObjects(value: string): ParsedDocument[] | undefined {
  // Go's YAML reader refuses control characters (but tab, line feed, carriage return and NEL) where ours reads them.
  if (GO_REFUSED_CONTROLS.test(value)) return undefined;
  const parsed = parseYamlSafely(value, "entry");
  if (parsed.error || parsed.documents.length === 0) return undefined;
  const ids = parsed.documents.map(({ value: object }) => {
    const metadata = isRecord(object) && isRecord(object.metadata) ? object.metadata : {};
    const complete = isRecord(object) && typeof object.kind === "string" && object.kind !== "" && typeof metadata.name === "string" && metadata.name !== "";
    // kustomize fails to expand a List whose items are not a list.
    const list = complete && String(object.kind).endsWith("List") && object.items !== undefined && !Array.isArray(object.items);
    return complete && !list ? `${String(object.kind)}/${String(metadata.name)}` : undefined;
  });
  return ids.every((id) => id !== undefined) && new Set(ids).size === ids.length ? parsed.documents : undefined;
}

interface MiscasedField {
  path: Array<string | number>;
  written: string;
  canonical: string;
}

/** Keys, at any depth outside the user's own maps, that kustomize reads as one of its fields spelt otherwise. */
function miscasedFields(value: unknown, path: Array<string | number> = []): MiscasedField[] {
  if (Array.isArray(value)) return value.flatMap((item, index) => miscasedFields(item, [...path, index]));
  if (!isRecord(value)) return [];
  return Object.entries(value).flatMap(([key, child]) => {
    const spellings = CANONICAL_FIELDS.get(foldName(key));
    const here = spellings !== undefined && !spellings.includes(key) ? [{ path: [...path, key], written: key, canonical: spellings[0]! }] : [];
    return USER_DATA_FIELDS.has(key) ? here : [...here, ...miscasedFields(child, [...path, key])];
  });
}

function miscasedMessage(field: MiscasedField): string {
  return `"${field.written}" is read by kustomize as "${field.canonical}" (it matches field names in any case); write "${field.canonical}", so that the entries it reads are checked.`;
}

/** The files a builtin generator or transformer config names (`files` entries may be `key=path`). */
function configFiles(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(configFiles);
  if (!isRecord(value)) return [];
  return Object.entries(value).flatMap(([key, child]) => {
    // A `fieldSpecs` entry's `path` is a field of the objects (metadata/name), not a file.
    if (!CONFIG_FILE_FIELDS.has(key)) return USER_DATA_FIELDS.has(key) || key === "fieldSpecs" ? [] : configFiles(child);
    const names = typeof child === "string" ? [child] : Array.isArray(child) ? child.filter((item): item is string => typeof item === "string") : [];
    return names.map((name) => (key === "files" ? name.slice(name.indexOf("=") + 1) : name));
  });
}

function describe(doc: SourceDocument): string {
  return doc.ref ? `${doc.ref.kind} ${doc.ref.name}` : `document ${doc.index + 1}`;
}

export function join(folder: string, path: string): string {
  return folder === "" ? path : `${folder}/${path}`;
}

/** The folder of a tree path ("" for the root's files). */
export function folderOf(path: string): string {
  const folder = posix.dirname(path);
  return folder === "." ? "" : folder;
}

// One index per tree listing, not per walker: a fleet has hundreds of kustomizations over thousands of files.
const folderIndexes = new WeakMap<readonly string[], ReadonlySet<string>>();
const pathIndexes = new WeakMap<readonly string[], ReadonlySet<string>>();

function pathSetOf(paths: readonly string[]): ReadonlySet<string> {
  let index = pathIndexes.get(paths);
  if (!index) pathIndexes.set(paths, (index = new Set(paths)));
  return index;
}

export function foldersOf(paths: readonly string[]): ReadonlySet<string> {
  const cached = folderIndexes.get(paths);
  if (cached) return cached;
  const folders = new Set<string>([""]);
  folderIndexes.set(paths, folders);
  for (const path of paths) {
    let dir = posix.dirname(path);
    while (dir !== "." && !folders.has(dir)) {
      folders.add(dir);
      dir = posix.dirname(dir);
    }
  }
  return folders;
}

function stringsAt(value: unknown): Array<{ value: string; index: number }> {
  return Array.isArray(value) ? value.flatMap((item, index) => (typeof item === "string" ? [{ value: item, index }] : [])) : [];
}

function objectsAt(value: unknown): Array<{ value: Record<string, unknown>; index: number }> {
  return Array.isArray(value)
    ? value.flatMap((item, index) => (item !== null && typeof item === "object" && !Array.isArray(item) ? [{ value: item as Record<string, unknown>, index }] : []))
    : [];
}
