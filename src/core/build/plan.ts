// Which builds a tree holds: every Flux Kustomization whose source is this repository (built as
// kustomize-controller builds it), and every kustomization folder no Flux Kustomization and no other
// kustomization reaches (built with kustomize's defaults, so that bases and tenant repositories are
// validated too). Each plan knows every repository file that can change its output.
import { posix } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { isYamlPath, mayMention, refOf, type FleetModel, type KubeObject, type SourceDocument } from "../fleet.js";
import {
  clusterOf,
  FLUX_KUSTOMIZE_GROUP,
  FLUX_SYSTEM,
  gitRepositoryCopies,
  type GitRepositoryCopy,
  gitRepositoryDocuments,
  gitRepositorySpec,
  isFluxKustomization,
  normalizeRepoPath,
  sourceRefOf,
  specNamesRepository,
  specOf,
  type SourceScope,
} from "../flux.js";
import type { Build, SpecialFile } from "../types.js";
import { ClosureWalker, folderOf, foldersOf, isKustomizationFile, join, kustomizationFileIn, remoteReason, type Closure } from "./kustomization.js";
import { externalArtifactTree } from "./artifacts.js";
import { defaultIgnored, gitRepositoryOptions, gitRepositoryTree, includedFolderOf, isInFolder, pathsUnder, plainTree, repoFolder, type SourceTree } from "./tree.js";
import { resolveVariables, type Variables } from "./variables.js";
import { isRecord } from "../values.js";

export interface FluxSettings {
  /** The source document the Kustomization comes from (for lines); its spec may differ from `object`'s. */
  doc: SourceDocument;
  /** The Kustomization as Flux sees it: the source document, or the object a parent Kustomization rendered. */
  object: KubeObject;
  spec: Record<string, unknown>;
  /** e.g. "clusters/production". */
  cluster: string;
  variables: Variables;
}

export interface BuildPlan {
  /** "flux-system/apps (clusters/production)" for a Flux Kustomization, the folder for a plain root. */
  name: string;
  /** Repository path of the folder built ("" is the root). */
  path: string;
  tree: SourceTree;
  /** Tree path of the folder built. */
  folder: string;
  closure: Closure;
  /** Resources of the kustomization Flux generates when the folder has none (relative to the folder). */
  generated?: string[];
  flux?: FluxSettings;
  /** Every repository file whose change can change this build. */
  inputs: Set<string>;
  /** For a build of a Kustomization from another artifact than its likeliest (FluxVariant): the name of its likeliest build. */
  variantOf?: string;
  /** The label of that other artifact: what the Kustomizations such a build deploys read their sources through too. */
  world?: string;
  /** Why a variant is built: a note, given when it runs. */
  variantNote?: string;
}

export interface PlanInput {
  model: FleetModel;
  repository: { owner: string; name: string };
  specialFiles: readonly SpecialFile[];
  /** Per cluster, the repository files its Kustomizations deploy, from an earlier planning: which source copies count. */
  deployed?: ReadonlyMap<string, ReadonlySet<string>>;
  /** Filled while planning: per `cluster|namespace/name`, the specs through which Flux reads this commit (null: none does). */
  readings?: SourceReadings;
  /** On the head side, the base side's `readings`: how the source read the merged commit before the change applies. */
  readBefore?: ReadonlyMap<string, readonly Record<string, unknown>[] | null>;
  /** On the head side, the base's model: the ArtifactGenerators as they were, which generate from the merged commit until the change applies. */
  baseModel?: FleetModel;
}

export type SourceReadings = Map<string, Record<string, unknown>[] | null>;

/** A Flux Kustomization to build: where it is written, and what Flux sees. */
export interface FluxTarget {
  doc: SourceDocument;
  object: KubeObject;
  cluster: string;
  /** The files of its source: this repository as a GitRepository artifact, or an ExternalArtifact rebuilt from it. */
  tree: SourceTree;
  /** Why the Kustomization is refused before it is built: Flux cannot produce its source, or fleet-warden cannot build every artifact. */
  sourceFails?: string;
  /** The other artifacts Flux may build it from (another copy of its GitRepository, or the source as it was): each one is built too. */
  variants?: FluxVariant[];
}

/** An artifact of the commit under review that Flux may serve a Kustomization besides its likeliest one. */
export interface FluxVariant {
  /** Appended to the Kustomization's name: "with GitRepository team/lib as it was". */
  label: string;
  tree: SourceTree;
  sourceFails?: string;
  /** Why it is built: a note, given when the build runs. */
  note: string;
}

/** A note on a Kustomization that is not built, with the document it is about. */
export interface PlanNote {
  doc: SourceDocument;
  text: string;
}

/** Flux Kustomizations as written in the repository whose source is this repository. */
export function sourceFluxTargets(input: PlanInput, trees: Map<string, SourceTree>): { targets: FluxTarget[]; notes: PlanNote[] } {
  const notes: PlanNote[] = [];
  const targets: FluxTarget[] = [];
  for (const doc of input.model.fluxObjects().filter((doc) => isFluxKustomization(doc.ref))) {
    const texts: string[] = [];
    const target = withSource({ doc, object: doc.object!, cluster: clusterOf(doc.path) }, input, trees, texts);
    if (target) targets.push(target);
    notes.push(...texts.map((text) => ({ doc, text })));
  }
  return { targets, notes };
}

