// The contract between the pure core, the rules, the reporters and the GitHub layer.
// Nothing here does I/O: the App and the CLI each build a PullRequestFacts, the core returns a Verdict.
import type { Config } from "./config.js";
import type { TreeFiles } from "./files.js";
import type { FleetModel, SourceDocument } from "./fleet.js";
import type { FileObjectDiff } from "./diff.js";

export type Severity = "error" | "warning" | "notice";
export type Conclusion = "success" | "failure" | "neutral";

/** A replacement of lines [line, endLine] (1-based, inclusive) of the finding's file on the head side. */
export interface Fix {
  line: number;
  endLine: number;
  /** The new text of those lines, without a trailing newline. */
  replacement: string;
  /** One line saying what the fix does, shown above the suggestion. */
  description?: string;
}

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

export interface Finding {
  rule: string;
  severity: Severity;
  path: string;
  line: number;
  endLine: number;
  message: string;
  fix?: Fix;
  /** The object the finding is about: used for exceptions (ignore annotations) and pre-existing matching. */
  object?: ObjectRef;
  /** The rendered build (by name) in which the finding was seen, when it comes from rendered output. */
  build?: string;
  /** A rule that reports the same problem on the same line, better: where it does, this finding is left out. */
  restatedBy?: string;
}

/** A finding before the engine has applied the configured severity. */
export type RuleFinding = Omit<Finding, "rule" | "severity"> & { severity?: Severity };

export type ChangeStatus = "added" | "removed" | "modified" | "renamed";

export interface ChangedFile {
  path: string;
  /** The path on the base side of a rename. */
  previousPath?: string;
  status: ChangeStatus;
  /** Head-side line numbers that the pull request added or changed. */
  addedLines: number[];
  /** Head-side line ranges shown in the diff (context included): where review comments may go. */
  hunks: Array<{ start: number; end: number }>;
  /** True when the diff could not be shown (binary, or too large for GitHub's patch). */
  patchMissing?: boolean;
  /** The diff moves a submodule to another commit ("Subproject commit"): no file of this repository. */
  submodule?: boolean;
}

export interface Review {
  user: string;
  state: "APPROVED" | "CHANGES_REQUESTED" | "COMMENTED" | "DISMISSED" | "PENDING";
  commitId: string;
  submittedAt?: string;
}

export interface PolicyFile {
  path: string;
  text: string;
}

/**
 * Everything the core needs to judge a pull request. Trees are snapshots, held in memory or on disk.
 * Questions only some evaluations ask are lazy methods (policy-bot's pull.Context model).
 */
export interface PullRequestFacts {
  /** `host`: github.com, or a GitHub Enterprise Server's; a Git URL on another host names another repository. */
  repository: { owner: string; name: string; host?: string };
  number?: number;
  /** The merge base: what the pull request is diffed against. */
  baseSha: string;
  /** The base branch's tip, when known; it differs from baseSha when the pull request is behind its base. */
  baseTipSha?: string;
  headSha: string;
  /** The base tree's files (at the merge base). */
  baseFiles: TreeFiles;
  /** The head tree's files. */
  headFiles: TreeFiles;
  /**
   * The base branch tip's files, when the pull request is behind it: tenants are inferred from what the base branch
   * says now, not from the older merge base (a branch cut before a tenant's onboarding must not escape its rules).
   */
  baseTipFiles?: TreeFiles;
  changedFiles: ChangedFile[];
  author: string;
  /**
   * GitHub logins of the authors of the pull request's commits, one per commit (undefined where GitHub maps the
   * commit's author to no account), asked only when authorship decides (owner credit, auto-merge). The CLI, which
   * knows no logins, credits the pull request's author with every commit.
   */
  commitAuthors?(): Promise<Array<string | undefined>>;
  headBranch?: string;
  /** The head repository is not the base repository. */
  fromFork?: boolean;
  draft?: boolean;
  reviews: Review[];
  /** Policy files read from the base branch: `.github/fleet-warden.yml` and CODEOWNERS. */
  policy: { config?: PolicyFile; codeowners?: PolicyFile };
  /** Is `login` a member of the team `org/team`? Cached per evaluation by the caller. */
  isTeamMember(team: string, login: string): Promise<boolean>;
  /** Set when the snapshot or file listing hit a limit; the verdict reports it. */
  problems?: string[];
  /** Links and special files found in the head snapshot; they were not extracted. */
  specialFiles?: SpecialFile[];
  /** The same of the base snapshot: a build that used one on both sides failed before the change too. */
  baseSpecialFiles?: SpecialFile[];
}

export interface SpecialFile {
  path: string;
  kind: "symlink" | "hardlink" | "other";
  target?: string;
}

