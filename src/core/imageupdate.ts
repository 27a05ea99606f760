// Classifies Flux image-automation pull requests: eligible for auto-merge only when they change image tags and nothing else.
// Files are compared semantically (YAML parsed on both sides), so the automation's reformatting is no change at all.
import { minimatch } from "minimatch";
import { RE2JS } from "re2js";
import { major, parse, satisfies, validRange, coerce, gt, type SemVer } from "semver";
import { parseAllDocuments } from "yaml";
import type { Config } from "./config.js";
import { apiGroup, isYamlPath, type FleetModel, type SourceDocument, type SourceFile } from "./fleet.js";
import { clusterOf, inClusterFolder, specOf, visibleFrom } from "./flux.js";
import { findImagePolicies, parseImageMarkerLine, type ImageMarker, type ImageMarkerProblem, type ImagePolicyRef } from "./image-markers.js";
import type { AutoMergeReport, ChangedFile, OwnershipReport, PullRequestFacts } from "./types.js";
import { isRecord } from "./values.js";
import { defaultYamlLimits, errorMessage, GO_YAML, parseYamlSafely, type ParsedDocument, type YamlPath } from "./yaml.js";

export interface ImageUpdateInput {
  facts: PullRequestFacts;
  config: Config;
  base: FleetModel;
  head: FleetModel;
  changedFiles: ChangedFile[];
}

/** Undefined when the pull request does not come from an image-update branch. */
export async function classifyImageUpdate(input: ImageUpdateInput): Promise<AutoMergeReport | undefined> {
  const { facts, config } = input;
  const branch = facts.headBranch;
  if (!branch || !config.imageUpdates.branches.some((pattern) => minimatch(branch, pattern))) return undefined;

  const failures = pullRequestFailures(facts, config);
  const verified: string[] = [];
  const policies = new PolicyIndex(input.base);
  let imageChanges = 0;
  for (const file of input.changedFiles) {
    const result = classifyFile(file, input, policies);
    failures.push(...result.failures);
    verified.push(...result.verified);
    imageChanges += result.imageChanges;
  }
  if (input.changedFiles.length > 0 && failures.length === 0 && imageChanges === 0) {
    failures.push("no image reference changed: the pull request only reformats files");
  }
  if (input.changedFiles.length === 0) failures.push("the pull request changes no file");
  if (failures.length > 0) return { eligible: false, reasons: failures };
  // Asked last, so that only a pull request eligible on everything else costs a GitHub call.
  const commits = await commitAuthorship(facts, config);
  if (typeof commits !== "string") return { eligible: false, reasons: commits };
  return {
    eligible: true,
    reasons: [`same repository, author \`${facts.author}\` is in imageUpdates.authors, not a draft; ${commits}`, ...verified],
    mergeMethod: config.imageUpdates.mergeMethod,
  };
}

/** GitHub lists at most this many commits of a pull request: the authors of more are unknown. */
export const GITHUB_LISTED_COMMITS = 250;

export function tooManyCommits(): string {
  return `GitHub lists only the first ${GITHUB_LISTED_COMMITS} commits of a pull request, so the authors of the others are unknown`;
}

/**
 * Anyone who can push to the image-update branch could add a commit to the bot's pull request, which keeps its
 * opener: every commit must be authored by an imageUpdates author too. The description of the commits when they
 * are; else why not.
 */
async function commitAuthorship(facts: PullRequestFacts, config: Config): Promise<string | string[]> {
  if (!facts.commitAuthors) return ["the authors of the pull request's commits are not known (they are read from GitHub)"];
  let logins: Array<string | undefined>;
  try {
    logins = await facts.commitAuthors();
  } catch (error) {
    return [`the authors of the pull request's commits could not be read: ${errorMessage(error)}`];
  }
  if (logins.length === 0) return ["GitHub lists no commit of the pull request"];
  // Where the commits are read locally (the CLI), the App's answer all the same.
  if (logins.length >= GITHUB_LISTED_COMMITS) return [tooManyCommits()];
  const authors = new Set(config.imageUpdates.authors.map((login) => login.toLowerCase()));
  const count = logins.length;
  const failures = logins.flatMap((login, i) => {
    const position = `commit ${i + 1} of ${count}`;
    if (login === undefined) return [`GitHub maps no account to the author of ${position}`];
    return authors.has(login.toLowerCase()) ? [] : [`${position} is authored by @${login}, not an imageUpdates author`];
  });
  if (failures.length > 0) return failures;
  const distinct = [...new Set(logins.map((login) => `@${login}`))].join(", ");
  return count === 1 ? `its commit is authored by ${distinct}` : `its ${count} commits are authored by ${distinct}`;
}