/** What a parent Kustomization deploys: the Kustomizations to build from this repository, and the documents of every one. */
export interface Deployed {
  targets: FluxTarget[];
  /** Source documents of the Kustomizations deployed, buildable or not: their form as written is not what Flux applies. */
  documents: SourceDocument[];
  /** Why a Kustomization deployed is not built. */
  notes: string[];
}

/** The Flux Kustomizations of a parent that renders them as written: its files' documents, in the parent's cluster. */
export function writtenFluxTargets(parent: BuildPlan, input: PlanInput, trees: Map<string, SourceTree>): Deployed {
  const deployed: Deployed = { targets: [], documents: [], notes: [] };
  const documents = [...parent.closure.files].sort().flatMap((file) => input.model.file(parent.tree.repoPath(file))?.documents ?? []);
  // Sources deployed alongside, as renderedFluxTargets finds them: not a same-named source of another cluster.
  const siblings = documents.filter((doc) => doc.ref?.kind === "GitRepository").map((doc) => doc.object!);
  const parentFiles = new Set(repoFilesOf(parent));
  for (const doc of documents) {
    if (!isFluxKustomization(doc.ref)) continue;
    deployed.documents.push(doc);
    const target = withSource({ doc, object: doc.object!, cluster: parent.flux!.cluster }, input, trees, deployed.notes, siblings, parentFiles);
    if (target) deployed.targets.push(target);
  }
  return deployed;
}

/** Flux Kustomizations a parent build rendered (as patched by its overlays), in the parent's cluster. */
export function renderedFluxTargets(parent: BuildPlan, build: Build, input: PlanInput, trees: Map<string, SourceTree>): Deployed {
  const deployed: Deployed = { targets: [], documents: [], notes: [] };
  // Sources rendered alongside, with the namespace the parent's kustomization gave them.
  const siblings = build.objects.filter((rendered) => rendered.ref.kind === "GitRepository").map((rendered) => rendered.object as KubeObject);
  const parentFiles = new Set(repoFilesOf(parent));
  for (const rendered of build.objects) {
    if (!isFluxKustomization(rendered.ref)) continue;
    const object = rendered.object as KubeObject;
    const source = rendered.source ? input.model.documentAt(rendered.source.path, rendered.source.line) : undefined;
    const doc = source?.ref?.kind === "Kustomization" ? source : undefined;
    if (doc) deployed.documents.push(doc);
    const target = withSource({ doc: doc ?? parent.flux!.doc, object, cluster: parent.flux!.cluster }, input, trees, deployed.notes, siblings, parentFiles);
    if (target) deployed.targets.push(target);
  }
  return deployed;
}

/**
 * The target with its source's files, when its source is this repository (directly, or through an ArtifactGenerator).
 * `siblings`: the sources its parent renders with it, from the parent's files `renderedFrom`.
 */
