// Builds the kustomizations a pull request affects, as Flux's kustomize-controller would, on base and head.
import { createHash } from "node:crypto";
import { availableParallelism } from "node:os";
import { isDeepStrictEqual } from "node:util";
import { structuredPatch } from "diff";
import { stringify } from "yaml";
import type { Config } from "../config.js";
import { describeRef, isYamlPath, objectKey, type FleetModel, type SourceDocument } from "../fleet.js";
import type { Build, BuildIssue, ChangedFile, ObjectChange, RenderedDiff, RenderedObject, SpecialFile } from "../types.js";
import { hasRivalDefinitions } from "../flux.js";
import { findKustomize, type EngineLimits, type KustomizeEngine } from "./engine.js";
import { vetClosure } from "./kustomization.js";
import {
  deployedFiles,
  finishPlans,
  planFluxVariants,
  planInputs,
  planPlainRoots,
  recordDeployedReadings,
  renderedFluxTargets,
  rendersAsWritten,
  rendersFluxKustomizations,
  sourceFluxTargets,
  writtenFluxTargets,
  type BuildPlan,
  type PlanInput,
  type SourceReadings,
} from "./plan.js";
import type { SourceTree } from "./tree.js";
import { failedBuild, refusalOf, renderPlan } from "./render.js";
import { loadSchemas } from "./schema.js";

export interface BuildInput {
  config: Config;
  base: FleetModel;
  head: FleetModel;
  changedFiles: ChangedFile[];
  repository: { owner: string; name: string };
  /** Links and special files of the head snapshot (not extracted): a build that uses one is refused. */
  specialFiles?: SpecialFile[];
  /** The same of the base snapshot. */
  baseSpecialFiles?: SpecialFile[];
  /** The kustomize engine; default: found on this machine. `null` means none. */
  engine?: KustomizeEngine | null;
  limits?: EngineLimits;
}

export interface BuildResult {
  base: Build[];
  head: Build[];
  renderedDiff: RenderedDiff[];
  problems: string[];
  /** Informational, never failing (e.g. no kustomize binary: builds are skipped, the check says so). */
  notes: string[];
  /** Times kustomize ran, parents built to find the Kustomizations they deploy included. */
  kustomizeRuns: number;
}

/** Deleting these with prune: true loses data or every custom resource of a type. */
const DANGEROUS_PRUNE_KINDS = new Set(["Namespace", "PersistentVolumeClaim", "CustomResourceDefinition"]);

