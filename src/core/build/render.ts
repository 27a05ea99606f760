// Runs one planned build in a private sandbox copy: only the files of its closure are copied (so kustomize
// cannot read anything else), the root kustomization is rewritten as kustomize-controller rewrites it, the
// output is traced back to source lines through kustomize's origin annotations, and postBuild runs last.
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, posix } from "node:path";
import { parseAllDocuments, parse as parseYaml, stringify } from "yaml";
import { asKubeObject, refOf, type FleetModel, type SourceDocument, type SourceFile } from "../fleet.js";
import type { Build, BuildIssue, BuildReport, ObjectRef, RenderedObject } from "../types.js";
import { asArray, asRecord, isRecord, lowerBound } from "../values.js";
import { errorMessage, GO_YAML, parseYamlSafely } from "../yaml.js";
import { ContainedWords } from "./contained-words.js";
import { runKustomize, scratchFolder, type EngineLimits, type KustomizeEngine } from "./engine.js";
import { isKustomizationFile, KUSTOMIZATION_TOP_FIELDS, kustomizationFileIn } from "./kustomization.js";
import type { BuildPlan, FluxSettings } from "./plan.js";
import { substituteObject } from "./variables.js";

const ORIGIN = "config.kubernetes.io/origin";
const TRANSFORMATIONS = "alpha.config.kubernetes.io/transformations";
const ORIGIN_ANNOTATIONS = "originAnnotations";
const MAX_ALIASES = 100;

/** `onRun` is told when kustomize starts: a refused build never runs it. */
export async function renderPlan(plan: BuildPlan, model: FleetModel, engine: KustomizeEngine, limits?: EngineLimits, onRun?: () => void): Promise<Build> {
  const issues: BuildIssue[] = [...plan.closure.issues, ...(plan.flux?.variables.issues ?? [])];
  const failed = (error: string) => failedBuild(plan, error, issues);
  if (plan.closure.refused) return failed(refusalOf(plan));
  const invalidPatch = plan.flux && invalidSpecPatch(plan.flux);
  if (invalidPatch) {
    issues.push(invalidPatch);
    return failed(invalidPatch.message);
  }
  const sandbox = scratchFolder("fleet-warden-build-");
  // The instruction files as Go reads them, by tree path: the root kustomization's is rewritten below.
  const instructions = new Map<string, unknown[] | undefined>();
  try {
    for (const file of plan.closure.files) {
      const target = join(sandbox, file);
      mkdirSync(dirname(target), { recursive: true });
      const path = plan.tree.repoPath(file);
      let data: string | Buffer | undefined;
      if (plan.closure.instructions.has(file)) {
        const values = goValues(model, path);
        instructions.set(file, values);
        data = values?.map(goJson).join("\n---\n");
      } else data = model.files.read(path);
      if (data === undefined) throw new Error(`cannot copy ${path} into the build: it is not a regular file of the repository`);
      writeFileSync(target, data);
    }
    const folder = join(sandbox, plan.folder);
    mkdirSync(folder, { recursive: true });
    issues.push(...writeRootKustomization(plan, model, folder, instructions));
    onRun?.();
    const result = await runKustomize(engine, { sandbox, folder }, limits);
    if (!result.ok) {
      const error = result.error.split(sandbox + "/").join("").split(sandbox).join(".");
      issues.push({ ...attributeError(plan, model, error), ...(result.limit ? { limit: true as const } : {}) });
      return failed(error);
    }
    const objects = renderedObjects(plan, model, result.output, issues);
    const deployer = plan.flux ? { deployer: { path: plan.flux.doc.path, line: plan.flux.doc.startLine, object: plan.flux.object } } : {};
    return { report: { ...reportOf(plan), ok: !issues.some(isBuildFailure), objects: objects.length }, objects, issues, ...deployer };
  } catch (error) {
    // Whatever stopped the build, it is a finding: a build that fails silently would let the check pass.
    const message = errorMessage(error);
    issues.push(rootIssue(plan, `The build failed: ${message}`));
    return failed(message);
  } finally {
    rmSync(sandbox, { recursive: true, force: true });
  }
}