function withSource(
  target: Omit<FluxTarget, "tree">,
  input: PlanInput,
  trees: Map<string, SourceTree>,
  notes: string[],
  siblings: readonly KubeObject[] = [],
  renderedFrom?: ReadonlySet<string>,
): FluxTarget | undefined {
  const { kind, name, namespace } = sourceRefOf({ object: target.object, ref: refOf(target.object) });
  const scope: SourceScope = {
    cluster: target.cluster,
    ...(input.deployed ? { deployed: input.deployed.get(target.cluster) ?? new Set() } : {}),
    ...(renderedFrom ? { renderedFrom } : {}),
  };
  const at: SourceLookup = { input, trees, siblings, scope };
  const asTheyWere: SourceLookup = { ...at, asItWas: true };
  const asItWasNote = (label: string) =>
    `${fluxName(target)} is also built ${label}: a change to a GitRepository's spec.ignore, sparseCheckout or include takes effect once a Kustomization applies it, and until then source-controller serves the merged commit with the rules it had.`;
  if (kind === "ExternalArtifact") {
    const artifactOf = (lookup: SourceLookup, generators: FleetModel) =>
      externalArtifactTree(name, namespace, target.doc.path, generators, (sourceName, sourceNamespace) => thisCommitTree(sourceName, sourceNamespace, lookup));
    const artifact = artifactOf(at, input.model);
    if (!artifact.tree && !artifact.fails) {
      notes.push(`${fluxName(target)} reads the ExternalArtifact ${namespace}/${name}, which is not built: ${artifact.problem}.`);
      return undefined;
    }
    const main = artifact.tree ? { tree: artifact.tree } : { tree: NO_FILES, sourceFails: `spec.sourceRef: the ExternalArtifact ${namespace}/${name} is never produced (${artifact.problem}), so the Kustomization fails.` };
    // On the head only (the base's generators and sources are as they were): the merged commit generated as before the change.
    const before = input.baseModel ? artifactOf(asTheyWere, input.baseModel).tree : undefined;
    if (!before || before.key === artifact.tree?.key) return { ...target, ...main };
    const label = `with the ExternalArtifact ${namespace}/${name} generated as it was`;
    return { ...target, ...main, variants: [{ label, tree: before, note: asItWasNote(label) }] };
  }
  if (kind !== "GitRepository" || name === "") return undefined;
  const reading = readSource(name, namespace, at);
  const source = `GitRepository ${namespace}/${name}`;
  if (reading?.otherCopy) notes.push(`${fluxName(target)} reads the ${source}, of which one copy reads ${reading.otherCopy} and another this commit: it is built.`);
  if (reading?.raced) {
    notes.push(`${fluxName(target)} is built from its ${source} as it was: the change to it (it ${reading.raced}) takes effect once a Kustomization applies it, and until then source-controller serves the merged commit through it.`);
  } else if (!reading) {
    return undefined;
  } else if (reading.otherRevision) {
    notes.push(`${fluxName(target)} reads ${reading.otherRevision}, not the commit under review: it is not built.`);
    return undefined;
  }
  const sourced = (spec: Record<string, unknown>, lookup = at) => {
    const tree = gitSourceTree(name, namespace, spec, lookup);
    return tree.fails ? { tree: { ...tree, paths: [] }, sourceFails: `spec.sourceRef: the ${source} fails: ${tree.fails}, so the Kustomization fails.` } : { tree };
  };
  const main = sourced(reading.spec);
  // Every other artifact Flux may serve this commit through (other ignore rules, sparse checkout or includes) is built too.
  const seen = new Set([main.tree.key]);
  const variants: FluxVariant[] = [];
  const addVariant = (variant: ReturnType<typeof sourced>, label: string, note: string) => {
    if (seen.has(variant.tree.key)) return;
    seen.add(variant.tree.key);
    variants.push({ label, ...variant, note });
  };
  // Flux applies each copy the cluster deploys in turn: whichever was applied last serves this commit, with its rules.
  const copyOf = (copied: string, copy: GitRepositoryCopy) => `the GitRepository ${copied} of ${copy.path ?? "its parent's build"}`;
  const addCopy = (copied: string, copy: GitRepositoryCopy, lookup: SourceLookup, spec = copy.spec, also = "") => {
    const label = `with ${copyOf(copied, copy)}${also}`;
    const note = `${fluxName(target)} is also built ${label}: the cluster deploys more than one copy of the GitRepository ${copied}, and each one serves this commit with its own spec.ignore, sparseCheckout or include.`;
    addVariant(sourced(spec, lookup), label, note);
  };
  for (const [index, copy] of [reading, ...(reading.otherCopies ?? [])].entries()) {
    if (index > 0) addCopy(`${namespace}/${name}`, copy, at);
    // So does each copy of a GitRepository it includes, with each copy of the source: the copies of each take turns.
    for (const include of gitRepositoryOptions(copy.spec, namespace).includes ?? []) {
      const included = `${include.namespace}/${include.name}`;
      const includedReading = readSource(include.name, include.namespace, at);
      if (!includedReading || includedReading.otherRevision) continue;
      const also = ` included${index > 0 ? ` and ${copyOf(`${namespace}/${name}`, copy)}` : ""}`;
      for (const includedCopy of [includedReading, ...(includedReading.otherCopies ?? [])]) addCopy(included, includedCopy, { ...at, picked: { source: included, spec: includedCopy.spec } }, copy.spec, also);
    }
  }
  // On the head: the source, and what it includes, as the base read this commit through them.
  const asItWas = `with ${source} as it was`;
  if (input.readBefore) {
    (reading.before ?? [reading.spec]).forEach((spec, index) => {
      const label = index === 0 ? asItWas : `${asItWas} (its copy ${index + 1})`;
      addVariant(sourced(spec, asTheyWere), label, asItWasNote(label));
    });
  }
  if (variants.length > MAX_VARIANTS) {
    // Copies multiply (each copy of the source with each copy of what it includes): refused rather than built partly.
    const refused = `spec.sourceRef: Flux may serve this Kustomization ${variants.length + 1} different artifacts (copies of the ${source} and of what it includes, each with its own rules), more than the ${MAX_VARIANTS + 1} fleet-warden builds, so what it applies is not judged. Remove the extra copies.`;
    // Whatever changes the copies or the folder changes what Flux may apply from it.
    const definitionPaths = [...new Set([main.tree, ...variants.map((variant) => variant.tree)].flatMap((tree) => tree.definitionPaths))];
    return { ...target, tree: { ...main.tree, definitionPaths }, sourceFails: refused };
  }
  return { ...target, ...main, ...(variants.length > 0 ? { variants } : {}) };
}

/** Builds of one Kustomization from other artifacts than its likeliest, at most: past that it is refused. */
const MAX_VARIANTS = 15;

/**
 * How Flux reads GitRepository `namespace/name` where `at` says, a change to it included: if the base read this
 * commit through it, a change that pins, suspends or moves it takes effect once a Kustomization applies it, after
 * source-controller has fetched the merged commit through the source as it was, which is then applied meanwhile.
 */