/** The ownership report of an eligible image update: no owner's approval applies (DESIGN, "Auto-merge of image updates"). */
export function ownershipWaivedForImageUpdate(): Promise<OwnershipReport> {
  return Promise.resolve({
    entries: [],
    notices: ["Ownership does not apply: this is an eligible image update, authorized by the auto-merge classifier (see Auto-merge)."],
  });
}

function pullRequestFailures(facts: PullRequestFacts, config: Config): string[] {
  const failures: string[] = [];
  if (facts.fromFork !== false) {
    failures.push(
      facts.fromFork ? "the head branch is in a fork, not in this repository" : "it is not known whether the head branch is in this repository",
    );
  }
  const authors = config.imageUpdates.authors.map((login) => login.toLowerCase());
  if (!authors.includes(facts.author.toLowerCase())) {
    failures.push(`the author \`${facts.author || "(unknown)"}\` is not in imageUpdates.authors (${config.imageUpdates.authors.join(", ") || "empty"})`);
  }
  if (facts.draft) failures.push("the pull request is a draft");
  // ImagePolicies are read at the merge base: a branch cut before the base tightened or removed one would be
  // judged by the policy the base no longer has.
  if (facts.baseTipSha !== undefined && facts.baseTipSha !== facts.baseSha) {
    failures.push("the branch is behind its base: policies are read at the base tip only when it is up to date");
  }
  // A truncated file listing could hide a change: nothing unverified is merged.
  for (const problem of facts.problems ?? []) failures.push(`the change could not be read completely: ${problem}`);
  return failures;
}

interface FileResult {
  failures: string[];
  verified: string[];
  imageChanges: number;
}

function classifyFile(file: ChangedFile, input: ImageUpdateInput, policies: PolicyIndex): FileResult {
  const fail = (message: string): FileResult => ({ failures: [message], verified: [], imageChanges: 0 });
  const { path } = file;
  if ([path, file.previousPath].some((candidate) => candidate !== undefined && candidate.startsWith(".github/"))) {
    return fail(`${path} is under .github/, which an image update never changes`);
  }
  if (file.status === "renamed") return fail(`${file.previousPath ?? "a file"} is renamed to ${path}; an image update only modifies files in place`);
  if (file.status !== "modified") return fail(`${path} is ${file.status}; an image update only modifies existing files`);
  const [baseBytes, headBytes] = [input.base.files.read(path), input.head.files.read(path)];
  if (baseBytes && headBytes?.equals(baseBytes)) {
    return fail(`${path} changes, but not its content: its file mode changes (made executable, for instance), which an image update never does`);
  }
  if (!isYamlPath(path)) return fail(`${path} is not a YAML file; an image update only changes marked image references in YAML`);

  const before = readSide(input.base, path);
  if (typeof before === "string") return fail(`${path} cannot be compared on the base: ${before}`);
  const after = readSide(input.head, path);
  if (typeof after === "string") return fail(`${path} cannot be compared on the head: ${after}`);
  if (before.documents.length !== after.documents.length) {
    return fail(`${path} has ${after.documents.length} YAML documents instead of ${before.documents.length}; only marked image references may change`);
  }

  const result: FileResult = { failures: [], verified: [], imageChanges: 0 };
  before.documents.forEach((baseDoc, index) => {
    const headDoc = after.documents[index]!;
    const at = { path, before: documentSide(before.file, baseDoc), after: documentSide(after.file, headDoc) };
    result.failures.push(...markerChanges(at));
    const valueDifferences = diffValues(baseDoc.value, headDoc.value, []);
    const differences = [...valueDifferences, ...markedTextChanges(at, valueDifferences)];
    for (const difference of differences) {
      const outcome = judgeDifference(difference, at, policies, input.config);
      if (outcome.failure) result.failures.push(outcome.failure);
      if (outcome.verified) {
        result.verified.push(outcome.verified);
        result.imageChanges++;
      }
    }
    const judged = new Set(differences.map((difference) => describeYamlPath(difference.path)));
    for (const difference of diffValues(withKeysOf(before.yaml11[baseDoc.index], baseDoc.value), withKeysOf(after.yaml11[headDoc.index], headDoc.value), [])) {
      if (!judged.has(describeYamlPath(difference.path))) result.failures.push(yaml11Change(difference, at));
    }
  });
  if (result.failures.length === 0 && result.imageChanges === 0) result.verified.push(`${path}: reformatted, every value unchanged`);
  return result;
}