/**
 * The documents of a file kustomize reads as instructions (a kustomization, a generator's or transformer's config),
 * as fleet-warden read them, with scalars resolved as Go's YAML reader resolves them (YAML 1.1 booleans and octals).
 * The build gets them as JSON: whatever the file's bytes spell, kustomize then reads the entries that were vetted.
 */
function goValues(model: FleetModel, path: string): unknown[] | undefined {
  const text = model.readText(path);
  if (text === undefined) return undefined;
  const parsed = parseYamlSafely(text, path, undefined, GO_YAML);
  if (parsed.error) throw new Error(`${path} line ${parsed.error.line}: ${parsed.error.message}`);
  // Vetting read every entry as YAML 1.2 does: a string only Go reads (`0o17`, a number to YAML 1.2) was never vetted.
  const vetted = parseYamlSafely(text, path).documents;
  for (const [index, doc] of parsed.documents.entries()) {
    const at = vetted.length === parsed.documents.length ? stringNotIn(doc.value, vetted[index]!.value) : [];
    if (!at) continue;
    const what = at.length > 0 ? `\`${at.join(".")}\` as a string where fleet-warden's reader (YAML 1.2) does not` : "the file otherwise than fleet-warden's reader (YAML 1.2)";
    throw new Error(`${path} line ${vetted[index]?.valueLine(at) ?? doc.startLine}: Go's YAML reader reads ${what}, so kustomize would read what was never checked. Quote the value.`);
  }
  return parsed.documents.map((doc) => doc.value);
}

/**
 * JSON for kustomize's YAML reader: NEL, LS and PS, which JSON leaves as they are, are line breaks to it even inside a
 * quoted string (folded into a space, or taking the blanks around them): escaped, it reads the same characters.
 */
function goJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u0085\u2028\u2029]/g, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** The path of a string in `read` that `vetted` does not hold at the same place (a key included); undefined when none. */
function stringNotIn(read: unknown, vetted: unknown): Array<string | number> | undefined {
  if (typeof read === "string") return read === vetted ? undefined : [];
  if (Array.isArray(read)) {
    if (!Array.isArray(vetted) || vetted.length !== read.length) return [];
    for (const [index, item] of read.entries()) {
      const at = stringNotIn(item, vetted[index]);
      if (at) return [index, ...at];
    }
    return undefined;
  }
  if (!isRecord(read)) return undefined;
  if (!isRecord(vetted)) return [];
  for (const [key, value] of Object.entries(read)) {
    if (!Object.hasOwn(vetted, key)) return [key];
    const at = stringNotIn(value, vetted[key]);
    if (at) return [key, ...at];
  }
  return undefined;
}

/** A build that rendered nothing: why, and its issues. */
export function failedBuild(plan: BuildPlan, error: string, issues: BuildIssue[]): Build {
  return { report: { ...reportOf(plan), ok: false, error, objects: 0 }, objects: [], issues };
}

function reportOf(plan: BuildPlan): Pick<BuildReport, "name" | "path" | "variantOf"> {
  return { name: plan.name, path: plan.path, ...(plan.variantOf ? { variantOf: plan.variantOf } : {}) };
}

/** Why a refused plan is not built: its first refusal, not a link warning that may come before it. */
export function refusalOf(plan: BuildPlan): string {
  return plan.closure.issues.find((issue) => issue.rule === "kustomize-build" && isBuildFailure(issue))?.message ?? "refused";
}

function isBuildFailure(issue: BuildIssue): boolean {
  return issue.severity === undefined || issue.severity === "error";
}

/** The tree path of the built folder's own kustomization file, if it has one. */
function rootKustomizationFile(plan: BuildPlan): string | undefined {
  return kustomizationFileIn(plan.folder, (path) => plan.closure.files.has(path));
}

/**
 * Writes the root kustomization as kustomize-controller writes it, plus origin annotations for source lines;
 * returns warnings on the fields Flux drops from it.
 */