function readSource(name: string, namespace: string, at: SourceLookup): SourceReading | undefined {
  const { input, siblings, scope } = at;
  const reading = sourceReading(name, namespace, input, siblings, scope);
  const key = readingKey(scope.cluster, namespace, name);
  if (reading && !reading.otherRevision) {
    if (input.readings) addReadings(input.readings, key, reading);
    const before = input.readBefore?.get(key);
    return before ? { ...reading, before } : reading;
  }
  // One parent's copy reading this commit is enough for the cluster to read it: none undoes it.
  if (!input.readings?.has(key)) input.readings?.set(key, null);
  const before = input.readBefore?.get(key);
  if (!before) return reading;
  const raced = reading ? `reads ${reading.otherRevision}` : gitRepositorySpec(name, namespace, input.model, siblings, scope) ? "reads another repository" : "is deleted";
  return { spec: before[0]!, raced, before };
}

function readingKey(cluster: string, namespace: string, name: string): string {
  return `${cluster}|${namespace}/${name}`;
}

/** Adds the specs through which the cluster reads this commit: each copy it deploys that does. */
function addReadings(readings: SourceReadings, key: string, reading: SourceReading): void {
  const specs = readings.get(key) ?? [];
  for (const spec of [reading.spec, ...(reading.otherCopies ?? []).map((copy) => copy.spec)]) if (!specs.some((known) => isDeepStrictEqual(known, spec))) specs.push(spec);
  readings.set(key, specs);
}

/**
 * Records, for every GitRepository of this repository a cluster deploys that no Kustomization looked up, its spec when
 * it reads this commit: the head races a change to it too (a Kustomization the change adds reads it).
 */
export function recordDeployedReadings(fluxPlans: readonly BuildPlan[], input: PlanInput, readings: SourceReadings): void {
  const documents = gitRepositoryDocuments(input.model);
  for (const [cluster, files] of deployedFiles(fluxPlans)) {
    for (const doc of documents.filter((candidate) => files.has(candidate.path))) {
      const namespace = doc.ref!.namespace ?? FLUX_SYSTEM;
      const key = readingKey(cluster, namespace, doc.ref!.name);
      const reading = readings.has(key) ? undefined : sourceReading(doc.ref!.name, namespace, input, [], { cluster, deployed: files });
      if (reading && !reading.otherRevision) addReadings(readings, key, reading);
    }
  }
}

/**
 * How Flux reads GitRepository `namespace/name` of this repository (undefined: it is another repository): the copy read,
 * the first that reads this commit, else the likeliest.
 */
interface SourceReading extends GitRepositoryCopy {
  /** What every copy reads instead of this commit: another branch, a pinned revision, the last artifact. */
  otherRevision?: string;
  /** What a likelier copy than the one read reads instead of this commit. */
  otherCopy?: string;
  /** What the change makes of it ("reads tag v2 of this repository", "is deleted"), while Flux reads this commit through `spec`, the source as it was. */
  raced?: string;
  /** The other copies the cluster deploys that read this commit too (Flux applies each in turn). */
  otherCopies?: GitRepositoryCopy[];
  /** The specs through which the base read this commit, when it did, likeliest first: the source as it was until the change applies. */
  before?: readonly Record<string, unknown>[];
}

/**
 * How Flux reads GitRepository `namespace/name` where `scope` says. Of several copies the cluster may read, the first
 * that reads this commit decides: a copy that reads another revision, a tenant's pinned decoy, can add a build but
 * never skip one.
 */
function sourceReading(name: string, namespace: string, input: Pick<PlanInput, "model" | "repository">, siblings: readonly KubeObject[], scope: SourceScope): SourceReading | undefined {
  const copies = gitRepositoryCopies(name, namespace, input.model, siblings, scope);
  if (name === FLUX_SYSTEM && namespace === FLUX_SYSTEM) {
    // The cluster's own (bootstrap's) decides whatever it reads; another copy it deploys that reads this commit is one
    // more artifact.
    const [first, ...rest] = copies;
    if (!first) return { spec: {} };
    const others = rest.filter((copy) => specNamesRepository(copy.spec, input.repository) && otherRevisionOf(copy.spec, branchOf(first.spec)) === undefined);
    return { ...first, ...(others.length > 0 ? { otherCopies: others } : {}) };
  }
  const ours = copies.filter((copy) => specNamesRepository(copy.spec, input.repository));
  if (ours.length === 0) return undefined;
  // Without flux-system's own GitRepository in the repository, `flux bootstrap`'s default branch.
  const fluxSystem = gitRepositorySpec(FLUX_SYSTEM, FLUX_SYSTEM, input.model, siblings, scope);
  const fleetBranch = fluxSystem ? branchOf(fluxSystem) : "main";
  const [reading, ...others] = ours.filter((copy) => otherRevisionOf(copy.spec, fleetBranch) === undefined);
  const likeliest = otherRevisionOf(ours[0]!.spec, fleetBranch);
  if (!reading) return { spec: ours[0]!.spec, otherRevision: likeliest! };
  return { ...reading, ...(likeliest ? { otherCopy: likeliest } : {}), ...(others.length > 0 ? { otherCopies: others } : {}) };
}

/** The branch a GitRepository follows: source-controller's default is master when its ref names nothing. */
function branchOf(spec: Record<string, unknown>): string {
  const ref = isRecord(spec.ref) ? spec.ref : {};
  return typeof ref.branch === "string" && ref.branch !== "" ? ref.branch : "master";
}