interface ParsedSide {
  file: SourceFile;
  documents: ParsedDocument[];
  /** Each document of the stream (by its index) as YAML 1.1 reads it. */
  yaml11: unknown[];
}

/** Whole YAML documents (the fleet model splits Lists into items; a List's own keys must be compared too). */
function readSide(model: FleetModel, path: string): ParsedSide | string {
  const file = model.file(path);
  if (!file) return "the file is missing or not a regular file";
  if (file.error) return `line ${file.error.line}: ${file.error.message}`;
  const parsed = parseYamlSafely(file.text, path);
  if (parsed.error) return `line ${parsed.error.line}: ${parsed.error.message}`;
  const yaml11 = readAsYaml11(file.text);
  if (typeof yaml11 === "string") return `as YAML 1.1: ${yaml11}`;
  return { file, documents: parsed.documents, yaml11 };
}

/**
 * YAML 1.2 reads `0444` as 444 and `yes` as a string; kustomize and Flux (Go's YAML libraries) read 0444 as the octal
 * 292, and postBuild reads `yes` as true. A scalar rewritten between two forms that only YAML 1.2 reads alike is a
 * change, so each side is read both ways (the safe parse above has already enforced the size and alias limits).
 */
function readAsYaml11(text: string): unknown[] | string {
  try {
    return parseAllDocuments(text, { ...GO_YAML, merge: true, uniqueKeys: false }).map((doc) => {
      const error = doc.errors[0];
      if (error) throw new Error(error.message.split("\n")[0]);
      return doc.toJS({ maxAliasCount: defaultYamlLimits.maxAliasCount });
    });
  } catch (error) {
    return errorMessage(error);
  }
}

/**
 * The YAML 1.1 reading with the YAML 1.2 reading's keys (`on:` is the key "true" in 1.1): the two readings have the
 * same shape, entry for entry, so their differences are named by the same paths. A shape that differs (two keys
 * 1.1 reads alike) is left as it is.
 */
function withKeysOf(yaml11: unknown, yaml12: unknown): unknown {
  if (Array.isArray(yaml11) && Array.isArray(yaml12) && yaml11.length === yaml12.length) return yaml11.map((item, i) => withKeysOf(item, yaml12[i]));
  if (!isRecord(yaml11) || !isRecord(yaml12)) return yaml11;
  const values = Object.values(yaml11);
  const keys = Object.keys(yaml12);
  if (values.length !== keys.length) return yaml11;
  const relabelled: Record<string, unknown> = {};
  keys.forEach((key, i) => Object.defineProperty(relabelled, key, { value: withKeysOf(values[i], yaml12[key]), enumerable: true, writable: true, configurable: true }));
  return relabelled;
}

/** A difference only the YAML 1.1 reading sees (the YAML 1.2 one found the values equal). */
function yaml11Change(difference: Difference, pair: DocumentPair): string {
  const key = `\`${describeYamlPath(difference.path)}\``;
  const line = pair.after.doc.valueLine(difference.path) ?? pair.after.doc.keyLine(difference.path) ?? pair.after.doc.startLine;
  const what =
    difference.change === "changed"
      ? `changes ${key} from ${JSON.stringify(difference.before)} to ${JSON.stringify(difference.after)}`
      : `${difference.change === "added" ? "adds" : "removes"} ${key}`;
  return `line ${line} of ${pair.path} ${what} as YAML 1.1 reads it (as kustomize and Flux read numbers like 0444), although YAML 1.2 reads both sides alike`;
}