function writeRootKustomization(plan: BuildPlan, model: FleetModel, folder: string, instructions: ReadonlyMap<string, unknown[] | undefined>): BuildIssue[] {
  const existing = rootKustomizationFile(plan);
  const fileName = existing ? existing.slice(existing.lastIndexOf("/") + 1) : "kustomization.yaml";
  const doc = existing ? model.file(plan.tree.repoPath(existing))?.documents[0] : undefined;
  const read = existing && (instructions.has(existing) ? instructions.get(existing) : goValues(model, plan.tree.repoPath(existing)));
  const original = existing ? (read?.[0] ?? {}) : undefined;
  const kustomization: Record<string, unknown> = original
    ? (original as Record<string, unknown>)
    : { apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", resources: plan.generated ?? [] };
  const warnings: BuildIssue[] = [];
  if (plan.flux) {
    // Flux decodes the root kustomization into kustomize's type, leniently, and writes it back: a field the type
    // lacks (a typo such as `resource:`) is dropped, where kustomize alone fails the build on it.
    for (const field of Object.keys(kustomization).filter((key) => !KUSTOMIZATION_TOP_FIELDS.has(key))) {
      delete kustomization[field];
      warnings.push({
        rule: "kustomize-build",
        severity: "warning",
        path: plan.tree.repoPath(existing!),
        line: doc?.keyLine([field]) ?? 1,
        message: `\`${field}\` is not a kustomization field: Flux drops it from the root kustomization it builds (kustomize alone would refuse it), so it does nothing.`,
      });
    }
    applyFluxSpec(kustomization, withoutMissingComponents(plan.flux.spec, folder));
  }
  const metadata = Array.isArray(kustomization.buildMetadata) ? (kustomization.buildMetadata as unknown[]) : [];
  if (!metadata.includes(ORIGIN_ANNOTATIONS)) kustomization.buildMetadata = [...metadata, ORIGIN_ANNOTATIONS];
  // JSON: a key written back as YAML can turn into another (a quoted "<<" into a merge key).
  writeFileSync(join(folder, fileName), goJson(kustomization));
  return warnings;
}

/**
 * Flux's Patch has a required inline `patch` and no `path`: the API server rejects an entry without one, so
 * the Kustomization is never built (and a `path` would have kustomize read a file of fleet-warden's host).
 */
function invalidSpecPatch({ doc, spec }: FluxSettings): BuildIssue | undefined {
  const index = asArray(spec.patches).findIndex((entry) => typeof asRecord(entry).patch !== "string");
  if (index === -1) return undefined;
  return {
    rule: "kustomize-build",
    path: doc.path,
    line: doc.valueLine(["spec", "patches", index]) ?? doc.keyLine(["spec", "patches"]) ?? doc.startLine,
    message: `spec.patches entry ${index + 1} has no inline patch: a Flux Kustomization's patches take the patch text in \`patch\` (and an optional \`target\`), never a \`path\` to a file, so the API server rejects this Kustomization and Flux never builds it. Write the patch inline under \`patch: |\`.`,
  };
}

// The fields fluxcd/pkg/kustomize copies from a spec's patch target and image: any other is never applied.
const SELECTOR_FIELDS = ["group", "version", "kind", "name", "namespace", "labelSelector", "annotationSelector"];
const IMAGE_FIELDS = ["name", "newName", "newTag", "digest"];

/** The string fields among `fields` that are set (Go's omitempty drops an empty one). */
function stringFields(value: unknown, fields: readonly string[]): Record<string, string> {
  const record = asRecord(value);
  return Object.fromEntries(fields.flatMap((field) => (typeof record[field] === "string" && record[field] !== "" ? [[field, record[field]]] : [])));
}

/**
 * spec.ignoreMissingComponents (Flux 2.7): a component folder that does not exist is left out, as planning left
 * it out. The sandbox holds every component planning walked, so a folder absent from it is a missing one.
 */
function withoutMissingComponents(spec: Record<string, unknown>, folder: string): Record<string, unknown> {
  if (spec.ignoreMissingComponents !== true) return spec;
  return { ...spec, components: asArray(spec.components).filter((component) => typeof component !== "string" || existsSync(join(folder, component))) };
}

/** fluxcd/pkg/kustomize Generator: targetNamespace, namePrefix, nameSuffix, patches, images and components from the spec. */
export function applyFluxSpec(kustomization: Record<string, unknown>, spec: Record<string, unknown>): void {
  if (typeof spec.targetNamespace === "string" && spec.targetNamespace !== "") kustomization.namespace = spec.targetNamespace;
  if (typeof spec.namePrefix === "string" && spec.namePrefix !== "") kustomization.namePrefix = spec.namePrefix;
  if (typeof spec.nameSuffix === "string" && spec.nameSuffix !== "") kustomization.nameSuffix = spec.nameSuffix;
  const list = (key: string) => (Array.isArray(kustomization[key]) ? (kustomization[key] as unknown[]) : []);
  const patches = asArray(spec.patches).map((entry) => {
    const { patch, target } = asRecord(entry);
    return { patch, ...(isRecord(target) ? { target: stringFields(target, SELECTOR_FIELDS) } : {}) };
  });
  if (patches.length > 0) kustomization.patches = [...list("patches"), ...patches];
  const specImages = asArray(spec.images).filter(isRecord).map((image) => stringFields(image, IMAGE_FIELDS));
  if (specImages.length > 0) {
    const images = list("images").slice() as Array<Record<string, unknown>>;
    // By name through a map: a search per entry is quadratic, minutes for the 100,000 entries a 2 MiB manifest holds.
    const firstIndex = new Map<unknown, number>();
    images.forEach((image, index) => firstIndex.set(image.name, firstIndex.get(image.name) ?? index));
    for (const image of specImages) {
      const index = firstIndex.get(image.name);
      if (index === undefined) firstIndex.set(image.name, images.push(image) - 1);
      else images[index] = image;
    }
    kustomization.images = images;
  }
  if (Array.isArray(spec.components) && spec.components.length > 0) kustomization.components = [...list("components"), ...spec.components];
}

function renderedObjects(plan: BuildPlan, model: FleetModel, output: string, issues: BuildIssue[]): RenderedObject[] {
  const objects: RenderedObject[] = [];
  const variables = plan.flux?.variables;
  const undefinedReported = new Set<string>();
  const sourceOf = sourceLocator(plan, model);
  const lineContaining = lineFinder(model);
  for (const document of parseAllDocuments(output)) {
    if (document.errors.length > 0) throw new Error(`kustomize output does not parse: ${document.errors[0]!.message}`);
    const value = document.toJS({ maxAliasCount: MAX_ALIASES }) as unknown;
    if (!isRecord(value)) continue;
    const missing = missingIdentity(value);
    if (missing.length > 0) {
      const message = `${describeObject(value)} has no ${missing.join(", ")}, so Flux cannot decode it ("failed to decode Kubernetes apiVersion, kind and name") and fails the whole Kustomization. Set apiVersion, kind and metadata.name.`;
      const at = sourceOf(value);
      issues.push(at ? { rule: "kustomize-build", ...at, message } : rootIssue(plan, message));
      continue;
    }
    let object = asKubeObject(value) as Record<string, unknown>;
    const source = sourceOf(object);
    object = withoutBuildMetadata(object);
    if (variables && plan.flux) {
      // As Flux writes and reads it: kyaml writes single-quoted scalars where needed, and sigs.k8s.io/yaml reads
      // the substituted text with goyaml.v2, YAML 1.1 and not strict (`on` is true, `0644` is octal, a repeated key
      // keeps its last value).
      const parse = (text: string) => parseYaml(text, { ...GO_YAML, maxAliasCount: MAX_ALIASES, uniqueKeys: false }) as Record<string, unknown>;
      const outcome = substituteObject(object, variables, (o) => stringify(o, { ...GO_YAML, lineWidth: 0, singleQuote: true }), parse);
      const at = source ?? { path: plan.flux.doc.path, line: plan.flux.doc.startLine };
      const ref = refOf(asKubeObject(object)!);
      object = outcome.object;
      if (outcome.unparsable) {
        issues.push({
          rule: "postbuild-variables",
          path: at.path,
          line: at.line,
          message: `After substitution, ${ref.kind} ${ref.name} is no longer valid YAML (${outcome.error}), so Flux fails the Kustomization ("post build failed"). Quote the variable where it is used (key: "\${VAR}") or change its value.`,
        });
      } else if (outcome.error) {
        issues.push({
          rule: "postbuild-variables",
          path: at.path,
          line: lineContaining(at, "${") ?? at.line,
          message: outcome.tooCostly
            ? `fleet-warden cannot substitute variables in ${ref.kind} ${ref.name}: ${outcome.error}. Flux would, but what it applies cannot be checked here; shorten the value or the pattern.`
            : `Flux cannot substitute variables in ${ref.kind} ${ref.name}: ${outcome.error}. Flux rejects \${var-default}, \${ var } and \${}; use \${var:=default} or \${var}, or escape a literal as $\${...}.`,
        });
      }
      if (variables.unknownSources.length === 0) {
        for (const name of outcome.undefinedVariables) {
          const key = `${at.path}|${name}`;
          if (undefinedReported.has(key)) continue;
          undefinedReported.add(key);
          issues.push({
            rule: "postbuild-variables",
            path: at.path,
            line: lineContaining(at, `\${${name}`) ?? at.line,
            severity: "warning",
            message: `\${${name}} in ${ref.kind} ${ref.name} is not defined by ${plan.variantOf ?? plan.name}'s postBuild variables, so Flux replaces it with an empty string. Define ${name} in postBuild.substitute or substituteFrom, or give a default with \${${name}:=value}.`,
          });
        }
      }
      const lost = missingIdentity(object);
      if (lost.length > 0) {
        issues.push({
          rule: "postbuild-variables",
          path: at.path,
          line: lineContaining(at, "${") ?? at.line,
          message: `After substitution, ${ref.kind} ${ref.name} has no ${lost.join(", ")}, so Flux cannot decode it ("failed to decode Kubernetes apiVersion, kind and name") and fails the whole Kustomization. Give the variable a value, or a default with \${var:=value}.`,
        });
        continue;
      }
    }
    if (plan.flux) object = withCommonMetadata(object, plan.flux.spec.commonMetadata);
    const kube = asKubeObject(object)!;
    objects.push({ object: kube, ref: refOf(kube), ...(source ? { source } : {}) });
  }
  return objects;
}

/** The fields Flux decodes every rendered object by that it lacks (an empty string counts as missing). */
function missingIdentity(value: unknown): string[] {
  const object = asRecord(value);
  const present = (field: unknown) => typeof field === "string" && field !== "";
  return [
    ...(present(object.apiVersion) ? [] : ["apiVersion"]),
    ...(present(object.kind) ? [] : ["kind"]),
    ...(present(asRecord(object.metadata).name) ? [] : ["metadata.name"]),
  ];
}

/** "ConfigMap web", "The object web" or "An object", from what an object that cannot be decoded has. */
function describeObject(object: Record<string, unknown>): string {
  const { kind } = object;
  const name = asRecord(object.metadata).name;
  const named = typeof name === "string" && name !== "" ? name : undefined;
  if (typeof kind === "string" && kind !== "") return named ? `${kind} ${named}` : `A ${kind}`;
  return named ? `The object ${named}` : "An object";
}

/** kustomize-controller sets spec.commonMetadata's labels and annotations on every object it applies (not on selectors). */
function withCommonMetadata(object: Record<string, unknown>, commonMetadata: unknown): Record<string, unknown> {
  if (commonMetadata === null || typeof commonMetadata !== "object") return object;
  const { labels, annotations } = commonMetadata as Record<string, unknown>;
  const metadata = { ...(object.metadata as Record<string, unknown>) };
  const merge = (key: string, extra: unknown) => {
    if (extra === null || typeof extra !== "object" || Object.keys(extra).length === 0) return;
    metadata[key] = { ...((metadata[key] ?? {}) as Record<string, unknown>), ...(extra as Record<string, unknown>) };
  };
  merge("labels", labels);
  merge("annotations", annotations);
  return { ...object, metadata };
}

/**
 * The repository file and line each object was rendered from, from kustomize's origin annotation. A file can
 * hold thousands of documents, each rendered to an object that names the same file: the annotation is parsed
 * once per text, a file's documents and a kustomization's generators are indexed once.
 */
function sourceLocator(plan: BuildPlan, model: FleetModel): (object: Record<string, unknown>) => { path: string; line: number } | undefined {
  const written = writtenName(plan);
  const origins = new Map<string, Record<string, unknown> | undefined>();
  const parseOrigin = (origin: string) => {
    if (!origins.has(origin)) {
      try {
        origins.set(origin, (parseYaml(origin) ?? {}) as Record<string, unknown>);
      } catch {
        origins.set(origin, undefined);
      }
    }
    return origins.get(origin);
  };
  return (object) => {
    const annotations = ((object.metadata as Record<string, unknown>)?.annotations ?? {}) as Record<string, unknown>;
    const origin = annotations[ORIGIN];
    if (typeof origin !== "string") return undefined;
    const parsed = parseOrigin(origin);
    if (!parsed) return undefined;
    const relative = typeof parsed.path === "string" ? parsed.path : typeof parsed.configuredIn === "string" ? parsed.configuredIn : undefined;
    if (!relative) return undefined;
    const treePath = normalize(plan.folder, relative);
    // kustomize writes the annotation, but a kustomization can overwrite it (commonAnnotations, patches): an origin
    // outside the files the build reads is a forgery, and would move the object's findings to a file of its choosing.
    if (treePath === undefined || !plan.closure.files.has(treePath)) return undefined;
    const path = plan.tree.repoPath(treePath);
    const file = model.file(path);
    const kube = asKubeObject(object);
    // An object that cannot be decoded: the file's first document that cannot be either.
    if (!kube || missingIdentity(kube).length > 0) return { path, line: file?.documents.find((doc) => isRecord(doc.value) && missingIdentity(doc.value).length > 0)?.startLine ?? 1 };
    const ref = refOf(kube);
    if (typeof parsed.configuredIn === "string") {
      const line = generatorLine(file?.documents[0], ref, written(ref.name.replace(HASH_SUFFIX, "")));
      return { path, line: line ?? 1 };
    }
    const documents = file ? documentsOfKind(file, ref.kind) : undefined;
    return { path, line: (documents && documentNamed(documents, ref, written(ref.name)))?.startLine ?? 1 };
  };
}

/** kustomize's content hash on a generated name (ten characters of its own alphabet, which no vowel is in). */
const HASH_SUFFIX = /-[2456789bcdfghkmt]{10}$/;

/** A rendered name as written, without the Flux Kustomization's namePrefix and nameSuffix when it carries them. */
function writtenName(plan: BuildPlan): (renderedName: string) => string {
  const affix = (key: string) => (typeof plan.flux?.spec[key] === "string" ? (plan.flux.spec[key] as string) : "");
  const [prefix, suffix] = [affix("namePrefix"), affix("nameSuffix")];
  return (name) => (name.length > prefix.length + suffix.length && name.startsWith(prefix) && name.endsWith(suffix) ? name.slice(prefix.length, name.length - suffix.length) : name);
}

/** A file's documents of one kind, in file order. */
interface DocumentsOfKind {
  list: SourceDocument[];
  /** The first document of each name, and of each namespace and name. */
  byName: Map<string, SourceDocument>;
  byNamespacedName: Map<string, SourceDocument>;
  /** The documents with a name (an empty one is inside every name), and their names, indexed when first asked. */
  named: SourceDocument[];
  names?: ContainedWords;
}

const documentIndexes = new WeakMap<SourceFile, Map<string, DocumentsOfKind>>();

function documentsOfKind(file: SourceFile, kind: string): DocumentsOfKind | undefined {
  let index = documentIndexes.get(file);
  if (!index) {
    index = new Map();
    for (const doc of file.documents) {
      if (!doc.ref) continue;
      let documents = index.get(doc.ref.kind);
      if (!documents) index.set(doc.ref.kind, (documents = { list: [], byName: new Map(), byNamespacedName: new Map(), named: [] }));
      documents.list.push(doc);
      if (!documents.byName.has(doc.ref.name)) documents.byName.set(doc.ref.name, doc);
      const namespaced = `${doc.ref.namespace ?? ""}/${doc.ref.name}`;
      if (!documents.byNamespacedName.has(namespaced)) documents.byNamespacedName.set(namespaced, doc);
      if (doc.ref.name !== "") documents.named.push(doc);
    }
    documentIndexes.set(file, index);
  }
  return index.get(kind);
}

/**
 * The document of the name as written (without the Flux Kustomization's namePrefix and nameSuffix: every object
 * carries them), else of the rendered name, in the object's namespace first; else the longest name inside the
 * rendered one (an overlay's prefix or suffix added; the first among equals); else the only one.
 */
function documentNamed(documents: DocumentsOfKind, rendered: ObjectRef, writtenName: string): SourceDocument | undefined {
  for (const name of [writtenName, rendered.name]) {
    const exact = documents.byNamespacedName.get(`${rendered.namespace ?? ""}/${name}`) ?? documents.byName.get(name);
    if (exact) return exact;
  }
  documents.names ??= new ContainedWords(documents.named.map((doc) => doc.ref!.name));
  const contained = documents.names.longestIn(rendered.name);
  if (contained !== undefined) return documents.named[contained];
  return documents.list.length === 1 ? documents.list[0] : undefined;
}

/** A kustomization's generator entries of one field: the first of each name, and all their names for a contained-name search. */
interface GeneratorEntries {
  field: "configMapGenerator" | "secretGenerator";
  byName: Map<string, number>;
  words: ContainedWords;
}

const generatorIndexes = new WeakMap<SourceDocument, GeneratorEntries[]>();

/** ConfigMap generators first, as the contained-name search takes them. */
function generatorEntries(doc: SourceDocument): GeneratorEntries[] {
  let generators = generatorIndexes.get(doc);
  if (!generators) {
    generators = (["configMapGenerator", "secretGenerator"] as const).map((field) => {
      const names = asArray(asRecord(doc.value)[field]).map((entry) => {
        const name = asRecord(entry).name;
        return typeof name === "string" ? name : undefined;
      });
      const byName = new Map<string, number>();
      for (const [index, name] of names.entries()) if (name !== undefined && !byName.has(name)) byName.set(name, index);
      return { field, byName, words: new ContainedWords(names) };
    });
    generatorIndexes.set(doc, generators);
  }
  return generators;
}

/**
 * The line of the generator entry of the object's kind and written name; else of the first entry whose name is
 * inside the rendered name, ConfigMap generators first.
 */
function generatorLine(doc: SourceDocument | undefined, rendered: ObjectRef, writtenName: string): number | undefined {
  if (!doc) return undefined;
  const generators = generatorEntries(doc);
  const own = generators.find((generator) => generator.field === (rendered.kind === "Secret" ? "secretGenerator" : "configMapGenerator"))!;
  const exact = own.byName.get(writtenName);
  if (exact !== undefined) return doc.valueLine([own.field, exact]);
  for (const { field, words } of generators) {
    const index = words.firstIn(rendered.name);
    if (index !== undefined) return doc.valueLine([field, index]);
  }
  return undefined;
}

function normalize(folder: string, relative: string): string | undefined {
  const parts = (folder === "" ? [] : folder.split("/")).concat(relative.split("/"));
  const out: string[] = [];
  for (const part of parts) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length === 0) return undefined;
      out.pop();
    } else out.push(part);
  }
  return out.join("/");
}

