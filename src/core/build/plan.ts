// Which builds a tree holds: every Flux Kustomization whose source is this repository (built as
// kustomize-controller builds it), and every kustomization folder no Flux Kustomization and no other
// kustomization reaches (built with kustomize's defaults, so that bases and tenant repositories are
// validated too). Each plan knows every repository file that can change its output.
import { posix } from "node:path";
import type { FleetModel, SourceDocument } from "../fleet.js";
import { clusterOf, FLUX_SYSTEM, isFluxKustomization, normalizeRepoPath, sourcesThisRepository, specOf } from "../flux.js";
import type { SpecialFile } from "../types.js";
import { ClosureWalker, foldersOf, join, remoteReason, type Closure } from "./kustomization.js";
import { gitRepositoryTree, plainTree, type SourceTree } from "./tree.js";
import { resolveVariables, type Variables } from "./variables.js";

export interface FluxSettings {
  doc: SourceDocument;
  spec: Record<string, unknown>;
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
}

export interface PlanInput {
  model: FleetModel;
  repository: { owner: string; name: string };
  specialFiles: readonly SpecialFile[];
}

export function planBuilds(input: PlanInput): { plans: BuildPlan[]; notes: string[] } {
  const notes: string[] = [];
  const fluxPlans: BuildPlan[] = [];
  const trees = new Map<string, SourceTree>();
  for (const doc of input.model.fluxObjects().filter(isFluxKustomization)) {
    const sourceRef = (specOf(doc).sourceRef ?? {}) as Record<string, unknown>;
    if (sourceRef.kind === "ExternalArtifact") {
      notes.push(`${fluxName(doc)} reads an ExternalArtifact (Flux 2.7 ArtifactGenerator): its artifact layout is not emulated; the folders it copies are built as plain kustomizations.`);
      continue;
    }
    if (!sourcesThisRepository(doc, input.model, input.repository)) continue;
    fluxPlans.push(planFlux(doc, input, trees));
  }
  const plans = uniqueNames([...fluxPlans, ...planPlainRoots(input, fluxPlans)]);
  for (const plan of plans) addLinkWarnings(plan, input.specialFiles);
  return { plans, notes };
}

function fluxName(doc: SourceDocument): string {
  return `${doc.ref?.namespace ?? FLUX_SYSTEM}/${doc.ref?.name ?? ""} (${clusterOf(doc.path)})`;
}

function planFlux(doc: SourceDocument, input: PlanInput, trees: Map<string, SourceTree>): BuildPlan {
  const { model } = input;
  const spec = specOf(doc);
  const tree = sourceTree(doc, model, trees);
  const walker = new ClosureWalker(tree, model, input.specialFiles);
  const specLine = (key: string) => doc.keyLine(["spec", key]) ?? doc.startLine;
  const rawPath = typeof spec.path === "string" ? spec.path : "";
  const folder = normalizeRepoPath(rawPath);
  const variables = resolveVariables(doc, model);
  const plan: BuildPlan = {
    name: fluxName(doc),
    path: folder ?? rawPath,
    tree,
    folder: folder ?? "",
    closure: walker.closure,
    flux: { doc, spec, variables },
    inputs: new Set([doc.path, ...tree.definitionPaths, ...variables.inputs]),
  };
  if (folder === undefined) {
    walker.refuse(doc.path, specLine("path"), `spec.path "${rawPath}" leaves the repository root; Flux refuses it and fleet-warden never reads outside the repository.`);
    return plan;
  }
  if (!foldersOf(tree.paths).has(folder)) {
    walker.refuse(doc.path, specLine("path"), `spec.path "${rawPath}" is not a folder of the Flux source (it does not exist, or .sourceignore excludes it), so the Kustomization fails to build.`);
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
    const target = walker.resolve(folder, component);
    if (target.kind === "refused" && spec.ignoreMissingComponents === true && !target.reason.includes("leaves")) return;
    if (target.kind === "refused") walker.refuse(doc.path, line, `spec.components entry "${component}": ${target.reason}`);
    else if (target.kind === "file") walker.refuse(doc.path, line, `spec.components entry "${component}" is a file; a component is a folder with a kustomization.`);
    else walker.walkFolder(target.path, [], { path: doc.path, line });
  });
  return plan;
}