// ---- semantic diff -------------------------------------------------------------------------

interface Difference {
  path: YamlPath;
  change: "changed" | "added" | "removed";
  before?: unknown;
  after?: unknown;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Every leaf-level difference between two parsed YAML values. */
function diffValues(before: unknown, after: unknown, path: YamlPath): Difference[] {
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return keys.flatMap((key) => {
      const at = [...path, key];
      // Own keys only: `key in` found __proto__ and constructor on every object, so adding one went unseen.
      if (!Object.hasOwn(after, key)) return [{ path: at, change: "removed" as const, before: before[key] }];
      if (!Object.hasOwn(before, key)) return [{ path: at, change: "added" as const, after: after[key] }];
      return diffValues(before[key], after[key], at);
    });
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const differences: Difference[] = [];
    for (let i = 0; i < Math.max(before.length, after.length); i++) {
      const at = [...path, i];
      if (i >= after.length) differences.push({ path: at, change: "removed", before: before[i] });
      else if (i >= before.length) differences.push({ path: at, change: "added", after: after[i] });
      else differences.push(...diffValues(before[i], after[i], at));
    }
    return differences;
  }
  if (Object.is(before, after)) return [];
  return [{ path, change: "changed", before, after }];
}

/** `spec.template.spec.containers[0].image`; keys that are not identifiers are bracketed. */
export function describeYamlPath(path: YamlPath): string {
  if (path.length === 0) return "the whole document";
  return path
    .map((step, i) => {
      if (typeof step === "number") return `[${step}]`;
      if (/^[A-Za-z_][\w-]*$/.test(step)) return i === 0 ? step : `.${step}`;
      return `[${JSON.stringify(step)}]`;
    })
    .join("");
}

// ---- markers ---------------------------------------------------------------------------------

type Marker = ImageMarker | ImageMarkerProblem;
/** A marker with the YAML path of the scalar it marks. */
type PlacedMarker = Marker & { path: YamlPath };

/** How a marker is written (`ns:name:tag`), or the problem with it: what must not differ between base and head. */
function markerText(marker: Marker): string {
  if ("message" in marker) return marker.message;
  const { namespace, name } = marker.policy;
  return `${namespace}:${name}${marker.field === "image" ? "" : `:${marker.field}`}`;
}

interface DocumentSide {
  doc: ParsedDocument;
  /** Image-policy markers by YAML path (see `describeYamlPath`). */
  markers: Map<string, PlacedMarker>;
}

interface DocumentPair {
  path: string;
  before: DocumentSide;
  after: DocumentSide;
}

function leafPaths(value: unknown, path: YamlPath = []): YamlPath[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => leafPaths(item, [...path, i]));
  if (isPlainObject(value)) return Object.entries(value).flatMap(([key, item]) => leafPaths(item, [...path, key]));
  return [path];
}

/**
 * A marker belongs to the single-line scalar on its line; a line holding several scalars (a flow
 * collection) gives none of them a marker, since it cannot say which one it marks.
 */
function documentSide(file: SourceFile, doc: ParsedDocument): DocumentSide {
  const byLine = new Map<number, YamlPath[]>();
  for (const path of leafPaths(doc.value)) {
    const line = doc.valueLine(path);
    if (line === undefined || line !== doc.valueEndLine(path)) continue;
    byLine.set(line, [...(byLine.get(line) ?? []), path]);
  }
  const markers = new Map<string, PlacedMarker>();
  for (const [line, paths] of byLine) {
    const marker = parseImageMarkerLine(file.lines[line - 1] ?? "", line);
    if (marker && paths.length === 1) markers.set(describeYamlPath(paths[0]!), { ...marker, path: paths[0]! });
  }
  return { doc, markers };
}

/**
 * Flux and kustomize take a marked scalar as the text written (`newTag: 1.10` is the tag `1.10`): a marked scalar
 * rewritten to a text that YAML reads as the same value (1.10 → 1.100, both 1.1) is a change of its own.
 */
