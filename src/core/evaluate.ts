// The pipeline: facts of a pull request in, a Verdict out. Pure but for reading the trees on disk and running kustomize.
import { performance } from "node:perf_hooks";
import { isDeepStrictEqual } from "node:util";
import { rules as allRules } from "../../rules/index.js";
import { buildAffected, type BuildResult } from "./build/index.js";
import { parseConfig, type Config } from "./config.js";
import { diffChangedFiles } from "./diff.js";
import type { TreeFiles } from "./files.js";
import { FleetModel, isYamlPath, objectKey, type SourceDocument } from "./fleet.js";
import { specOf } from "./flux.js";
import { helmReleaseNote } from "./helm.js";
import { classifyImageUpdate, ownershipWaivedForImageUpdate } from "./imageupdate.js";
import { evaluateOwnership, platformApproval } from "./ownership.js";
import { touchesAddedLines } from "./patch.js";
import { isExcluded, resolveTenants, territoryResolver } from "./tenants.js";
import type {
  Build,
  ChangedFile,
  Finding,
  IgnoredFinding,
  OwnershipReport,
  PullRequestFacts,
  Rule,
  RuleContext,
  Severity,
  TenantInfo,
  Verdict,
} from "./types.js";
import { errorMessage } from "./yaml.js";

export const IGNORE_ANNOTATION = "fleet-warden.io/ignore";
export const IGNORE_REASON_ANNOTATION = "fleet-warden.io/ignore-reason";

export interface EvaluateOptions {
  rules?: readonly Rule[];
}

export async function evaluate(facts: PullRequestFacts, options: EvaluateOptions = {}): Promise<Verdict> {
  const started = performance.now();
  const rules = options.rules ?? allRules;
  const problems = [...(facts.problems ?? [])];

  const configResult = parseConfig(facts.policy.config?.text, rules.map((rule) => rule.meta.id));
  if (!configResult.ok) problems.push(...configResult.errors);
  const config = configResult.config;

  const base = new FleetModel(facts.baseFiles);
  const head = new FleetModel(facts.headFiles, undefined, base);
  const baseTip = facts.baseTipFiles ? new FleetModel(facts.baseTipFiles, undefined, base) : base;
  const tenants = resolveTenants(config, baseTip, head);
  const gaps = snapshotGaps(facts, head);
  problems.push(...gaps.problems);
  const changedFiles = facts.changedFiles.filter((file) => !isExcluded(config, file.path));

  const autoMerge = await classifyImageUpdate({ facts, config, base, head, changedFiles: facts.changedFiles });
  const [ownership, builds] = await Promise.all([
    // An eligible image update needs no owner's approval: the classifier is its authorization.
    autoMerge?.eligible ? ownershipWaivedForImageUpdate() : evaluateOwnership(facts, config, tenants),
    // Every changed file, excluded ones too: what Flux deploys from them is judged all the same.
    buildAffected({
      config,
      base,
      head,
      changedFiles: facts.changedFiles,
      repository: facts.repository,
      specialFiles: facts.specialFiles ?? [],
      baseSpecialFiles: facts.baseSpecialFiles ?? [],
    }).catch(
      (error): BuildResult => ({ base: [], head: [], renderedDiff: [], problems: [`builds failed: ${errorMessage(error)}`], notes: [], kustomizeRuns: 0 }),
    ),
    prepareRules(rules, config, [head, base]),
  ]);
  problems.push(...builds.problems);

  const headContext = ruleContext(config, head, base, changedFiles, "head", tenants, builds.head, ownership);
  const baseContext = ruleContext(config, base, base, changedFiles, "base", tenants, builds.base, { entries: [], notices: [] });
  const headRun = runRules(rules, headContext, config);
  const baseRun = runRules(rules, baseContext, config);
  problems.push(...headRun.problems);

  const byPath = new Map(changedFiles.map((file) => [file.path, file]));
  const basePathOf = (path: string) => byPath.get(path)?.previousPath ?? path;
  const { counted, preExisting } = classifyFindings(headRun.findings, baseRun.findings, byPath, basePathOf, builds, { head, base });
  let approval: ReturnType<typeof platformApproval> | undefined;
  const exceptions: ExceptionContext = {
    head,
    base,
    headBuilds: builds.head,
    baseBuilds: builds.base,
    basePathOf,
    platformApproval: () => (approval ??= platformApproval(facts, config)),
  };
  const { kept: keptCounted, ignored } = await applyExceptions(counted, exceptions);
  const { kept: keptUntouched, ignored: ignoredPreExisting } = await applyExceptions(preExisting, exceptions);
  // After exceptions: a rule finding excepted on its object must not take the build's finding with it, nor one
  // build's exception another build's finding on the same line.
  const kept = withoutRestatedFindings(uniqueFindings(keptCounted));
  const keptPreExisting = withoutRestatedFindings(uniqueFindings(keptUntouched));

  const diff = diffChangedFiles(changedFiles, base, head);
  const helmNote = helmReleaseNote({ headBuilds: builds.head, renderedDiff: builds.renderedDiff, changedDocuments: headContext.changedDocuments, changedFiles: byPath, head });
  const conclusion = problems.length > 0 || kept.some((finding) => finding.severity === "error") ? "failure" : "success";

  return {
    conclusion,
    title: titleFor(conclusion, kept, problems),
    findings: sortFindings(kept),
    preExisting: sortFindings(keptPreExisting),
    // Every exception in effect is listed, including those on findings the change does not touch.
    ignored: uniqueBy([...ignored, ...ignoredPreExisting], (exception) => findingKey(exception.finding)),
    ownership,
    builds: builds.head.map((build) => build.report),
    renderedDiff: builds.renderedDiff,
    diff,
    ...(autoMerge ? { autoMerge } : {}),
    problems,
    notes: [...gaps.notes, ...builds.notes, ...(helmNote ? [helmNote] : [])],
    stats: {
      changedFiles: facts.changedFiles.length,
      documents: changedFiles.reduce((count, file) => count + (head.file(file.path)?.documents.length ?? 0), 0),
      builds: builds.head.length + builds.base.length,
      kustomizeRuns: builds.kustomizeRuns,
      durationMs: Math.round(performance.now() - started),
    },
  };
}