export async function buildAffected(input: BuildInput): Promise<BuildResult> {
  const engine = input.engine === undefined ? findKustomize() : (input.engine ?? undefined);
  const planInput = (model: FleetModel, specialFiles: readonly SpecialFile[]): PlanInput => ({ model, repository: input.repository, specialFiles });
  // Finding the Kustomizations that Kustomizations render takes builds: only when a manifest changed, or when which
  // copy of a GitRepository a cluster reads depends on what its Kustomizations deploy.
  const changedPaths = new Set(input.changedFiles.flatMap((file) => (file.previousPath ? [file.path, file.previousPath] : [file.path])));
  const discover = [...changedPaths].some((path) => isYamlPath(path) || path.endsWith(".sourceignore")) || hasRivalDefinitions(input.base) || hasRivalDefinitions(input.head);
  const renders = new RenderCache();
  const planBoth = async (discoveryEngine: KustomizeEngine | undefined) => {
    // The base first: how its sources read this commit is how they read the merged commit, whatever the change does to them.
    const base = await planSide(planInput(input.base, input.baseSpecialFiles ?? []), discoveryEngine, input.limits, renders);
    const head = await planSide({ ...planInput(input.head, input.specialFiles ?? []), readBefore: base.readings, baseModel: input.base }, discoveryEngine, input.limits, renders);
    return { basePlan: base, headPlan: head };
  };
  let { basePlan, headPlan } = await planBoth(discover ? engine : undefined);
  // Any other file a parent reads (a patch in JSON, a kustomization named `Kustomization`) can change what it deploys too.
  const readByParent = (side: PlannedSide, model: FleetModel) => side.plans.some((plan) => [...planInputs(plan)].some((path) => changedPaths.has(path)) && rendersFluxKustomizations(plan, model));
  if (!discover && engine && (readByParent(basePlan, input.base) || readByParent(headPlan, input.head))) ({ basePlan, headPlan } = await planBoth(engine));
  headPlan.plans = namedAsOnBase(headPlan.plans, basePlan.plans);
  const affected = affectedNames(basePlan.plans, headPlan.plans, changedPaths);
  const baseTasks = basePlan.plans.filter((plan) => affected.has(plan.name));
  const headTasks = headPlan.plans.filter((plan) => affected.has(plan.name));
  // A variant's note says why it is built: only for those that are.
  const notes = [...new Set([...headPlan.notes, ...headTasks.flatMap((plan) => (plan.variantNote ? [plan.variantNote] : []))])];
  for (const plan of baseTasks) vetClosure(plan.closure, input.base);
  for (const plan of headTasks) vetClosure(plan.closure, input.head);
  if (!engine) {
    const skipped = new Set([...baseTasks, ...headTasks].filter((plan) => !plan.closure.refused && !plan.closure.unseen).map((plan) => plan.name));
    if (skipped.size > 0) {
      notes.push(`No kustomize found (KUSTOMIZE_BIN, kustomize or kubectl): ${skipped.size} affected build(s) were not run and are not checked: ${[...skipped].sort().join(", ")}.`);
    }
  }
  // Discovery builds are in `renders` already: an affected parent is not built twice.
  const run = (plan: BuildPlan, model: FleetModel, onHead: boolean) => {
    if (plan.closure.unseen) return Promise.resolve(unseenBuild(plan, onHead));
    return engine ? renderOnce(plan, model, engine, input.limits, renders) : Promise.resolve(refusedOnly(plan));
  };
  const runnable = (plans: BuildPlan[]) => (engine ? plans : plans.filter((plan) => plan.closure.refused || plan.closure.unseen));
  const tasks = [
    ...runnable(baseTasks).map((plan) => () => run(plan, input.base, false)),
    ...runnable(headTasks).map((plan) => () => run(plan, input.head, true)),
  ];
  const results = await pool(tasks, availableParallelism());
  // A build stopped at our limit is not judged, while Flux may apply it: the head's never counts as pre-existing.
  const base = results.slice(0, runnable(baseTasks).length).map((build) => (build.issues.some((issue) => issue.limit) ? { ...build, issues: build.issues.filter((issue) => !issue.limit) } : build));
  const head = results.slice(runnable(baseTasks).length);
  await loadSchemas([...base, ...head].flatMap((build) => build.objects.map((object) => object.ref)));
  const renderedDiff = diffBuilds(base, head);
  addPruneWarnings(renderedDiff, headPlan.plans, basePlan.plans, head, base);
  return { base, head, renderedDiff, problems: [], notes, kustomizeRuns: renders.kustomizeRuns };
}

export interface PlannedSide {
  plans: BuildPlan[];
  notes: string[];
  /** See PlanInput.readings. */
  readings: SourceReadings;
}

/** How deep Kustomizations that render Kustomizations are followed (flux-system → tenants → tenant). */
const MAX_NESTING = 4;

/**
 * Every build of one side. Flux applies the Kustomizations a parent Kustomization renders, patched by the
 * parent's overlays: parents are built to find them, and they replace the Kustomizations as written.
 */
export async function planSide(input: PlanInput, engine: KustomizeEngine | undefined, limits?: EngineLimits, renders = new RenderCache()): Promise<PlannedSide> {
  // A GitRepository's tree depends only on the model and its spec: shared by every planning.
  const trees = new Map<string, SourceTree>();
  // Every copy of a GitRepository taken as one the cluster may read: a copy that reads this commit builds.
  const anyCopy = await planFluxKustomizations(input, engine, limits, renders, trees);
  let planned = anyCopy;
  // When a cluster may read one of several differing copies of a GitRepository, it reads the one its Kustomizations
  // deploy, and what they deploy depends on the copies read: planned again while what they deploy grows.
  if (hasRivalDefinitions(input.model)) {
    const deployed = new Map<string, Set<string>>();
    let rounds = 0;
    while (addDeployed(deployed, planned.fluxPlans)) {
      if (++rounds > MAX_SOURCE_ROUNDS) {
        // Undecided: back to every copy, so that a copy reading this commit builds.
        const note = `Which copy of a GitRepository each cluster deploys was still changing after ${MAX_SOURCE_ROUNDS} plannings: every copy was taken as one it may read.`;
        planned = { ...anyCopy, notes: [...anyCopy.notes, note] };
        break;
      }
      planned = await planFluxKustomizations({ ...input, deployed }, engine, limits, renders, trees);
    }
  }
  recordDeployedReadings(planned.fluxPlans, input, planned.readings);
  return { plans: finishPlans([...planned.fluxPlans, ...planPlainRoots(input, planned.fluxPlans)], input.specialFiles), notes: planned.notes, readings: planned.readings };
}