function markedTextChanges(pair: DocumentPair, differences: readonly Difference[]): Difference[] {
  const seen = new Set(differences.map((difference) => describeYamlPath(difference.path)));
  return [...pair.after.markers].flatMap(([key, next]) => {
    const old = pair.before.markers.get(key);
    if (seen.has(key) || !old || "message" in old || "message" in next || old.value === next.value) return [];
    return [{ path: next.path, change: "changed" as const, before: old.value, after: next.value }];
  });
}

/** Markers steer the automation's next commits: adding, moving or editing one is a change, not layout. */
function markerChanges(pair: DocumentPair): string[] {
  const before = pair.before.markers;
  const after = pair.after.markers;
  const failures: string[] = [];
  for (const key of new Set([...before.keys(), ...after.keys()])) {
    const [old, next] = [before.get(key), after.get(key)].map((marker) => (marker ? markerText(marker) : undefined));
    if (old === next) continue;
    const change = old === undefined ? "adds an image-policy marker to" : next === undefined ? "removes the image-policy marker of" : "changes the image-policy marker of";
    failures.push(`${pair.path} ${change} \`${key}\` (\`${old ?? "none"}\` → \`${next ?? "none"}\`)`);
  }
  return failures;
}

// ---- judging one difference ------------------------------------------------------------------

interface Outcome {
  failure?: string;
  verified?: string;
}

function judgeDifference(difference: Difference, pair: DocumentPair, policies: PolicyIndex, config: Config): Outcome {
  const key = `\`${describeYamlPath(difference.path)}\``;
  if (difference.change === "removed") {
    const line = pair.before.doc.keyLine(difference.path) ?? pair.before.doc.startLine;
    return { failure: `${pair.path} removes ${key} (line ${line} of the base)` };
  }
  const headLine = pair.after.doc.valueLine(difference.path) ?? pair.after.doc.startLine;
  const where = `line ${headLine} of ${pair.path}`;
  if (difference.change === "added") {
    return { failure: `${where} adds ${key}` };
  }
  const marker = pair.after.markers.get(describeYamlPath(difference.path));
  if (!marker) return { failure: `${where} changes ${key}, which carries no image-policy marker` };
  // A marker that differs from the base's is already a failure of its own (markerChanges).
  const baseMarker = pair.before.markers.get(describeYamlPath(difference.path));
  if (!baseMarker || markerText(baseMarker) !== markerText(marker)) return {};
  if ("message" in marker) return { failure: `${where} changes ${key}, whose marker is not one Flux applies: ${marker.message}` };
  const before = scalarText(difference.before, "value" in baseMarker ? baseMarker.value : undefined);
  const after = scalarText(difference.after, marker.value);
  if (before === undefined || after === undefined) {
    return { failure: `${where} changes ${key} from a ${typeName(difference.before)} to a ${typeName(difference.after)}; a marked image reference is a string` };
  }
  const policy = policies.find(marker.policy, pair.path);
  if (typeof policy === "string") return { failure: `${where} changes ${key}, whose marker names ImagePolicy \`${markerText(marker)}\`, which ${policy}` };
  return judgeImageChange({ marker, before, after, where, policy, allowMajor: config.imageUpdates.allowMajor, pair });
}

/** The scalar as written: a tag like `1.10` parses as the number 1.1, so a number keeps its source text. */
function scalarText(value: unknown, written: string | undefined): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number") return written !== undefined && Number(written) === value ? written : String(value);
  return undefined;
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "sequence";
  return isPlainObject(value) ? "mapping" : typeof value;
}

interface ImageRef {
  name: string;
  tag?: string;
  digest?: string;
}

/** `registry:5000/org/app:1.2.3@sha256:…` -> name, tag, digest (the tag is after the last `:` of the last path segment). */
export function parseImageRef(reference: string): ImageRef {
  const at = reference.indexOf("@");
  const digest = at === -1 ? undefined : reference.slice(at + 1);
  const named = at === -1 ? reference : reference.slice(0, at);
  const colon = named.lastIndexOf(":");
  const hasTag = colon > named.lastIndexOf("/");
  return {
    name: hasTag ? named.slice(0, colon) : named,
    ...(hasTag ? { tag: named.slice(colon + 1) } : {}),
    ...(digest !== undefined ? { digest } : {}),
  };
}