/**
 * What a GitRepository of this repository reads instead of the commit under review: another branch, a pin, its last
 * artifact. As source-controller's CheckoutStrategyForRef: an empty field is unset; a commit, then a ref name, then a
 * semver range, then a tag wins over the branch.
 */
function otherRevisionOf(spec: Record<string, unknown>, fleetBranch: string): string | undefined {
  // Suspended, it keeps serving its last artifact.
  if (spec.suspend === true) return "its last artifact (it is suspended)";
  const ref = isRecord(spec.ref) ? spec.ref : {};
  for (const pinned of ["commit", "name", "semver", "tag"]) {
    const value = ref[pinned];
    if (typeof value !== "string" || value === "") continue;
    // A ref name of the fleet's branch is that branch's head.
    if (pinned === "name" && value === `refs/heads/${fleetBranch}`) return undefined;
    return `${pinned} ${value} of this repository`;
  }
  const branch = branchOf(spec);
  return branch !== fleetBranch ? `branch ${branch} of this repository` : undefined;
}

/** True when the plan's files hold Flux Kustomizations: building it tells which Kustomizations Flux then builds. */
export function rendersFluxKustomizations(plan: BuildPlan, model: FleetModel): boolean {
  const holders = fluxKustomizationFiles(model);
  return [...plan.closure.files].some((file) => {
    const path = plan.tree.repoPath(file);
    if (holders.has(path)) return true;
    // The model finds Flux objects in *.yaml files only; kustomize also reads a resource such as team.json. Other
    // files (generator inputs, mostly) are parsed only when their text can hold one, as the model decides.
    if (isYamlPath(path) || !mayMention(model.readText(path) ?? "", FLUX_KUSTOMIZE_GROUP)) return false;
    return model.file(path)?.documents.some((doc) => isFluxKustomization(doc.ref)) ?? false;
  });
}

const kustomizationHolders = new WeakMap<FleetModel, ReadonlySet<string>>();

/** Repository files holding a Flux Kustomization, found once per model (without parsing every other file). */
function fluxKustomizationFiles(model: FleetModel): ReadonlySet<string> {
  let holders = kustomizationHolders.get(model);
  if (!holders) kustomizationHolders.set(model, (holders = new Set(model.fluxObjects().filter((doc) => isFluxKustomization(doc.ref)).map((doc) => doc.path))));
  return holders;
}

/** Flux spec fields that change the objects a Kustomization applies. */
const TRANSFORMING_SPEC = ["targetNamespace", "namePrefix", "nameSuffix", "patches", "patchesStrategicMerge", "patchesJson6902", "images", "components", "commonMetadata", "postBuild"];
/** Kustomization fields that only say which files to read. */
const LISTING_ONLY = new Set(["apiVersion", "kind", "metadata", "resources", "bases"]);

/**
 * True when the plan only lists resources, under a Flux spec that adds nothing to what it applies: it
 * deploys the Kustomizations in its files exactly as written, and need not be built to find them.
 */
export function rendersAsWritten(plan: BuildPlan, model: FleetModel): boolean {
  if (TRANSFORMING_SPEC.some((key) => plan.flux?.spec[key] !== undefined && plan.flux?.spec[key] !== null)) return false;
  return [...plan.closure.folders].every((folder) => {
    const file = kustomizationFileIn(folder, (path) => plan.closure.files.has(path));
    const value = file === undefined ? undefined : model.file(plan.tree.repoPath(file))?.documents[0]?.value;
    return value !== null && typeof value === "object" && Object.keys(value).every((key) => LISTING_ONLY.has(key));
  });
}

export function fluxName(target: Pick<FluxTarget, "object" | "cluster">): string {
  const ref = refOf(target.object);
  return `${ref.namespace ?? FLUX_SYSTEM}/${ref.name} (${target.cluster})`;
}

/** The builds of a Flux Kustomization: from its likeliest artifact, then from each of its variants. */
export function planFluxVariants(target: FluxTarget, input: PlanInput): [BuildPlan, ...BuildPlan[]] {
  const plan = planFlux(target, input);
  const { sourceFails: _, variants: __, ...source } = target;
  const variants = (target.variants ?? [])
    .map(({ label, note, ...artifact }) => ({
      ...planFlux({ ...source, ...artifact }, input),
      name: `${plan.name} ${label}`,
      variantOf: plan.name,
      world: label,
      variantNote: note,
    }))
    // Rules that leave out nothing the build reads make the same build.
    .filter((variant) => buildShape(variant) !== buildShape(plan));
  return [plan, ...variants];
}

/** What a plan's build reads and does, whatever artifact it comes from: equal shapes render the same. */
function buildShape(plan: BuildPlan): string {
  return JSON.stringify([repoFilesOf(plan).sort(), plan.generated ?? null, plan.closure.issues, plan.closure.unseen ?? null, plan.tree.fails ?? null]);
}