/** Plannings of one side at most, when copies of a GitRepository compete (each one can only add deployed files). */
const MAX_SOURCE_ROUNDS = 8;

/** Adds the files each Flux build deploys to its cluster's; true when any was new. */
function addDeployed(deployed: Map<string, Set<string>>, fluxPlans: readonly BuildPlan[]): boolean {
  let grew = false;
  for (const [cluster, files] of deployedFiles(fluxPlans)) {
    const all = deployed.get(cluster) ?? new Set<string>();
    for (const path of files) {
      if (all.has(path)) continue;
      all.add(path);
      grew = true;
    }
    deployed.set(cluster, all);
  }
  return grew;
}

/** The Flux builds of one side, and the notes on Kustomizations not built. */
async function planFluxKustomizations(
  planInput: PlanInput,
  engine: KustomizeEngine | undefined,
  limits: EngineLimits | undefined,
  renders: RenderCache,
  trees: Map<string, SourceTree>,
): Promise<{ fluxPlans: BuildPlan[]; notes: string[]; readings: SourceReadings }> {
  const input = { ...planInput, readings: new Map() as SourceReadings };
  const { targets, notes: writtenNotes } = sourceFluxTargets(input, trees);
  const plans = new Map<string, BuildPlan>();
  const written = new Map<BuildPlan, SourceDocument>();
  for (const target of targets) {
    const builds = planFluxVariants(target, input);
    if (plans.has(builds[0].name)) continue;
    for (const plan of builds) {
      plans.set(plan.name, plan);
      written.set(plan, target.doc);
    }
  }
  const expanded = new Set<string>();
  // Every Kustomization a parent deploys, by any parent: another parent deploying the same file elsewhere does not undo it.
  const planned = new Set<string>();
  const deployedDocuments = new Set<SourceDocument>();
  const deployedNotes: string[] = [];
  let queue = engine ? [...plans.values()].filter((plan) => !plan.closure.unseen && rendersFluxKustomizations(plan, input.model)) : [];
  for (let depth = 0; depth < MAX_NESTING && queue.length > 0; depth++) {
    queue = queue.filter((plan) => !expanded.has(plan.name));
    for (const plan of queue) expanded.add(plan.name);
    // A parent that deploys its Kustomizations as written is read, not built: most fleets' parents only list files.
    const builds = await pool(
      queue.map((plan) => () => (rendersAsWritten(plan, input.model) ? Promise.resolve(undefined) : renderOnce(plan, input.model, engine!, limits, renders))),
      availableParallelism(),
    );
    const next: BuildPlan[] = [];
    queue.forEach((parent, index) => {
      const build = builds[index];
      const deployed = build ? renderedFluxTargets(parent, build, input, trees) : writtenFluxTargets(parent, input, trees);
      deployedNotes.push(...deployed.notes);
      for (const doc of deployed.documents) deployedDocuments.add(doc);
      for (const target of deployed.targets) {
        const [likeliest, ...variants] = planFluxVariants(target, input);
        const existing = plans.get(likeliest.name);
        const same = existing?.flux !== undefined && isDeepStrictEqual(existing.flux.object, target.object);
        planned.add(likeliest.name);
        const expand = (plan: BuildPlan) => {
          planned.add(plan.name);
          plans.set(plan.name, plan);
          if (!plan.closure.unseen && rendersFluxKustomizations(plan, input.model)) next.push(plan);
        };
        if (parent.world !== undefined) {
          // What a parent built from another artifact deploys otherwise is one more variant, from every artifact its
          // source may serve: the copies take turns, and it reconciles with whichever is served then.
          if (same) continue;
          const deploys = `as ${parent.name} deploys it`;
          const variantNote = `${likeliest.name} is also built ${deploys}: that build of its parent, from another artifact, deploys it otherwise.`;
          for (const build of [likeliest, ...variants]) expand({ ...build, name: `${build.name} ${deploys}`, variantOf: likeliest.name, world: parent.world, variantNote });
          continue;
        }
        for (const variant of variants) expand(variant);
        if (!same) expand(likeliest);
      }
      // A Kustomization as written is superseded by what its parent deploys from it (nothing to build, when that
      // reads another source).
      const superseded = new Set(deployed.documents);
      for (const [name, candidate] of plans) {
        const doc = written.get(candidate);
        if (doc && superseded.has(doc) && !planned.has(name)) plans.delete(name);
      }
    });
    queue = next;
  }
  const fluxPlans = [...plans.values()];
  // What a parent deploys is what Flux applies: a note on the same Kustomization as written would mislead.
  const notes = [...writtenNotes.filter((note) => !deployedDocuments.has(note.doc)).map((note) => note.text), ...deployedNotes];
  return { fluxPlans, notes, readings: input.readings };
}