const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-fA-F0-9]{32,}$/;
const TAG = /^[\w][\w.-]{0,127}$/;

interface ImageChange {
  marker: ImageMarker;
  before: string;
  after: string;
  where: string;
  policy: PolicySet;
  allowMajor: boolean;
  pair: DocumentPair;
}

function judgeImageChange(change: ImageChange): Outcome {
  const { marker, before, after, where } = change;
  switch (marker.field) {
    case "name":
      return { failure: `${where} changes the image repository from \`${before}\` to \`${after}\` (marker \`${markerText(marker)}\`); only tags and digests may change` };
    case "digest":
      if (!DIGEST.test(after)) return { failure: `${where} sets \`${after}\`, which is not an image digest (marker \`${markerText(marker)}\`)` };
      // The tag is another scalar: a digest that comes with a new tag comes with that scalar's change.
      return judgeDigest(change, true, retaggedInDocument(change.pair, marker.policy), "digest ");
    case "tag":
      // Under digestReflectionPolicy, Flux writes `<tag>@<digest>` into a `:tag` scalar.
      return judgeReference(change, splitTagAndDigest(before), splitTagAndDigest(after), "", "tag ");
    case "image": {
      const old = parseImageRef(before);
      const next = parseImageRef(after);
      if (old.name !== next.name) {
        return { failure: `${where} changes the image repository from \`${old.name}\` to \`${next.name}\`; only tags and digests may change` };
      }
      return judgeReference(change, old, next, ` of \`${next.name}\``, "");
    }
  }
}

type TagAndDigest = Pick<ImageRef, "tag" | "digest">;

function splitTagAndDigest(value: string): TagAndDigest {
  const at = value.indexOf("@");
  return at === -1 ? { tag: value } : { tag: value.slice(0, at), digest: value.slice(at + 1) };
}

/** The tag, and then the digest, of a marked reference: each one that changed must be one Flux would write. */
function judgeReference(change: ImageChange, old: TagAndDigest, next: TagAndDigest, of: string, label: string): Outcome {
  const { where, before, after } = change;
  const retagged = old.tag !== next.tag;
  if (retagged) {
    if (next.tag === undefined || old.tag === undefined) {
      return { failure: `${where} changes \`${before}\` to \`${after}\`: a tag is ${next.tag === undefined ? "removed" : "added"}, which cannot be checked against a policy` };
    }
    const tagOutcome = judgeTag(change, old.tag, next.tag, of);
    if (tagOutcome.failure || old.digest === next.digest) return tagOutcome;
  }
  if (next.digest !== undefined && !DIGEST.test(next.digest)) {
    return { failure: `${where} sets the digest${of} \`${next.digest}\`, which is not an image digest` };
  }
  if (next.digest === undefined) return { failure: `${where} removes the digest from \`${before}\`` };
  return judgeDigest(change, old.digest !== undefined, retagged, label);
}

/**
 * A digest pins the image whatever its tag says, so a new one is only what Flux writes: under
 * digestReflectionPolicy IfNotPresent (along with a new tag) or Always (also for the same tag).
 */
function judgeDigest(change: ImageChange, hadDigest: boolean, retagged: boolean, label: string): Outcome {
  const { where, before, after, policy } = change;
  const refusals = policy.refusals((candidate) => candidate.refusesDigest(retagged));
  if (refusals) {
    const what = !hadDigest ? "adds a digest" : retagged ? "changes the digest" : "changes only the digest";
    return { failure: `${where} ${what}: \`${before}\` → \`${after}\`, which ${refusals}` };
  }
  return { verified: `${where}: ${label}\`${before}\` → \`${after}\` (${policy.describe})` };
}

/** Whether the document gives the policy's tag (a `:tag` scalar or a full reference marked for it) a new value. */
function retaggedInDocument(pair: DocumentPair, policy: ImagePolicyRef): boolean {
  return [...pair.after.markers].some(([key, marker]) => {
    const old = pair.before.markers.get(key);
    if ("message" in marker || !old || "message" in old || markerText(old) !== markerText(marker)) return false;
    if (marker.policy.namespace !== policy.namespace || marker.policy.name !== policy.name) return false;
    if (marker.field === "tag") return splitTagAndDigest(old.value).tag !== splitTagAndDigest(marker.value).tag;
    return marker.field === "image" && parseImageRef(old.value).tag !== parseImageRef(marker.value).tag;
  });
}