export interface OwnershipEntry {
  path: string;
  owners: string[];
  /** "author", "approval by @x", or undefined when not satisfied. */
  satisfiedBy?: string;
  allowed: boolean;
}

export interface OwnershipReport {
  source?: string;
  entries: OwnershipEntry[];
  notices: string[];
}

export interface RenderedObject {
  object: Record<string, unknown>;
  ref: ObjectRef;
  /** Where the object came from in the repository, as best known (file and line of its document). */
  source?: { path: string; line: number };
}

export interface BuildReport {
  /** e.g. "Kustomization flux-system/apps (clusters/production)" or the folder for a plain root. */
  name: string;
  path: string;
  ok: boolean;
  error?: string;
  objects: number;
  /** For a build of a Kustomization from another artifact Flux may serve it: its likeliest build's name. */
  variantOf?: string;
}

/** A problem found while building, attributed to the source line that caused it. */
export interface BuildIssue {
  rule: "kustomize-build" | "postbuild-variables";
  path: string;
  line: number;
  message: string;
  /** Default: the rule's severity. Warnings do not fail the build (e.g. a prune that deletes a Namespace). */
  severity?: Severity;
  /** See Finding.restatedBy. */
  restatedBy?: string;
  /** kustomize was stopped at fleet-warden's own time or output limit: Flux may well build it. */
  limit?: true;
}

export interface Build {
  report: BuildReport;
  objects: RenderedObject[];
  issues: BuildIssue[];
  /**
   * The Flux Kustomization that applies the build, as Flux sees it, and where it is written. It applies every
   * object with its own account, wherever the object's file lives: tenancy follows it.
   */
  deployer?: { path: string; line: number; object: Record<string, unknown> & { apiVersion: string; kind: string } };
}

export interface ObjectChange {
  ref: ObjectRef;
  change: "added" | "removed" | "modified";
  /** A compact YAML diff for a modified object. */
  diff?: string;
}

export interface RenderedDiff {
  build: string;
  path: string;
  changes: ObjectChange[];
}

export interface TenantInfo {
  name: string;
  paths: string[];
  namespaces: string[];
  serviceAccount?: string;
  /** "config" when declared in .github/fleet-warden.yml, else where it was inferred from. */
  origin: string;
}

export type Territory = { kind: "tenant"; tenant: TenantInfo } | { kind: "platform" };

export interface AutoMergeReport {
  eligible: boolean;
  reasons: string[];
  /** When eligible: imageUpdates.mergeMethod of the base branch's config, for the App's merge call. */
  mergeMethod?: "merge" | "squash" | "rebase";
  merged?: boolean;
  note?: string;
}

export interface IgnoredFinding {
  finding: Finding;
  reason: string;
}

export interface Verdict {
  conclusion: Conclusion;
  title: string;
  /** Findings that count against the pull request. */
  findings: Finding[];
  /** Findings that already existed on the base and that the pull request does not touch. */
  preExisting: Finding[];
  /** Findings skipped through fleet-warden.io/ignore annotations. */
  ignored: IgnoredFinding[];
  ownership: OwnershipReport;
  builds: BuildReport[];
  renderedDiff: RenderedDiff[];
  diff: FileObjectDiff[];
  autoMerge?: AutoMergeReport;
  /** Problems that stopped part of the evaluation (bad config, limits hit): they fail the check. */
  problems: string[];
  /** Things worth knowing that do not fail the check (e.g. builds skipped because no kustomize is installed). */
  notes: string[];
  stats: {
    changedFiles: number;
    documents: number;
    builds: number;
    /** Times kustomize ran: a build both sides share runs once, a parent built to find its Kustomizations counts. */
    kustomizeRuns: number;
    durationMs: number;
  };
}

/** What a rule sees. Everything is already parsed; rules never do I/O. */
export interface RuleContext {
  config: Config;
  head: FleetModel;
  base: FleetModel;
  changedFiles: ChangedFile[];
  /** Parsed documents of the changed files on the head side (removed files have none). */
  changedDocuments: SourceDocument[];
  tenants: TenantInfo[];
  territory(path: string): Territory;
  /** Head-side rendered builds of the affected kustomizations (empty when nothing was built). */
  builds: Build[];
  ownership: OwnershipReport;
}

export interface RuleMeta {
  id: string;
  defaultSeverity: Severity;
  summary: string;
  rationale: string;
}

export interface Rule {
  meta: RuleMeta;
  /** Work `check` needs that builds do not change (the Flux graph of a side), done while kustomize runs. */
  prepare?(model: FleetModel): void;
  check(context: RuleContext): RuleFinding[];
}