export function planFlux(target: FluxTarget, input: PlanInput): BuildPlan {
  const { model } = input;
  const { doc } = target;
  const spec = specOf(target);
  const { tree } = target;
  const walker = new ClosureWalker(tree, model, input.specialFiles);
  const specLine = (key: string) => doc.keyLine(["spec", key]) ?? doc.startLine;
  const rawPath = typeof spec.path === "string" ? spec.path : "";
  const folder = normalizeRepoPath(rawPath);
  const variables = resolveVariables(target, model);
  const plan: BuildPlan = {
    name: fluxName(target),
    path: repoFolder(tree, folder),
    tree,
    folder,
    closure: walker.closure,
    flux: { doc, object: target.object, spec, cluster: target.cluster, variables },
    inputs: new Set([...tree.definitionPaths, ...variables.inputs]),
  };
  if (target.sourceFails) {
    walker.refuse(doc.path, doc.keyLine(["spec", "sourceRef"]) ?? doc.startLine, target.sourceFails);
    for (const path of pathsUnder(tree, folder)) plan.inputs.add(tree.repoPath(path));
    return plan;
  }
  // Under a folder another GitRepository provides, or above one that Flux's generated kustomization reaches.
  const included = includedFolderOf(tree, folder) ?? (walker.kustomizationFile(folder) ? undefined : tree.included?.find((candidate) => generationReaches(folder, candidate.path, walker)));
  if (included) {
    walker.unsee(`its spec.path ${rawPath || "."} reads ${included.path || "."}, which ${included.source} copies in (spec.include)`);
    // Whatever changes below it changes what Flux applies from it.
    for (const path of pathsUnder(tree, folder)) plan.inputs.add(tree.repoPath(path));
    return plan;
  }
  if (!foldersOf(tree.paths).has(folder) && tree.emptyFolders?.().includes(folder)) {
    // The artifact keeps the folder, empty: Flux builds nothing from it, and prune deletes what it applied before.
    const prune = spec.prune === true ? ", and with prune: true it deletes everything it applied before" : "";
    walker.refuse(doc.path, specLine("path"), `spec.path "${rawPath}" holds no file of the Flux source (.sourceignore or the GitRepository's spec.ignore leaves out every file under it): Flux applies nothing from it${prune}.`);
    return plan;
  }
  if (!foldersOf(tree.paths).has(folder)) {
    walker.refuse(doc.path, specLine("path"), `spec.path "${rawPath}" is not a folder of the Flux source (it does not exist, or .sourceignore or the GitRepository's spec.sparseCheckout leaves it out), so the Kustomization fails to build.`, "flux-path-exists");
    return plan;
  }
  if (walker.kustomizationFile(folder)) walker.walkFolder(folder);
  else plan.generated = generateResources(tree, folder, walker, model, { path: doc.path, line: specLine("path") });
  const components = Array.isArray(spec.components) ? spec.components : [];
  components.forEach((component, index) => {
    const line = doc.valueLine(["spec", "components", index]) ?? specLine("components");
    if (typeof component !== "string") return;
    if (remoteReason(component) || component.startsWith("/")) {
      walker.refuse(doc.path, line, `spec.components entry "${component}" must be a local relative path; Flux refuses remote or absolute components.`);
      return;
    }
    const resolved = walker.resolve(folder, component);
    if (resolved.kind === "refused" && spec.ignoreMissingComponents === true && !resolved.reason.includes("leaves")) return;
    if (resolved.kind === "refused") walker.refuse(doc.path, line, `spec.components entry "${component}": ${resolved.reason}`);
    else if (resolved.kind === "unseen") return;
    else if (resolved.kind === "file") walker.refuse(doc.path, line, `spec.components entry "${component}" is a file; a component is a folder with a kustomization.`);
    else walker.walkFolder(resolved.path, [], { path: doc.path, line });
  });
  return plan;
}

/**
 * Whether the kustomization Flux generates for `folder` reads `target` below it: it lists every manifest below,
 * but adds a sub-folder with its own kustomization as a whole (whose entries then decide).
 */
function generationReaches(folder: string, target: string, walker: ClosureWalker): boolean {
  if (target === folder || !isInFolder(target, folder)) return false;
  const segments = (folder === "" ? target : target.slice(folder.length + 1)).split("/");
  for (let depth = 1; depth < segments.length; depth++) if (walker.kustomizationFile(join(folder, segments.slice(0, depth).join("/")))) return false;
  return true;
}

const NO_FILES: SourceTree = { paths: [], repoPath: (path) => path, definitionPaths: [] };

/**
 * The artifact of GitRepository `namespace/name` when Flux reads the commit under review through it (it is this
 * repository, on flux-system's branch); undefined otherwise, or when it is already being included (a cycle).
 */
function thisCommitTree(name: string, namespace: string, at: SourceLookup, including: ReadonlySet<string> = new Set()): SourceTree | undefined {
  if (including.has(`${namespace}/${name}`)) return undefined;
  const reading = readSource(name, namespace, at);
  if (!reading || reading.otherRevision) return undefined;
  const spec = at.picked?.source === `${namespace}/${name}` ? at.picked.spec : at.asItWas ? (reading.before?.[0] ?? reading.spec) : reading.spec;
  return gitSourceTree(name, namespace, spec, at, including);
}