/** Renders by what they read: a build whose inputs are identical on base and head (a parent found unchanged) runs once. */
export class RenderCache {
  readonly builds = new Map<string, Promise<Build>>();
  /** Times kustomize ran: discovery builds too, and once for a build both sides share. */
  kustomizeRuns = 0;
}

function renderOnce(plan: BuildPlan, model: FleetModel, engine: KustomizeEngine, limits: EngineLimits | undefined, renders: RenderCache): Promise<Build> {
  vetClosure(plan.closure, model);
  const hash = createHash("sha256");
  hash.update(JSON.stringify([plan.name, plan.path, plan.folder, plan.generated ?? null, plan.flux?.object ?? null, [...(plan.flux?.variables.values ?? [])], plan.closure.issues]));
  // The bytes the build copies, not their UTF-8 reading: invalid bytes of a binary file all read as U+FFFD.
  for (const file of [...plan.closure.files].sort()) {
    const data = model.files.read(plan.tree.repoPath(file));
    hash.update(`\0${file}\0${plan.tree.repoPath(file)}\0${data?.length ?? -1}\0`);
    if (data) hash.update(data);
  }
  const key = hash.digest("hex");
  let render = renders.builds.get(key);
  if (!render) renders.builds.set(key, (render = renderPlan(plan, model, engine, limits, () => renders.kustomizeRuns++)));
  return render;
}

/**
 * The head's variants named as the base's variant of the same Kustomization from the same artifact, when the name
 * differs (a copy's file renamed): each is compared with the build it was, not with the likeliest one.
 */
function namedAsOnBase(head: BuildPlan[], base: BuildPlan[]): BuildPlan[] {
  const names = new Set(head.map((plan) => plan.name));
  return head.map((plan) => {
    if (plan.variantOf === undefined || base.some((other) => other.name === plan.name)) return plan;
    const was = base.find((other) => other.variantOf === plan.variantOf && other.tree.key === plan.tree.key && !names.has(other.name));
    if (!was) return plan;
    names.add(was.name);
    return { ...plan, name: was.name };
  });
}

/** Builds whose inputs a changed file touches, on either side, or whose Flux Kustomization changed. */
function affectedNames(base: BuildPlan[], head: BuildPlan[], changed: ReadonlySet<string>): Set<string> {
  const affected = new Set<string>();
  const baseByName = new Map(base.map((plan) => [plan.name, plan]));
  const headByName = new Map(head.map((plan) => [plan.name, plan]));
  for (const plan of [...base, ...head]) {
    if ([...planInputs(plan)].some((path) => changed.has(path))) affected.add(plan.name);
    if (plan.flux) {
      // A Kustomization added, removed or changed (as written, or as its parent renders it).
      const other = (headByName.get(plan.name) === plan ? baseByName : headByName).get(plan.name);
      if (!other?.flux || !isDeepStrictEqual(other.flux.object, plan.flux.object)) affected.add(plan.name);
      // Its GitRepository's spec.ignore, sparseCheckout or include changed, or whether it fails: the files it builds from did.
      else if (other.tree.key !== plan.tree.key || other.tree.fails !== plan.tree.fails) affected.add(plan.name);
    }
  }
  // A variant's diff is against its likeliest build on the other side, when that side has no such variant.
  for (const plan of [...base, ...head]) if (plan.variantOf && affected.has(plan.name)) affected.add(plan.variantOf);
  return affected;
}

/**
 * A build that reads files another GitRepository includes: not run, its refusals kept. On the head it is a finding on
 * the Kustomization (never one the base had too, so it always counts): what Flux applies from it goes unreviewed.
 */
function unseenBuild(plan: BuildPlan, onHead: boolean): Build {
  const reason = plan.closure.unseen!;
  const doc = plan.flux?.doc;
  const issue: BuildIssue | undefined =
    onHead && doc
      ? {
          rule: "kustomize-build",
          path: doc.path,
          line: doc.keyLine(["spec", "path"]) ?? doc.startLine,
          message: `${plan.variantOf ?? plan.name} cannot be judged: ${reason}, and fleet-warden sees only the files of the commit under review, so nothing Flux applies from this build is reviewed here. If that is intended, a platform owner can accept it with fleet-warden.io/ignore: kustomize-build on this Kustomization.`,
        }
      : undefined;
  return failedBuild(plan, `not built: ${reason}`, [...plan.closure.issues, ...(issue ? [issue] : [])]);
}

function refusedOnly(plan: BuildPlan): Build {
  return failedBuild(plan, refusalOf(plan), [...plan.closure.issues]);
}