function judgeTag(change: ImageChange, before: string, after: string, of: string): Outcome {
  const { where, policy } = change;
  if (!TAG.test(after)) return { failure: `${where} sets the tag \`${after}\`${of}, which is not a valid image tag` };
  const refusals = policy.refusals((candidate) => candidate.admits(before, after, change.allowMajor));
  if (refusals) return { failure: `${where} changes the tag${of} from \`${before}\` to \`${after}\`, which ${refusals}` };
  return { verified: `${where}: tag${of} \`${before}\` → \`${after}\` (${policy.describe})` };
}

// ---- image policies --------------------------------------------------------------------------

const IMAGE_API_GROUP = "image.toolkit.fluxcd.io";

class ImagePolicy {
  readonly describe: string;

  constructor(private readonly doc: SourceDocument) {
    const { namespace, name } = doc.ref!;
    this.describe = `${namespace ? `${namespace}/` : ""}${name} (${doc.path})`;
  }

  /** Why `after` may not replace `before` under this policy, or undefined when it may. */
  admits(before: string, after: string, allowMajor: boolean): string | undefined {
    const spec = specOf(this.doc);
    const filter = isPlainObject(spec.filterTags) ? spec.filterTags : {};
    const policy = isPlainObject(spec.policy) ? spec.policy : {};
    const pattern = typeof filter.pattern === "string" && filter.pattern !== "" ? filter.pattern : undefined;
    let extract = (tag: string): string | undefined => tag;
    if (pattern !== undefined) {
      const regex = goRegExp(pattern);
      if (typeof regex === "string") return `its filterTags.pattern \`${pattern}\` cannot be used: ${regex}`;
      const template = typeof filter.extract === "string" && filter.extract !== "" ? filter.extract : undefined;
      extract = (tag) => {
        const match = regex.exec(tag) as RegExpExecArray | null;
        return match ? (template ? expandTemplate(template, match) : tag) : undefined;
      };
    }
    const next = extract(after);
    if (next === undefined) return `the new tag does not match filterTags.pattern \`${pattern}\``;
    const previous = extract(before);
    if (previous === undefined) return `the old tag does not match filterTags.pattern \`${pattern}\`, so the order cannot be checked`;

    if (isPlainObject(policy.semver)) return semverFailure(String(policy.semver.range ?? ""), previous, next, allowMajor);
    if (isPlainObject(policy.alphabetical)) {
      const order = policy.alphabetical.order === "desc" ? "desc" : "asc";
      const newer = order === "asc" ? next > previous : next < previous;
      return newer ? undefined : `\`${next}\` does not sort ${order === "asc" ? "after" : "before"} \`${previous}\` (alphabetical, ${order})`;
    }
    if (isPlainObject(policy.numerical)) {
      const order = policy.numerical.order === "desc" ? "desc" : "asc";
      const [a, b] = [toNumber(previous), toNumber(next)];
      if (a === undefined || b === undefined) return `\`${a === undefined ? previous : next}\` is not a number (numerical policy)`;
      const newer = order === "asc" ? b > a : b < a;
      return newer ? undefined : `${next} is not ${order === "asc" ? "greater" : "less"} than ${previous} (numerical, ${order})`;
    }
    return "it sets no semver, alphabetical or numerical policy";
  }

  /** Why Flux would not write a new digest under this policy (`retagged`: along with a new tag), or undefined. */
  refusesDigest(retagged: boolean): string | undefined {
    const reflection = specOf(this.doc).digestReflectionPolicy;
    if (reflection === "Always" || (reflection === "IfNotPresent" && retagged)) return undefined;
    if (reflection === "IfNotPresent") return "its digestReflectionPolicy is IfNotPresent, under which Flux writes a digest only along with a new tag";
    const set = typeof reflection === "string" ? `sets digestReflectionPolicy \`${reflection}\`` : "sets no digestReflectionPolicy";
    return `it ${set}, so Flux never writes a digest (IfNotPresent or Always would)`;
  }
}