/** Where a Kustomization looks its sources up: its side's trees so far, the sources rendered with it, its cluster. */
interface SourceLookup {
  input: PlanInput;
  trees: Map<string, SourceTree>;
  siblings: readonly KubeObject[];
  scope: SourceScope;
  /** Sources as the base read this commit through them (see SourceReading.before): what Flux serves until the change applies. */
  asItWas?: boolean;
  /** One included source (`namespace/name`) read through this copy rather than its likeliest. */
  picked?: { source: string; spec: Record<string, unknown> };
}

/**
 * A GitRepository artifact of this repository, shaped by its ignore rules, sparse checkout and includes (shared by
 * equal specs). An included GitRepository that is this repository at the same revision is rebuilt the same way.
 */
function gitSourceTree(name: string, namespace: string, spec: Record<string, unknown>, at: SourceLookup, including: ReadonlySet<string> = new Set()): SourceTree {
  const { input: { model }, trees } = at;
  const options = gitRepositoryOptions(spec, namespace);
  const includes = (options.includes ?? []).map((include) => {
    // A GitRepository that includes itself, directly or not, waits for ever: left unseen.
    const tree = thisCommitTree(include.name, include.namespace, at, new Set([...including, `${namespace}/${name}`]));
    return tree ? { ...include, tree } : include;
  });
  // The artifact depends only on these rules: every source of this repository with the same rules (one per tenant,
  // often hundreds) shares one tree instead of matching every path against the ignore patterns again.
  const key = `git-repository:${JSON.stringify({ ...options, includes: includes.map(({ tree, ...include }) => ({ ...include, tree: tree?.key })) })}`;
  let tree = trees.get(key);
  if (!tree) {
    tree = { ...gitRepositoryTree(model, { ...options, includes }, at.input.specialFiles), key };
    trees.set(key, tree);
  }
  return tree;
}

/**
 * kustomize-controller's generated kustomization: a lexical walk of the folder, every *.yaml/*.yml file as
 * a resource (each must hold Kubernetes objects), a sub-folder with its own kustomization added as a folder
 * and not descended into.
 */
function generateResources(tree: SourceTree, folder: string, walker: ClosureWalker, model: FleetModel, via: { path: string; line: number }): string[] {
  const children = new Map<string, Set<string>>();
  for (const path of pathsUnder(tree, folder)) {
    // An empty segment would name the folder itself, and the walk below would never end.
    const parts = (folder === "" ? path : path.slice(folder.length + 1)).split("/").filter((part) => part !== "");
    for (let depth = 0; depth < parts.length; depth++) {
      const parent = parts.slice(0, depth).join("/");
      if (!children.has(parent)) children.set(parent, new Set());
      children.get(parent)!.add(parts[depth]! + (depth < parts.length - 1 ? "/" : ""));
    }
  }
  const resources: string[] = [];
  const walk = (relative: string) => {
    const names = [...(children.get(relative) ?? [])].map((name) => name.replace(/\/$/, "")).sort();
    for (const name of new Set(names)) {
      const child = relative === "" ? name : `${relative}/${name}`;
      const full = join(folder, child);
      if (children.has(child)) {
        if (walker.kustomizationFile(full)) {
          resources.push(`./${child}`);
          walker.addGeneratedResource(full, true, via);
        } else walk(child);
        continue;
      }
      const extension = posix.extname(name);
      if (extension !== ".yaml" && extension !== ".yml") continue;
      const repoPath = tree.repoPath(full);
      const notObject = model.file(repoPath)?.documents.find((doc) => !doc.object?.kind && doc.value !== null && doc.value !== undefined);
      if (notObject) {
        // A file Flux's defaults leave out (.sops.yaml, .github/…) is here because some ignore pattern turned them off.
        const defaultsOff = tree.defaultsOffBy !== undefined && defaultIgnored(full) ? ` Flux's default ignores would leave it out, but ${tree.defaultsOffBy} writes an ignore pattern, and then they are off.` : "";
        walker.refuse(repoPath, notObject.startLine, `${repoPath} is not a Kubernetes manifest (a document without apiVersion and kind), and Flux generates a kustomization listing every YAML file under ${folder || "."}: the build fails. Move the file out of the folder or exclude it with .sourceignore.${defaultsOff}`);
      }
      resources.push(`./${child}`);
      walker.addGeneratedResource(full, false, via);
    }
  };
  walk("");
  return resources;
}