/** kustomize's build annotations are bookkeeping, not part of what is applied. */
function withoutBuildMetadata(object: Record<string, unknown>): Record<string, unknown> {
  const metadata = { ...(object.metadata as Record<string, unknown>) };
  const annotations = { ...((metadata.annotations ?? {}) as Record<string, unknown>) };
  delete annotations[ORIGIN];
  delete annotations[TRANSFORMATIONS];
  if (Object.keys(annotations).length === 0) delete metadata.annotations;
  else metadata.annotations = annotations;
  return { ...object, metadata };
}

/**
 * The first line at or after the object's line that contains `needle` (the object's own document first), else
 * the file's first. Each file's lines are searched once per needle: every object of a file can ask.
 */
function lineFinder(model: FleetModel): (at: { path: string; line: number }, needle: string) => number | undefined {
  const found = new Map<string, number[]>();
  return (at, needle) => {
    const key = JSON.stringify([at.path, needle]);
    let lines = found.get(key);
    if (!lines) {
      lines = [];
      for (const [index, line] of (model.file(at.path)?.lines ?? []).entries()) if (line.includes(needle)) lines.push(index + 1);
      found.set(key, lines);
    }
    return lines[lowerBound(lines, at.line)] ?? lines[0];
  };
}

/**
 * The patch file (tree path) of a strategic-merge patch that matched nothing: kustomize names its target's Id
 * (`Kind.version.group/name.namespace`), not the file.
 */
