// The fleet model: every YAML document of a tree (a snapshot or a folder), parsed lazily with source positions,
// Kubernetes objects indexed by apiVersion/kind/namespace/name, Flux objects recognised.
import { posix } from "node:path";
import { folderFiles, type TreeFiles } from "./files.js";
import type { ObjectRef } from "./types.js";
import { defaultYamlLimits, formatBytes, parseYamlSafely, type ParsedDocument, type YamlError, type YamlLimits, type YamlPath } from "./yaml.js";

export type KubeObject = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: Record<string, unknown> & { name?: string; namespace?: string };
};

/** One Kubernetes object (or any YAML document) in a file, with its lines. List items are documents of their own. */
export interface SourceDocument {
  path: string;
  /** Index of the YAML document in the file. */
  index: number;
  /** The path of this value inside the YAML document: [] or ["items", n] for an item of a List. */
  basePath: YamlPath;
  value: unknown;
  /** Set when the value is a Kubernetes object (apiVersion, kind and metadata). */
  object?: KubeObject;
  ref?: ObjectRef;
  startLine: number;
  endLine: number;
  /** Line of the key at `path`, relative to this document's value. */
  keyLine(path: YamlPath): number | undefined;
  valueLine(path: YamlPath): number | undefined;
  valueEndLine(path: YamlPath): number | undefined;
  /** See ParsedDocument.readerHazard: the whole YAML document's. */
  readerHazard(): YamlError | undefined;
  file: SourceFile;
}

export interface SourceFile {
  path: string;
  text: string;
  /** The file's lines, without line terminators. */
  lines: string[];
  documents: SourceDocument[];
  error?: YamlError;
}

const YAML_FILE = /\.ya?ml$/i;

/** kustomize's kustomization file names, in the order it looks for them. */
export const KUSTOMIZATION_FILES = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/** Whether a path names a kustomization file (by its file name). */
export function isKustomizationFile(path: string): boolean {
  return KUSTOMIZATION_FILES.includes(path.slice(path.lastIndexOf("/") + 1));
}

export function isYamlPath(path: string): boolean {
  return YAML_FILE.test(path);
}

export function objectKey(ref: ObjectRef): string {
  return `${apiGroup(ref.apiVersion)}/${ref.kind}/${ref.namespace ?? ""}/${ref.name}`;
}

export function describeRef(ref: ObjectRef): string {
  return `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ""}${ref.name || "(unnamed)"}`;
}

export function apiGroup(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash === -1 ? "" : apiVersion.slice(0, slash);
}

/** What every Flux API group ends with. */
const FLUX_API_GROUPS = "toolkit.fluxcd.io";

export function isFluxApi(apiVersion: string): boolean {
  return apiGroup(apiVersion).endsWith(".toolkit.fluxcd.io");
}

export function asKubeObject(value: unknown): KubeObject | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const candidate = value as Record<string, unknown>;
  if (typeof candidate.apiVersion !== "string" || typeof candidate.kind !== "string") return undefined;
  const metadata = candidate.metadata;
  if (metadata !== undefined && (metadata === null || typeof metadata !== "object" || Array.isArray(metadata))) return undefined;
  return { ...candidate, metadata: (metadata ?? {}) as KubeObject["metadata"] } as KubeObject;
}

export function refOf(object: KubeObject): ObjectRef {
  const { name, namespace } = object.metadata;
  return {
    apiVersion: object.apiVersion,
    kind: object.kind,
    name: typeof name === "string" ? name : "",
    ...(typeof namespace === "string" && namespace !== "" ? { namespace } : {}),
  };
}

export class FleetModel {
  private readonly parsed = new Map<string, SourceFile | undefined>();
  private allObjectsCache?: SourceDocument[];
  private fluxCache?: SourceDocument[];
  /** Asked once per Flux Kustomization while planning: a fleet has hundreds. */
  private readonly fluxKindCache = new Map<string, SourceDocument[]>();
  private pathSet?: Set<string>;
  private readonly mentionCache = new Map<string, SourceDocument[]>();
  private readonly unparsedTexts = new Map<string, string>();
  private readonly sizes = new Map<string, number | undefined>();
  private otherManifests?: string[];
  private otherManifestSet?: Set<string>;

  readonly files: TreeFiles;

  /**
   * `files`: the tree, or a folder on disk holding it.
   * `twin`: the model of the other side of the same change. A file whose text is the same on both sides is
   * parsed once, for both: most of a large fleet is unchanged between base and head.
   */
  constructor(
    files: string | TreeFiles,
    private readonly limits: YamlLimits = defaultYamlLimits,
    private readonly twin?: FleetModel,
  ) {
    this.files = typeof files === "string" ? folderFiles(files) : files;
  }

  /** Every regular file in the tree, as sorted POSIX paths relative to the root. */
  paths(): readonly string[] {
    return this.files.paths();
  }