/** Kustomization folders that nothing else builds: bases used by no overlay, overlays, tenant repositories. */
export function planPlainRoots(input: PlanInput, fluxPlans: BuildPlan[]): BuildPlan[] {
  // Folders a GitRepository fills from another (spec.include) are unseen here: built from the repository's own files,
  // a kustomization reading them would fail for nothing.
  const included = [...new Map(fluxPlans.flatMap((plan) => [...(plan.tree.included ?? []), ...(plan.tree.copied ?? [])]).map((folder) => [folder.path, folder])).values()];
  const tree: SourceTree = { ...plainTree(input.model), ...(included.length ? { included } : {}) };
  // A Flux build that cannot be judged reaches nothing: what it reads of this repository is judged as plain roots.
  const reached = new Set<string>(
    fluxPlans
      .filter((plan) => !plan.closure.unseen)
      .flatMap((plan) => [
        ...[...plan.closure.folders].map((folder) => repoFolder(plan.tree, folder)),
        // A kustomization file an include copies in is Flux's where it lands: its own folder is not a root of its own.
        ...[...plan.closure.files].filter(isKustomizationFile).map((file) => folderOf(plan.tree.repoPath(file))),
      ]),
  );
  const candidates = new Map<string, { folder: string; walker: ClosureWalker }>();
  for (const path of tree.paths) {
    if (!isKustomizationFile(path)) continue;
    const folder = folderOf(path);
    if (candidates.has(folder)) continue;
    const value = input.model.file(path)?.documents[0]?.value as Record<string, unknown> | undefined;
    if (value?.kind === "Component") continue;
    const walker = new ClosureWalker(tree, input.model, input.specialFiles);
    walker.walkFolder(folder);
    candidates.set(folder, { folder, walker });
  }
  const reachers = new Map<string, string[]>();
  for (const { folder, walker } of candidates.values()) {
    if (walker.closure.unseen) continue;
    for (const walked of walker.closure.folders) {
      if (walked === folder) continue;
      let list = reachers.get(walked);
      if (!list) reachers.set(walked, (list = []));
      list.push(folder);
    }
  }
  // Reached by another kustomization that it does not reach in turn (a cycle leaves both as roots, so it is reported).
  const reachedByOther = (folder: string, own: Set<string>) => (reachers.get(folder) ?? []).some((other) => !own.has(other));
  return [...candidates.values()]
    .filter(({ folder, walker }) => !reached.has(folder) && !reachedByOther(folder, walker.closure.folders))
    .map(({ folder, walker }) => ({ name: plainRootName(folder), path: folder, tree, folder, closure: walker.closure, inputs: new Set<string>() }));
}

/**
 * A folder's build is named after the folder; one whose name could be a Flux build's ("ns/name (cluster) …") is told
 * apart, on both sides alike: a build is compared with the other side's of the same name.
 */
function plainRootName(folder: string): string {
  return folder === "" ? "." : folder.includes(" (") ? `${folder} (folder)` : folder;
}

/** Names made unique, and links inside built folders reported. */
export function finishPlans(plans: BuildPlan[], specialFiles: readonly SpecialFile[]): BuildPlan[] {
  const unique = uniqueNames(plans);
  for (const plan of unique) addLinkWarnings(plan, specialFiles);
  return unique;
}

function uniqueNames(plans: BuildPlan[]): BuildPlan[] {
  const seen = new Map<string, number>();
  return plans.map((plan) => {
    const count = seen.get(plan.name) ?? 0;
    seen.set(plan.name, count + 1);
    return count === 0 ? plan : { ...plan, name: `${plan.name} #${count + 1}` };
  });
}

/** Links inside a built folder are left out (by fleet-warden's snapshot and by Flux's source artifact): say so. */
function addLinkWarnings(plan: BuildPlan, specialFiles: readonly SpecialFile[]): void {
  for (const special of specialFiles) {
    const folder = folderOf(special.path);
    const walked = plan.generated !== undefined && (plan.folder === "" || special.path.startsWith(`${plan.folder}/`));
    if (!plan.closure.folders.has(folder) && !walked) continue;
    // Deleting or replacing it changes the build, reported or not.
    plan.inputs.add(special.path);
    if (plan.closure.issues.some((issue) => issue.message.includes(`${special.path} is a`))) continue;
    const what = special.kind === "symlink" ? "symbolic link" : special.kind === "hardlink" ? "hard link" : "special file";
    plan.closure.issues.push({
      rule: "kustomize-build",
      path: special.path,
      line: 1,
      severity: "warning",
      message: `${special.path} is a ${what}${special.target ? ` to ${special.target}` : ""}: ${
        posix.basename(special.path) === ".sourceignore"
          ? "source-controller reads its ignore rules through the link, and fleet-warden follows it only to a file of this repository."
          : "links are never followed, and Flux's source artifact leaves them out, so no build uses it."
      } Commit the file itself instead.`,
    });
  }
}

/** Per cluster, the repository files its Flux builds read (what an unseen one reads is not known). */
export function deployedFiles(fluxPlans: readonly BuildPlan[]): Map<string, Set<string>> {
  const deployed = new Map<string, Set<string>>();
  for (const plan of fluxPlans) {
    if (!plan.flux || plan.closure.unseen) continue;
    const files = deployed.get(plan.flux.cluster) ?? new Set<string>();
    for (const path of repoFilesOf(plan)) files.add(path);
    deployed.set(plan.flux.cluster, files);
  }
  return deployed;
}

/** The repository files the plan's build reads. */
function repoFilesOf(plan: BuildPlan): string[] {
  return [...plan.closure.files].map((file) => plan.tree.repoPath(file));
}

/** Every repository file the plan reads or depends on. */
export function planInputs(plan: BuildPlan): Set<string> {
  const inputs = new Set(plan.inputs);
  for (const path of repoFilesOf(plan)) inputs.add(path);
  for (const issue of plan.closure.issues) inputs.add(issue.path);
  return inputs;
}