export async function pool<T>(tasks: Array<() => Promise<T>>, limit: number): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < tasks.length) {
      const index = next++;
      try {
        results[index] = await tasks[index]!();
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  // A failed task stops the others from starting, and the ones running are waited for: nothing is left behind.
  const settled = await Promise.allSettled(Array.from({ length: Math.max(1, Math.min(limit, tasks.length)) }, worker));
  const failure = settled.find((outcome) => outcome.status === "rejected");
  if (failure) throw failure.reason;
  return results;
}

/** Objects added, removed and changed per build; builds that failed on either side have no diff. */
export function diffBuilds(base: Build[], head: Build[]): RenderedDiff[] {
  const names = [...new Set([...head.map((build) => build.report.name), ...base.map((build) => build.report.name)])];
  const diffs: RenderedDiff[] = [];
  const named = (builds: Build[], name: string) => builds.find((build) => build.report.name === name);
  for (const name of names) {
    const variantOf = (named(head, name) ?? named(base, name))!.report.variantOf;
    const before = named(base, name) ?? (variantOf === undefined ? undefined : named(base, variantOf));
    const after = named(head, name) ?? (variantOf === undefined ? undefined : named(head, variantOf));
    if ((before && !before.report.ok) || (after && !after.report.ok)) continue;
    const beforeObjects = indexObjects(before?.objects ?? []);
    const afterObjects = indexObjects(after?.objects ?? []);
    const changes: ObjectChange[] = [];
    for (const [key, object] of afterObjects) {
      const old = beforeObjects.get(key);
      if (!old) changes.push({ ref: object.ref, change: "added" });
      else if (!isDeepStrictEqual(old.object, object.object)) changes.push({ ref: object.ref, change: "modified", diff: yamlDiff(old.object, object.object) });
    }
    for (const [key, object] of beforeObjects) if (!afterObjects.has(key)) changes.push({ ref: object.ref, change: "removed" });
    diffs.push({ build: name, path: (after ?? before)!.report.path, changes });
  }
  return diffs;
}

function indexObjects(objects: RenderedObject[]): Map<string, RenderedObject> {
  return new Map(objects.map((object) => [objectKey(object.ref), object]));
}

/**
 * Lines added plus removed past which no diff is computed: its cost grows with edits times lines (10,000 changed
 * values of one ConfigMap took 16 s of the event loop), and no summary could show it anyway.
 */
const MAX_DIFF_EDITS = 1000;

/** A unified diff of the two objects' YAML, two lines of context, without file headers. */
export function yamlDiff(before: Record<string, unknown>, after: Record<string, unknown>): string {
  const patch = structuredPatch("", "", stringify(before, { lineWidth: 0 }), stringify(after, { lineWidth: 0 }), undefined, undefined, { context: 2, maxEditLength: MAX_DIFF_EDITS });
  if (!patch) return `(more than ${MAX_DIFF_EDITS} lines differ: the diff is not shown)`;
  return patch.hunks.flatMap((hunk) => [`@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@`, ...hunk.lines]).join("\n");
}

/** prune: true deletes what a build no longer renders: call out the deletions that lose data. */
function addPruneWarnings(diffs: RenderedDiff[], headPlans: BuildPlan[], basePlans: BuildPlan[], head: Build[], base: Build[]): void {
  for (const diff of diffs) {
    const plan = headPlans.find((candidate) => candidate.name === diff.build) ?? basePlans.find((candidate) => candidate.name === diff.build);
    if (plan?.flux?.spec.prune !== true) continue;
    const build = head.find((candidate) => candidate.report.name === diff.build) ?? base.find((candidate) => candidate.report.name === diff.build);
    if (!build) continue;
    for (const change of diff.changes) {
      if (change.change !== "removed" || !DANGEROUS_PRUNE_KINDS.has(change.ref.kind)) continue;
      const issue: BuildIssue = {
        rule: "kustomize-build",
        path: plan.flux.doc.path,
        line: plan.flux.doc.keyLine(["spec", "prune"]) ?? plan.flux.doc.startLine,
        severity: "warning",
        message: `${diff.build} no longer renders ${describeRef(change.ref)}, and prune: true makes Flux delete it${change.ref.kind === "Namespace" ? " with everything in it" : change.ref.kind === "CustomResourceDefinition" ? " with every custom resource of that type" : " and its data"}. If intended, keep this warning in mind; otherwise restore the object or annotate it kustomize.toolkit.fluxcd.io/prune: disabled first.`,
      };
      build.issues.push(issue);
    }
  }
}