  yamlPaths(): string[] {
    return this.paths().filter(isYamlPath);
  }

  exists(path: string): boolean {
    this.pathSet ??= new Set(this.paths());
    return this.pathSet.has(path);
  }

  readText(path: string): string | undefined {
    const parsed = this.parsed.get(path);
    if (parsed && parsed.text !== "") return parsed.text;
    let text = this.unparsedTexts.get(path);
    if (text !== undefined) return text;
    const data = this.files.read(path);
    if (data === undefined) return undefined;
    // A manifest, in UTF-16 too, whatever its name; any other file (.sourceignore, generator inputs) as bytes.
    text = this.isManifest(path) ? decodeManifest(data) : data.toString("utf8");
    // Kept until the file is parsed (which keeps the text itself): scans over every file read each file once.
    if (Buffer.byteLength(text) <= this.limits.maxBytes) this.unparsedTexts.set(path, text);
    return text;
  }

  /** The file's size (undefined when it is not a regular file), asked of the tree once. */
  private sizeOf(path: string): number | undefined {
    if (!this.sizes.has(path)) this.sizes.set(path, this.files.size(path));
    return this.sizes.get(path);
  }

  /** The parsed file, or undefined when it does not exist. Parsing happens once per path. */
  file(path: string): SourceFile | undefined {
    if (this.parsed.has(path)) return this.parsed.get(path);
    const size = this.sizeOf(path);
    let file: SourceFile | undefined;
    if (size !== undefined && size > this.limits.maxBytes) file = parseSourceFile(path, "", this.limits, size);
    else if (size !== undefined) {
      const text = this.readText(path) ?? "";
      this.unparsedTexts.delete(path);
      const same = this.twin && this.twin.limits === this.limits ? this.twin.file(path) : undefined;
      file = text !== "" && same?.text === text ? same : parseSourceFile(path, text, this.limits);
    }
    this.parsed.set(path, file);
    return file;
  }

  /** Every Kubernetes object in every YAML file of the tree. */
  objects(): SourceDocument[] {
    this.allObjectsCache ??= this.yamlPaths().flatMap((path) => this.file(path)?.documents.filter((doc) => doc.object) ?? []);
    return this.allObjectsCache;
  }

  /**
   * Kubernetes objects of the YAML files (or the other manifests, see otherManifestPaths) whose text mentions `needle`
   * (and `alsoNeedle`): parsing every file of a large fleet costs seconds (see mayMention). Files over the size limit
   * hold no objects.
   */
  objectsMentioning(needle: string, among: "yaml" | "other" = "yaml", alsoNeedle?: string): SourceDocument[] {
    const key = `${among}:${needle}:${alsoNeedle ?? ""}`;
    let found = this.mentionCache.get(key);
    if (!found) {
      found = (among === "yaml" ? this.yamlPaths() : this.otherManifestPaths())
        .filter((path) => {
          if ((this.sizeOf(path) ?? 0) > this.limits.maxBytes) return false;
          const text = this.readText(path) ?? "";
          return mayMention(text, needle) && (alsoNeedle === undefined || mayMention(text, alsoNeedle));
        })
        .flatMap((path) => this.file(path)?.documents.filter((doc) => doc.object) ?? []);
      this.mentionCache.set(key, found);
    }
    return found;
  }

  /**
   * Files besides YAML ones that kustomize may read as manifests: JSON files, and any file a kustomization lists as a
   * resource (kustomize reads a resource whatever its name).
   */
  private otherManifestPaths(): string[] {
    if (this.otherManifests) return this.otherManifests;
    const other = new Set(this.paths().filter((path) => path.endsWith(".json")));
    for (const path of this.paths()) {
      if (!isKustomizationFile(path)) continue;
      const resources = (this.file(path)?.documents[0]?.value as { resources?: unknown } | undefined)?.resources;
      for (const resource of Array.isArray(resources) ? resources : []) {
        const listed = typeof resource === "string" ? posix.normalize(posix.join(posix.dirname(path), resource)) : "";
        if (listed !== "" && !isYamlPath(listed) && this.exists(listed)) other.add(listed);
      }
    }
    this.otherManifests = [...other].sort();
    this.otherManifestSet = new Set(this.otherManifests);
    return this.otherManifests;
  }

  /** Whether kustomize may read the file as a manifest (see otherManifestPaths). */
  private isManifest(path: string): boolean {
    if (isYamlPath(path) || path.endsWith(".json") || isKustomizationFile(path)) return true;
    this.otherManifestPaths();
    return this.otherManifestSet!.has(path);
  }