const GIT_ATTRIBUTES = /(^|\/)\.gitattributes$/;
const ARCHIVE_ATTRIBUTES = /^[^#]*\sexport-(ignore|subst)\b/;

/**
 * Files the change adds or modifies that the head snapshot lacks, and archive attributes the change sets. Snapshots
 * are what `git archive` (GitHub's tarball) makes of the commit: a `.gitattributes` `export-ignore` leaves files out
 * of it and `export-subst` rewrites them, while Flux clones the repository and deploys them as written.
 */
function snapshotGaps(facts: PullRequestFacts, head: FleetModel): { problems: string[]; notes: string[] } {
  const special = new Set((facts.specialFiles ?? []).map((file) => file.path));
  // A snapshot cut short at a limit says so already (facts.problems).
  const complete = (facts.problems ?? []).length === 0;
  const absent = facts.changedFiles.filter((file) => complete && file.status !== "removed" && !special.has(file.path) && facts.headFiles.size(file.path) === undefined);
  // A submodule is never in the archive; Flux fetches it only for a GitRepository that recurses into submodules.
  const recursed = absent.some((file) => file.submodule) && head.fluxObjectsOfKind("GitRepository").some((doc) => specOf(doc).recurseSubmodules === true);
  const submodules = absent.filter((file) => file.submodule && !recursed);
  const missing = absent.filter((file) => !submodules.includes(file));
  const named = (files: ChangedFile[]) => files.map((file) => `\`${file.path}\``).join(", ");
  const notes =
    submodules.length > 0
      ? [`${named(submodules)} ${submodules.length === 1 ? "is a submodule" : "are submodules"}: the new commit is not judged (no GitRepository of this repository sets recurseSubmodules, so Flux does not fetch it either).`]
      : [];
  // Only lines the change adds: an export-ignore the base already had is the platform's choice.
  const archiveLines = (files: TreeFiles, path: string) => new Set((files.read(path)?.toString("utf8") ?? "").split(/\r?\n/).filter((line) => ARCHIVE_ATTRIBUTES.test(line)));
  const attributes = facts.changedFiles.filter((file) => {
    if (file.status === "removed" || !GIT_ATTRIBUTES.test(file.path)) return false;
    const before = archiveLines(facts.baseFiles, file.previousPath ?? file.path);
    return [...archiveLines(facts.headFiles, file.path)].some((line) => !before.has(line));
  });
  const problems: string[] = [];
  if (missing.length > 0) {
    problems.push(
      `The pull request changes ${named(missing)}, but the commit's archive (what fleet-warden reads, as GitHub's tarball) has no such file, so it cannot be judged: a .gitattributes export-ignore leaves a file out (Flux clones the repository and deploys it: remove the export-ignore), and a submodule is never in it (Flux fetches one only with recurseSubmodules).`,
    );
  }
  if (attributes.length > 0) {
    problems.push(`${named(attributes)} set export-ignore or export-subst, which change what the commit's archive (what fleet-warden reads) holds but not what Flux clones and deploys. Remove them.`);
  }
  return { problems, notes };
}

function ruleContext(
  config: Config,
  model: FleetModel,
  base: FleetModel,
  changedFiles: ChangedFile[],
  side: "base" | "head",
  tenants: TenantInfo[],
  builds: Build[],
  ownership: OwnershipReport,
): RuleContext {
  const sidePath = (file: ChangedFile) => (side === "base" ? (file.previousPath ?? file.path) : file.path);
  const present = (file: ChangedFile) => (side === "base" ? file.status !== "added" : file.status !== "removed");
  const changedDocuments: SourceDocument[] = changedFiles
    .filter((file) => present(file) && isYamlPath(sidePath(file)))
    .flatMap((file) => model.file(sidePath(file))?.documents ?? []);
  return {
    config,
    head: model,
    base,
    changedFiles: side === "base" ? changedFiles.map((file) => ({ ...file, path: sidePath(file), addedLines: [], hunks: [] })) : changedFiles,
    changedDocuments,
    tenants,
    territory: territoryResolver(tenants),
    builds,
    ownership,
  };
}

/**
 * The rules' preparation, while kustomize runs: each step after a turn of the event loop, the first once planning has
 * started kustomize (child processes, in the same turn), the others so that its output and timers are not held up.
 */
async function prepareRules(rules: readonly Rule[], config: Config, models: FleetModel[]): Promise<void> {
  for (const rule of rules) {
    if (!rule.prepare || config.rules[rule.meta.id] === "off") continue;
    for (const model of models) {
      await new Promise((resolve) => setImmediate(resolve));
      try {
        rule.prepare(model);
      } catch {
        // The rule's check meets the same failure and reports it.
      }
    }
  }
}

function runRules(rules: readonly Rule[], context: RuleContext, config: Config): { findings: Finding[]; problems: string[] } {
  const findings = new Map<string, Finding>();
  const problems: string[] = [];
  for (const rule of rules) {
    const setting = config.rules[rule.meta.id];
    if (setting === "off") continue;
    let found;
    try {
      found = rule.check(context);
    } catch (error) {
      problems.push(`rule ${rule.meta.id} could not run: ${errorMessage(error)}`);
      continue;
    }
    for (const raw of found) {
      // `exclude` silences findings on the files it names, not ownership (who may change them), nor what a build
      // renders from them: a rendered object is deployed whatever file it came from.
      const renderedObject = raw.build !== undefined && raw.object !== undefined;
      if (rule.meta.id !== "tenant-ownership" && !renderedObject && isExcluded(config, raw.path)) continue;
      const severity: Severity = setting ?? raw.severity ?? rule.meta.defaultSeverity;
      const finding: Finding = { ...raw, rule: rule.meta.id, severity };
      // Per build: the same line can render into several builds, and an exception on one of them is not on all.
      findings.set(`${findingKey(finding)}|${finding.build ?? ""}`, finding);
    }
  }
  return { findings: [...findings.values()], problems };
}

/**
 * A finding counts against the pull request when it sits on a line the pull request added or
 * changed, on a rendered object whose content it changed, or when the base had no such finding.
 */
function classifyFindings(
  head: Finding[],
  base: Finding[],
  byPath: Map<string, ChangedFile>,
  basePathOf: (path: string) => string,
  builds: BuildResult,
  models: { head: FleetModel; base: FleetModel },
) {
  const sameFinding = (finding: Finding, path: string) => `${finding.rule}|${path}|${finding.message}`;
  const onBase = new Set(base.map((finding) => sameFinding(finding, finding.path)));
  const changedObjects = new Set(
    builds.renderedDiff.flatMap((diff) => diff.changes.filter((change) => change.change !== "removed").map((change) => `${diff.build}|${objectKey(change.ref)}`)),
  );
  const counted: Finding[] = [];
  const preExisting: Finding[] = [];
  for (const finding of head) {
    const file = byPath.get(finding.path);
    const existed = onBase.has(sameFinding(finding, basePathOf(finding.path)));
    const onChangedLine = file !== undefined && touchesAddedLines(file, finding.line, finding.endLine) && !(existed && onlyReformatted(finding, basePathOf(finding.path), models));
    const touched =
      onChangedLine || (finding.build !== undefined && finding.object !== undefined && changedObjects.has(`${finding.build}|${objectKey(finding.object)}`)) || !existed;
    (touched ? counted : preExisting).push(finding);
  }
  return { counted, preExisting };
}

/**
 * True when the object a finding is about has the same content on both sides: its lines changed only by
 * re-indentation or reordering (as image automation's writer does), so the finding is not the change's doing.
 */
function onlyReformatted(finding: Finding, basePath: string, models: { head: FleetModel; base: FleetModel }): boolean {
  const after = models.head.documentAt(finding.path, finding.line);
  if (!after?.ref) return false;
  const key = objectKey(after.ref);
  const before = models.base.file(basePath)?.documents.find((doc) => doc.ref && objectKey(doc.ref) === key);
  return before !== undefined && isDeepStrictEqual(before.value, after.value);
}

/** Rules no annotation can silence: the file being judged is written by the author being judged. */
const NEVER_IGNORED = new Set(["tenant-ownership", "yaml-syntax"]);

interface ExceptionContext {
  head: FleetModel;
  base: FleetModel;
  headBuilds: Build[];
  baseBuilds: Build[];
  basePathOf(path: string): string;
  /** Asked only when the pull request itself adds an exception. */
  platformApproval(): Promise<{ approvedBy?: string; owners: string[] }>;
}

/**
 * Objects annotated `fleet-warden.io/ignore: <rule>[,<rule>]` with a reason in `fleet-warden.io/ignore-reason`
 * skip those rules, and every exception is listed. An exception the pull request adds takes effect only when a
 * platform owner approved the head commit: otherwise a tenant could waive the policy in its own change.
 */
async function applyExceptions(findings: Finding[], context: ExceptionContext): Promise<{ kept: Finding[]; ignored: IgnoredFinding[] }> {
  const kept: Finding[] = [];
  const ignored: IgnoredFinding[] = [];
  let approval: Awaited<ReturnType<ExceptionContext["platformApproval"]>> | undefined;
  for (const finding of findings) {
    const annotations = annotationsFor(finding, finding.path, context.head, context.headBuilds);
    if (NEVER_IGNORED.has(finding.rule) || !exceptionRules(annotations).includes(finding.rule)) {
      kept.push(finding);
      continue;
    }
    const reason = annotations[IGNORE_REASON_ANNOTATION];
    if (typeof reason !== "string" || reason.trim() === "") {
      kept.push({ ...finding, message: `${finding.message} (the ${IGNORE_ANNOTATION} annotation needs a reason in ${IGNORE_REASON_ANNOTATION} to take effect)` });
      continue;
    }
    const onBase = exceptionRules(annotationsFor(finding, context.basePathOf(finding.path), context.base, context.baseBuilds)).includes(finding.rule);
    if (onBase) {
      ignored.push({ finding, reason: reason.trim() });
      continue;
    }
    approval ??= await context.platformApproval();
    if (approval.approvedBy) {
      ignored.push({ finding, reason: `${reason.trim()} (new exception; ${approval.approvedBy})` });
    } else {
      const who = approval.owners.length > 0 ? approval.owners.join(" or ") : "a platform owner (set platform.owners in .github/fleet-warden.yml)";
      kept.push({ ...finding, message: `${finding.message} (this pull request adds a ${IGNORE_ANNOTATION} exception for it; the exception takes effect once ${who} approves the head commit)` });
    }
  }
  return { kept, ignored };
}

function exceptionRules(annotations: Record<string, unknown>): string[] {
  return String(annotations[IGNORE_ANNOTATION] ?? "")
    .split(",")
    .map((rule) => rule.trim())
    .filter(Boolean);
}

/** The annotations of the object a finding is about: the rendered object of its build, else its source document. */
function annotationsFor(finding: Finding, path: string, model: FleetModel, builds: Build[]): Record<string, unknown> {
  let object: Record<string, unknown> | undefined;
  const key = finding.object ? objectKey(finding.object) : undefined;
  if (finding.build && key) {
    object = builds.find((build) => build.report.name === finding.build)?.objects.find((rendered) => objectKey(rendered.ref) === key)?.object;
  }
  if (!object && key) object = model.file(path)?.documents.find((doc) => doc.ref && objectKey(doc.ref) === key)?.object;
  // By position only for a finding about no object: another object's document can sit at that line on the base.
  object ??= !key && path === finding.path ? model.documentAt(path, finding.line)?.object : undefined;
  const metadata = (object?.metadata ?? {}) as Record<string, unknown>;
  const annotations = metadata.annotations;
  return annotations !== null && typeof annotations === "object" ? (annotations as Record<string, unknown>) : {};
}

/**
 * Drops a finding (e.g. kustomize-build's "spec.path is not a folder of the Flux source") whose `restatedBy` rule
 * reports the same line in the same list (counted or pre-existing), at least as severe: the person sees the
 * better finding once, and the conclusion cannot change. With that rule off, excepted on the object or configured
 * milder, the finding stays.
 */
function withoutRestatedFindings(findings: Finding[]): Finding[] {
  const restated = (candidate: Finding) =>
    candidate.restatedBy !== undefined &&
    findings.some(
      (finding) => finding.rule === candidate.restatedBy && finding.path === candidate.path && finding.line === candidate.line && severityOrder[finding.severity] <= severityOrder[candidate.severity],
    );
  return findings.filter((finding) => !restated(finding));
}

const findingKey = (finding: Finding) => `${finding.rule}|${finding.path}|${finding.line}|${finding.message}`;

function uniqueBy<T>(items: T[], key: (item: T) => string): T[] {
  return [...new Map(items.map((item) => [key(item), item] as const)).values()];
}

const uniqueFindings = (findings: Finding[]) => uniqueBy(findings, findingKey);

const severityOrder: Record<Severity, number> = { error: 0, warning: 1, notice: 2 };

function sortFindings(findings: Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) => severityOrder[a.severity] - severityOrder[b.severity] || a.path.localeCompare(b.path) || a.line - b.line || a.rule.localeCompare(b.rule),
  );
}

function titleFor(conclusion: Verdict["conclusion"], findings: Finding[], problems: string[]): string {
  const count = (severity: Severity) => findings.filter((finding) => finding.severity === severity).length;
  const parts = [
    [count("error"), "error"],
    [count("warning"), "warning"],
    [count("notice"), "notice"],
  ]
    .filter(([n]) => (n as number) > 0)
    .map(([n, word]) => `${n} ${word}${n === 1 ? "" : "s"}`);
  if (problems.length > 0) parts.unshift(`${problems.length} evaluation problem${problems.length === 1 ? "" : "s"}`);
  if (parts.length === 0) return conclusion === "success" ? "No findings" : "Failed";
  return parts.join(", ");
}