function semverFailure(range: string, previous: string, next: string, allowMajor: boolean): string | undefined {
  if (validRange(range, { loose: true }) === null) return `its semver range \`${range}\` is not valid`;
  const version = lenientSemver(next);
  if (!version) return `\`${next}\` is not a semantic version`;
  if (!satisfies(version, range, { loose: true })) return `${version.version} is outside the range \`${range}\``;
  const old = lenientSemver(previous);
  if (!old) return `the old tag \`${previous}\` is not a semantic version, so the step cannot be checked`;
  if (!gt(version, old)) return `${version.version} is not newer than ${old.version}`;
  if (!allowMajor && major(version) !== major(old)) {
    return `it crosses a major version (${major(old)} → ${major(version)}) and imageUpdates.allowMajor is false`;
  }
  return undefined;
}

/** Flux (Masterminds semver) accepts a leading `v` and a missing minor or patch. */
function lenientSemver(tag: string): SemVer | null {
  return parse(tag, { loose: true }) ?? (/^v?\d+(\.\d+)?$/.test(tag) ? coerce(tag) : null);
}

function toNumber(text: string): number | undefined {
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : undefined;
}

/**
 * The pattern as Flux compiles it (Go's RE2: `(?P<name>` groups, `(?i)` flags, no backreferences); the error,
 * as Go words it, when it cannot be used. RE2 runs in linear time: a pattern from a pull request cannot stall
 * the process the way `(a+)+$` stalls a backtracking RegExp.
 */
function goRegExp(pattern: string): RE2JS | string {
  try {
    return RE2JS.compile(pattern);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Go's Regexp.Expand: `$name`, `${name}`, `$1`, `$$`; a name is as long as possible, unknown names expand to nothing. */
function expandTemplate(template: string, match: RegExpExecArray): string {
  return template.replace(/\$(?:\$|\{(\w+)\}|(\w+))/g, (whole, braced: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare;
    if (name === undefined) return "$";
    const value = /^\d+$/.test(name) ? match[Number(name)] : match.groups?.[name];
    return value ?? "";
  });
}

/** Every ImagePolicy a marker can denote: a change is allowed only when all of them allow it. */
class PolicySet {
  constructor(private readonly policies: readonly ImagePolicy[]) {}

  get describe(): string {
    return `${this.policies.length === 1 ? "ImagePolicy" : "ImagePolicies"} ${this.policies.map((policy) => policy.describe).join(", ")}`;
  }

  /** Which policies refuse, and why (`check` says why one does); undefined when none does. */
  refusals(check: (policy: ImagePolicy) => string | undefined): string | undefined {
    const refusals = this.policies.flatMap((policy) => {
      const why = check(policy);
      return why === undefined ? [] : [`ImagePolicy ${policy.describe} does not allow: ${why}`];
    });
    return refusals.length > 0 ? refusals.join("; ") : undefined;
  }
}

/** ImagePolicies of the base commit (a pull request cannot bring the policy that judges it). */
class PolicyIndex {
  constructor(private readonly model: FleetModel) {}

  /**
   * Every ImagePolicy the marker of a file at `markedPath` can name, or why there is none. Which one Flux resolves
   * depends on what renders where, so none may be picked: a same-named copy elsewhere (an example, a tenant's) never
   * widens what is allowed. Only another cluster's `clusters/<name>/` folder is out of reach of a file in a cluster folder.
   */
  find(ref: ImagePolicyRef, markedPath: string): PolicySet | string {
    const named = findImagePolicies(this.model, ref).filter((doc) => doc.ref && apiGroup(doc.ref.apiVersion) === IMAGE_API_GROUP);
    const cluster = inClusterFolder(markedPath) ? clusterOf(markedPath) : undefined;
    const reachable = named.filter((doc) => visibleFrom(doc.path, cluster));
    if (reachable.length > 0) return new PolicySet(reachable.map((doc) => new ImagePolicy(doc)));
    if (named.length > 0) return `exists only in another cluster's folder (${named.map((doc) => doc.path).join(", ")})`;
    return "does not exist in the repository";
  }
}