/** The GitRepository artifact the Kustomization reads, with its ignore rules (one per source, shared). */
function sourceTree(doc: SourceDocument, model: FleetModel, trees: Map<string, SourceTree>): SourceTree {
  const sourceRef = (specOf(doc).sourceRef ?? {}) as Record<string, unknown>;
  const namespace = typeof sourceRef.namespace === "string" ? sourceRef.namespace : (doc.ref?.namespace ?? FLUX_SYSTEM);
  const key = `${namespace}/${String(sourceRef.name)}`;
  let tree = trees.get(key);
  if (!tree) {
    const source = model
      .fluxObjectsOfKind("GitRepository")
      .find((candidate) => candidate.ref?.name === sourceRef.name && (candidate.ref?.namespace ?? FLUX_SYSTEM) === namespace);
    const ignore = source ? specOf(source).ignore : undefined;
    tree = gitRepositoryTree(model, typeof ignore === "string" ? ignore : undefined);
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
  for (const path of tree.paths) {
    if (folder !== "" && !path.startsWith(`${folder}/`)) continue;
    const parts = (folder === "" ? path : path.slice(folder.length + 1)).split("/");
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
        walker.refuse(repoPath, notObject.startLine, `${repoPath} is not a Kubernetes manifest (a document without apiVersion and kind), and Flux generates a kustomization listing every YAML file under ${folder || "."}: the build fails. Move the file out of the folder or exclude it with .sourceignore.`);
      }
      resources.push(`./${child}`);
      walker.addGeneratedResource(full, false, via);
    }
  };
  walk("");
  return resources;
}

/** Kustomization folders that nothing else builds: bases used by no overlay, overlays, tenant repositories. */
function planPlainRoots(input: PlanInput, fluxPlans: BuildPlan[]): BuildPlan[] {
  const tree = plainTree(input.model);
  const reached = new Set<string>(fluxPlans.flatMap((plan) => [...plan.closure.folders].map((folder) => plan.tree.repoPath(folder))));
  const candidates: Array<{ folder: string; walker: ClosureWalker }> = [];
  for (const path of tree.paths) {
    const name = posix.basename(path);
    if (name !== "kustomization.yaml" && name !== "kustomization.yml" && name !== "Kustomization") continue;
    const folder = posix.dirname(path) === "." ? "" : posix.dirname(path);
    if (candidates.some((candidate) => candidate.folder === folder)) continue;
    const value = input.model.file(path)?.documents[0]?.value as Record<string, unknown> | undefined;
    if (value?.kind === "Component") continue;
    const walker = new ClosureWalker(tree, input.model, input.specialFiles);
    walker.walkFolder(folder);
    candidates.push({ folder, walker });
  }
  // Reached by another kustomization that it does not reach in turn (a cycle leaves both as roots, so it is reported).
  const reachedByOther = (folder: string, own: Set<string>) =>
    candidates.some((other) => other.folder !== folder && other.walker.closure.folders.has(folder) && !own.has(other.folder));
  return candidates
    .filter(({ folder, walker }) => !reached.has(folder) && !reachedByOther(folder, walker.closure.folders))
    .map(({ folder, walker }) => ({ name: folder || ".", path: folder, tree, folder, closure: walker.closure, inputs: new Set<string>() }));
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
    const folder = posix.dirname(special.path) === "." ? "" : posix.dirname(special.path);
    const walked = plan.generated !== undefined && (plan.folder === "" || special.path.startsWith(`${plan.folder}/`));
    if (!plan.closure.folders.has(folder) && !walked) continue;
    if (plan.closure.issues.some((issue) => issue.message.includes(`${special.path} is a`))) continue;
    const what = special.kind === "symlink" ? "symbolic link" : special.kind === "hardlink" ? "hard link" : "special file";
    plan.closure.issues.push({
      rule: "kustomize-build",
      path: special.path,
      line: 1,
      severity: "warning",
      message: `${special.path} is a ${what}${special.target ? ` to ${special.target}` : ""}: links are never followed, and Flux's source artifact leaves them out, so no build uses it. Commit the file itself instead.`,
    });
    plan.inputs.add(special.path);
  }
}

/** Every repository file the plan reads or depends on. */
export function planInputs(plan: BuildPlan): Set<string> {
  const inputs = new Set(plan.inputs);
  for (const file of plan.closure.files) inputs.add(plan.tree.repoPath(file));
  for (const issue of plan.closure.issues) inputs.add(issue.path);
  return inputs;
}