  /**
   * Flux objects (any *.toolkit.fluxcd.io API), in path order. Only files that mention Flux's API group are parsed: YAML
   * files, and other files kustomize may read as manifests (a JSON dashboard that names Flux's API group without an
   * apiVersion is no manifest, and it can be large).
   */
  fluxObjects(): SourceDocument[] {
    this.fluxCache ??= [...this.objectsMentioning(FLUX_API_GROUPS), ...this.objectsMentioning(FLUX_API_GROUPS, "other", "apiVersion")]
      .filter((doc) => doc.ref && isFluxApi(doc.ref.apiVersion))
      // A stable sort: documents of one file keep their order.
      .sort((one, other) => (one.path < other.path ? -1 : one.path > other.path ? 1 : 0));
    return this.fluxCache;
  }

  /** Flux objects of one kind, e.g. "Kustomization" of kustomize.toolkit.fluxcd.io. */
  fluxObjectsOfKind(kind: string): readonly SourceDocument[] {
    let found = this.fluxKindCache.get(kind);
    if (!found) this.fluxKindCache.set(kind, (found = this.fluxObjects().filter((doc) => doc.ref?.kind === kind)));
    return found;
  }

  /** The document that contains `line` of `path`. */
  documentAt(path: string, line: number): SourceDocument | undefined {
    return this.file(path)?.documents.find((doc) => doc.startLine <= line && line <= doc.endLine);
  }
}

/**
 * A manifest's text as kustomize's YAML reader (yaml.v3) decodes it: UTF-16 when it starts with a byte-order mark,
 * else UTF-8. Read as UTF-8, a UTF-16 Flux object would hold no name fleet-warden can find, while Flux applies it.
 */
export function decodeManifest(data: Buffer): string {
  if (data[0] === 0xff && data[1] === 0xfe) return data.subarray(2).toString("utf16le");
  if (data[0] === 0xfe && data[1] === 0xff) return Buffer.from(data.subarray(2, data.length - (data.length % 2))).swap16().toString("utf16le");
  return data.toString("utf8");
}

/**
 * Whether a file's text can hold `needle` once parsed: it contains it, or does once the escapes of a double-quoted
 * string that spell a character or join lines are decoded (`fluxcd\x2eio` is `fluxcd.io` to every YAML decoder,
 * Kubernetes' included). The others (`\n`, `\"`, …) spell nothing a needle holds: a JSON dashboard full of them is
 * not parsed for nothing.
 */
export function mayMention(text: string, needle: string): boolean {
  if (text.includes(needle)) return true;
  return text.includes("\\") && text.replace(SPELLING_ESCAPE, spelled).includes(needle);
}

const SPELLING_ESCAPE = /\\(?:x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|(\/)|(?:\r\n?|[\n\u0085\u2028\u2029])[ \t]*)/g;

function spelled(_escape: string, x?: string, u?: string, U?: string, slash?: string): string {
  if (slash) return slash;
  const code = parseInt(x ?? u ?? U ?? "", 16);
  // An escaped line break joins the lines; a code point past Unicode's is no character.
  return Number.isNaN(code) || code > 0x10ffff ? "" : String.fromCodePoint(code);
}

export function parseSourceFile(path: string, text: string, limits: YamlLimits = defaultYamlLimits, sizeOverride?: number): SourceFile {
  const file: SourceFile = { path, text, lines: splitLines(text), documents: [] };
  if (sizeOverride !== undefined) {
    // Too large to read at all: the same message the parser gives, without loading the file.
    file.error = { line: 1, message: `${path} is ${formatBytes(sizeOverride)}, over the ${formatBytes(limits.maxBytes)} limit for a manifest` };
    return file;
  }
  const parsed = parseYamlSafely(text, path, limits);
  if (parsed.error) {
    file.error = parsed.error;
    return file;
  }
  for (const doc of parsed.documents) {
    const object = asKubeObject(doc.value);
    const items = object && object.kind.endsWith("List") && Array.isArray(object.items) ? object.items : undefined;
    if (items) {
      items.forEach((item, i) => file.documents.push(sourceDocument(file, doc, ["items", i], item)));
    } else {
      file.documents.push(sourceDocument(file, doc, [], doc.value));
    }
  }
  return file;
}

function sourceDocument(file: SourceFile, doc: ParsedDocument, basePath: YamlPath, value: unknown): SourceDocument {
  const object = asKubeObject(value);
  const at = (path: YamlPath) => [...basePath, ...path];
  const startLine = basePath.length === 0 ? doc.startLine : (doc.valueLine(basePath) ?? doc.startLine);
  const endLine = basePath.length === 0 ? doc.endLine : (doc.valueEndLine(basePath) ?? doc.endLine);
  return {
    path: file.path,
    index: doc.index,
    basePath,
    value,
    ...(object ? { object, ref: refOf(object) } : {}),
    startLine,
    endLine,
    keyLine: (path) => doc.keyLine(at(path)),
    valueLine: (path) => doc.valueLine(at(path)),
    valueEndLine: (path) => doc.valueEndLine(at(path)),
    readerHazard: () => doc.readerHazard(),
    file,
  };
}

export function splitLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}