function unmatchedPatchFile(plan: BuildPlan, model: FleetModel, error: string): string | undefined {
  const id = /no resource matches strategic merge patch "([^".]+)\.[^"/]*\/([^"]+)\.[^".]+"/.exec(error);
  if (!id) return undefined;
  const [, kind, name] = id;
  return [...plan.closure.files].find((file) => model.file(plan.tree.repoPath(file))?.documents.some((doc) => doc.ref?.kind === kind && doc.ref?.name === name) && !isKustomizationFile(file));
}

/** A kustomize error on the kustomization file, at the entry it names when it names one (innermost kustomization first). */
function attributeError(plan: BuildPlan, model: FleetModel, error: string): BuildIssue {
  const message = `kustomize build failed: ${error}`;
  const unmatched = unmatchedPatchFile(plan, model, error);
  const named = (value: string, folder: string) =>
    [`'${value}'`, `"${value}"`, `(${value})`].some((quoted) => error.includes(quoted)) || (unmatched !== undefined && posix.join(folder, value) === unmatched);
  for (const folder of [...plan.closure.folders].reverse()) {
    const kustomization = kustomizationFileIn(folder, (file) => plan.closure.files.has(file));
    if (!kustomization) continue;
    const repoPath = plan.tree.repoPath(kustomization);
    const lines = model.file(repoPath)?.lines ?? [];
    const index = lines.findIndex((line) => {
      const entry = /^\s*(?:-\s*)?(?:path:\s*)?["']?([^"'\s#]+)["']?\s*(?:#.*)?$/.exec(line)?.[1];
      return entry !== undefined && entry !== "-" && named(entry, folder);
    });
    if (index !== -1) return { rule: "kustomize-build", path: repoPath, line: index + 1, message };
  }
  return rootIssue(plan, message);
}

/** An issue on the build's own kustomization file, else on the Flux Kustomization's spec.path. */
function rootIssue(plan: BuildPlan, message: string): BuildIssue {
  const root = rootKustomizationFile(plan);
  if (root) return { rule: "kustomize-build", path: plan.tree.repoPath(root), line: 1, message };
  const doc = plan.flux?.doc;
  return { rule: "kustomize-build", path: doc?.path ?? plan.tree.repoPath(posix.join(plan.folder, "kustomization.yaml")), line: doc?.keyLine(["spec", "path"]) ?? doc?.startLine ?? 1, message };
}
