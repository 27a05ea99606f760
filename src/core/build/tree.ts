// The files a build may read: a snapshot as Flux's source-controller would package it (ignore rules
// applied), or the layout of a Flux 2.7 ArtifactGenerator artifact copied out of it. Builds only ever
// see these paths; each maps back to the repository file it came from, for findings.
import { posix } from "node:path";
import { Minimatch } from "minimatch";
import type { FleetModel } from "../fleet.js";
import { normalizeRepoPath } from "../flux.js";
import { isRecord, lowerBound } from "../values.js";
import { foldersOf, join } from "./kustomization.js";

export interface SourceTree {
  /** Sorted tree paths of regular files. */
  paths: readonly string[];
  /** The repository file behind a tree path. */
  repoPath(path: string): string;
  /** Repository files that shape the tree itself (ignore files, generator definitions): changing them affects every build on it. */
  definitionPaths: readonly string[];
  /** Folders whose files another GitRepository provides (`spec.include`): not in this repository, so never seen. */
  included?: readonly IncludedFolder[];
  /** Folders copied in from an included GitRepository of this repository (`spec.include`), seen through repoPath. */
  copied?: readonly IncludedFolder[];
  /**
   * Folders the artifact holds with no file below them: source-controller archives every folder it does not ignore,
   * so a folder whose every file is ignored is still there, empty. Computed when asked (an include copies from it).
   */
  emptyFolders?: () => readonly string[];
  /** Why source-controller produces no artifact from this tree: every build on it fails. */
  fails?: string;
  /** What shapes a GitRepository's tree besides files (spec.ignore, sparseCheckout, include): builds on it are affected when it changes. */
  key?: string;
}

export interface IncludedFolder {
  /** Tree path of the folder ("" is the whole tree). */
  path: string;
  /** The GitRepository it comes from, for messages: "GitRepository flux-system/shared". */
  source: string;
}

/** The included folder that holds `path` (a tree file or folder), if any. */
export function includedFolderOf(tree: Pick<SourceTree, "included">, path: string): IncludedFolder | undefined {
  return tree.included?.find((folder) => isInFolder(path, folder.path));
}

/** Whether `path` is `folder` or lies under it ("" is the root). */
export function isInFolder(path: string, folder: string): boolean {
  return folder === "" || path === folder || path.startsWith(`${folder}/`);
}

const SOURCE_IGNORE = ".sourceignore";

/** fluxcd/pkg/sourceignore defaults: VCS files, binary extensions, CI configuration and a few tool files. */
const DEFAULT_IGNORES = [
  ".git/", ".gitignore", ".gitmodules", ".gitattributes",
  "*.jpg", "*.jpeg", "*.gif", "*.png", "*.wmv", "*.flv", "*.tar.gz", "*.zip",
  ".github/", ".circleci/", ".travis.yml", ".gitlab-ci.yml", "appveyor.yml", ".drone.yml", "cloudbuild.yaml", "codeship-services.yml", "codeship-steps.yml",
  "**/.goreleaser.yml", "**/.sops.yaml", "**/.flux.yaml",
];

interface IgnorePattern {
  domain: string;
  negate: boolean;
  dirOnly: boolean;
  /** Does the pattern match the path made of the first `depth` segments? */
  matches(segments: readonly string[], depth: number): boolean;
}

export interface GitRepositoryOptions {
  /** `spec.ignore`. */
  ignore?: string;
  /** `spec.sparseCheckout`. */
  sparseCheckout?: readonly string[];
  includes?: readonly Include[];
}

/** A `spec.include` entry: another GitRepository's artifact (or its `fromPath`) copied to `path`. */
export interface Include {
  /** Tree path of `toPath` ("" is the root). */
  path: string;
  /** Path of `fromPath` in the included artifact ("" is all of it). */
  from: string;
  /** "GitRepository flux-system/shared", for messages. */
  source: string;
  /** The GitRepository's namespace and name. */
  namespace: string;
  name: string;
  /** The included artifact, when it is this repository at the same revision; unseen otherwise. */
  tree?: SourceTree;
}

/** What shapes a GitRepository's artifact of this repository, from its spec (in `namespace`); includes not yet resolved. */
export function gitRepositoryOptions(spec: Record<string, unknown>, namespace: string): GitRepositoryOptions {
  return {
    ...(typeof spec.ignore === "string" ? { ignore: spec.ignore } : {}),
    ...(Array.isArray(spec.sparseCheckout) ? { sparseCheckout: spec.sparseCheckout.filter((entry): entry is string => typeof entry === "string") } : {}),
    includes: includesOf(spec.include, namespace),
  };
}

/** `spec.include`: `toPath` defaults to the included GitRepository's name; both paths are securejoined (`..` stops at the root). */
function includesOf(include: unknown, namespace: string): Include[] {
  return (Array.isArray(include) ? include : []).flatMap((entry) => {
    const repository = isRecord(entry) && isRecord(entry.repository) ? entry.repository : undefined;
    if (typeof repository?.name !== "string") return [];
    const toPath = typeof entry.toPath === "string" && entry.toPath !== "" ? entry.toPath : repository.name;
    const fromPath = typeof entry.fromPath === "string" ? entry.fromPath : "";
    return [{ path: normalizeRepoPath(toPath), from: normalizeRepoPath(fromPath), source: `GitRepository ${namespace}/${repository.name}`, namespace, name: repository.name }];
  });
}

/**
 * The path prefixes go-git checks out for `spec.sparseCheckout`: source-controller trims a leading `./`, and go-git
 * keeps every file whose path merely starts with one (`apps` keeps `apps2/x.yaml` too). An empty list keeps everything.
 */
export function sparsePrefixes(entries: readonly string[] | undefined): string[] | undefined {
  return entries?.length ? entries.map((entry) => (entry.startsWith("./") ? entry.slice(2) : entry)) : undefined;
}

/**
 * The repository as a GitRepository artifact, in source-controller's order: the files a sparse checkout keeps and
 * the included artifacts copied in, less what default ignores, every `.sourceignore` (scoped to its folder) and
 * `spec.ignore` exclude. An include without a tree (another repository's) leaves its folder unseen.
 */
export function gitRepositoryTree(model: FleetModel, options: GitRepositoryOptions = {}): SourceTree {
  const includes = options.includes ?? [];
  const sparse = sparsePrefixes(options.sparseCheckout);
  const checkedOut = sparse ? model.paths().filter((path) => sparse.some((prefix) => path.startsWith(prefix))) : model.paths();
  const checkedOutFolders = foldersOf(checkedOut);
  const checkedOutFiles = new Set(checkedOut);
  const holds = (path: string) => checkedOutFolders.has(path) || checkedOutFiles.has(path);
  const missing = options.sparseCheckout && missingSparseEntry(options.sparseCheckout, holds);
  // source-controller asks for every included artifact before it checks out, then checks the sparse entries, then copies.
  const noArtifact = includes.find((include) => include.tree?.fails);
  const assembly = assembleIncludes(includes, checkedOutFiles, checkedOutFolders);
  const fails = noArtifact
    ? `its spec.include of ${noArtifact.source} has no artifact: that GitRepository fails (${noArtifact.tree!.fails})`
    : missing !== undefined
      ? `its spec.sparseCheckout entry "${missing}" names nothing in the repository (source-controller: "sparse checkout dir '${missing}' does not exist")`
      : assembly.fails;
  const { copied, madeFolders } = assembly;
  const all = copied.size > 0 ? [...new Set([...checkedOut, ...copied.keys()])].sort() : checkedOut;
  const repoPath = (path: string) => copied.get(path) ?? path;
  const ignoreFiles = all.filter((path) => posix.basename(path) === SOURCE_IGNORE);
  const patterns = [...defaultPatterns];
  for (const file of ignoreFiles) patterns.push(...ignoreLines(model.readText(repoPath(file)) ?? "").map((line) => parseIgnore(line, posix.dirname(file) === "." ? "" : posix.dirname(file))));
  if (options.ignore) patterns.push(...ignoreLines(options.ignore).map((line) => parseIgnore(line, "")));
  const paths = all.filter((path) => !ignored(path, patterns));
  let emptyFolders: readonly string[] | undefined;
  return {
    paths,
    repoPath,
    definitionPaths: [...new Set([...ignoreFiles.map(repoPath), ...assembly.definitions])],
    emptyFolders: () => (emptyFolders ??= foldersWithoutFiles(paths, [...foldersOf(all), ...madeFolders.keys()], (folder) => ignored(folder, patterns, true))),
    ...(assembly.unseen.length ? { included: assembly.unseen } : {}),
    ...(assembly.copiedFolders.length ? { copied: assembly.copiedFolders } : {}),
    ...(fails !== undefined ? { fails } : {}),
  };
}

/**
 * The folders of the working tree that the archive keeps although no file below them is kept: the archive walk
 * writes every folder its ignore rules do not exclude (fluxcd/pkg/artifact/storage Archive), and extracting it
 * makes their parents too.
 */
function foldersWithoutFiles(paths: readonly string[], folders: Iterable<string>, ignoredFolder: (folder: string) => boolean): string[] {
  const withFiles = foldersOf(paths);
  const empty = new Set<string>();
  for (const folder of folders) {
    if (withFiles.has(folder) || empty.has(folder) || ignoredFolder(folder)) continue;
    for (let kept = folder; kept !== "." && !withFiles.has(kept) && !empty.has(kept); kept = posix.dirname(kept)) empty.add(kept);
  }
  return [...empty].sort();
}

/** The working tree with the includes copied in, and the first copy that source-controller fails. */
interface Assembly {
  /** Included files: tree path -> the repository file behind it. */
  copied: Map<string, string>;
  /** Folders the includes made (tree path -> the include's source), empty ones too. */
  madeFolders: Map<string, string>;
  unseen: IncludedFolder[];
  copiedFolders: IncludedFolder[];
  definitions: string[];
  fails?: string;
}

/** What a path of the working tree is, and which include put it there (none: the checkout). */
interface Occupant {
  /** "unknown": another repository's include put a file or a folder there; "maybe": below one, it may not exist. */
  kind: "file" | "folder" | "unknown" | "maybe";
  by?: string;
}

/**
 * The includes copied in turn, as source-controller's CopyToPath does: it makes the parent folders of `toPath`
 * (os.MkdirAll: fails below a file), checks `fromPath` exists in the extracted artifact (an empty folder does), then
 * moves it there with os.Rename, which refuses any existing folder (EEXIST, even an empty one) and a folder onto a
 * file (ENOTDIR), and replaces a file with a file. So a later include fails onto a folder an earlier one made, and a
 * later file wins over an earlier one. What another repository's include holds is unknown: only what fails
 * whatever it holds fails.
 */
function assembleIncludes(includes: readonly Include[], checkedOutFiles: ReadonlySet<string>, checkedOutFolders: ReadonlySet<string>): Assembly {
  const assembly: Assembly = { copied: new Map(), madeFolders: new Map(), unseen: [], copiedFolders: [], definitions: [] };
  const { copied, madeFolders } = assembly;
  const copiedBy = new Map<string, string>();
  // Where another repository's include landed, and whether that is known to be a folder (all of its artifact).
  const regions: { path: string; source: string; folder: boolean }[] = [];
  const occupant = (path: string): Occupant | undefined => {
    const by = copiedBy.get(path) ?? madeFolders.get(path);
    if (by) return { kind: copied.has(path) ? "file" : "folder", by };
    if (path === "" || checkedOutFolders.has(path)) return { kind: "folder" };
    if (checkedOutFiles.has(path)) return { kind: "file" };
    const region = regions.find((candidate) => candidate.path === path) ?? regions.find((candidate) => isInFolder(path, candidate.path));
    if (!region) return undefined;
    return { kind: region.path !== path ? "maybe" : region.folder ? "folder" : "unknown", by: region.source };
  };
  const heldBy = (by: string | undefined) => (by ? `its spec.include of ${by} already put there` : "the checkout already holds");
  for (const include of includes) {
    const { path: to, from, source, tree } = include;
    // A fromPath in what the included artifact itself cannot see is as unknown as another repository's include.
    const seen = tree?.included?.some((folder) => isInFolder(from, folder.path)) ? undefined : tree;
    const fromFile = seen && seen.paths[lowerBound(seen.paths, from)] === from ? from : undefined;
    const under = seen && from !== "" ? pathsUnder(seen, from) : (seen?.paths ?? []);
    const fromFolder = seen ? !fromFile : from === "" || undefined;
    const parents = to === "" ? [] : ancestorsOf(to);
    const fileAbove = parents.map((folder) => ({ folder, held: occupant(folder) })).find(({ held }) => held?.kind === "file");
    const target = occupant(to);
    let problem: string | undefined;
    if (fileAbove) problem = `its spec.include of ${source} copies to ${to}, below ${fileAbove.folder}, which ${heldBy(fileAbove.held!.by)} as a file, and source-controller cannot make a folder there`;
    else if (seen && !fromFile && from !== "" && under.length === 0 && !seen.emptyFolders?.().some((folder) => isInFolder(folder, from))) problem = `its spec.include of ${source} copies fromPath ${from}, which that artifact does not hold`;
    else if (target?.kind === "folder" || (fromFolder && (target?.kind === "file" || target?.kind === "unknown"))) {
      problem = `its spec.include of ${source} copies ${target.kind === "folder" ? "" : "a folder "}to ${to || "."}, which ${heldBy(target.by)}, and source-controller cannot copy onto it`;
    }
    assembly.fails ??= problem;
    if (tree) assembly.copiedFolders.push({ path: to, source });
    else assembly.unseen.push({ path: to, source });
    // What the included artifact itself could not see stays unseen where it lands.
    const nested = (tree?.included ?? []).flatMap((folder) => {
      if (isInFolder(from, folder.path)) return [{ path: to, source: folder.source }];
      return isInFolder(folder.path, from) ? [{ path: join(to, from === "" ? folder.path : folder.path.slice(from.length + 1)), source: folder.source }] : [];
    });
    assembly.unseen.push(...nested);
    if (tree) assembly.definitions.push(...tree.definitionPaths);
    if (problem) continue;
    for (const folder of parents) if (occupant(folder)?.kind !== "folder") madeFolders.set(folder, source);
    regions.push(...nested.map((folder) => ({ ...folder, folder: false })));
    if (!seen) regions.push({ path: to, source, folder: from === "" });
    else if (fromFile) {
      copied.set(to, seen.repoPath(fromFile));
      copiedBy.set(to, source);
    } else {
      const landing = (path: string) => join(to, from === "" ? path : path.slice(from.length + 1));
      const made = (path: string) => {
        for (const folder of [...ancestorsOf(path), path]) if (isInFolder(folder, to)) madeFolders.set(folder, source);
      };
      made(to);
      for (const folder of seen.emptyFolders?.() ?? []) if (from === "" || folder.startsWith(`${from}/`)) made(landing(folder));
      for (const path of under) {
        const file = landing(path);
        copied.set(file, seen.repoPath(path));
        copiedBy.set(file, source);
        made(posix.dirname(file));
      }
    }
  }
  return assembly;
}

/** The folders above a tree path, the root excepted, outermost first. */
function ancestorsOf(path: string): string[] {
  const segments = path.split("/");
  return segments.slice(1).map((_, index) => segments.slice(0, index + 1).join("/"));
}

/** The entry naming no file or folder of the checkout: source-controller checks each one exists after checking out. */
function missingSparseEntry(entries: readonly string[], holds: (path: string) => boolean): string | undefined {
  return entries.find((entry) => {
    // filepath.Join(dir, entry), cleaned: `..` alone is the checkout's parent folder, which exists; below it, nothing known does.
    const path = posix.normalize(`./${entry}`).replace(/\/+$/, "");
    if (path === "." || /^\.\.(\/\.\.)*$/.test(path)) return false;
    return path.startsWith("../") || !holds(path);
  });
}

const defaultPatterns = DEFAULT_IGNORES.map((line) => parseIgnore(line, ""));

/** Excluded by Flux's default ignore rules alone (what an artifact archive leaves out). */
export function defaultIgnored(path: string): boolean {
  return ignored(path, defaultPatterns);
}

/** Shared leading path segments: the definition nearest to a Flux object (same cluster folder) wins. */
export function sharedSegments(a: string, b: string): number {
  const left = a.split("/");
  const right = b.split("/");
  let n = 0;
  while (n < left.length && n < right.length && left[n] === right[n]) n++;
  return n;
}

/** A plain tree: every file of the snapshot, as kustomize on a checkout sees it. */
export function plainTree(model: FleetModel): SourceTree {
  return { paths: model.paths(), repoPath: (path) => path, definitionPaths: [] };
}

function ignoreLines(text: string): string[] {
  return text.split(/\r?\n/).filter((line) => !line.startsWith("#") && line.trim() !== "");
}

/**
 * go-git's gitignore pattern semantics (ParsePattern): `!` negates, only trailing spaces are trimmed (a leading one is
 * part of the name), a leading or inner `/` anchors to the domain, a trailing `/` matches folders only.
 */
function parseIgnore(line: string, domain: string): IgnorePattern {
  let pattern = line;
  const negate = pattern.startsWith("!");
  if (negate) pattern = pattern.slice(1);
  if (!pattern.endsWith("\\ ")) pattern = pattern.replace(/ +$/, "");
  const dirOnly = pattern.endsWith("/");
  pattern = pattern.replace(/\/+$/, "");
  const anchored = pattern.includes("/");
  pattern = pattern.replace(/^\/+/, "");
  // Compiled once: the same patterns are matched against every path of the tree. The negation is read above, and
  // comments by ignoreLines: a leading ! or # left here is part of a name (go-git), not minimatch syntax. Segments
  // match as Go's filepath.Match does: no {a,b} braces, no extglobs, and only `^` negates a [class] (`!` is a character).
  const matcher = new Minimatch(pattern.replace(/\[!/g, "[\\!"), { dot: true, nonegate: true, nocomment: true, nobrace: true, noext: true });
  if (anchored) return { domain, negate, dirOnly, matches: (segments, depth) => matcher.match(segments.slice(0, depth).join("/")) };
  // Without a slash a pattern matches any one segment, at any depth: a fleet repeats its folder and file names
  // thousands of times, so each segment is matched once.
  const decided = new Map<string, boolean>();
  return {
    domain,
    negate,
    dirOnly,
    matches: (segments, depth) => {
      const segment = segments[depth - 1]!;
      let match = decided.get(segment);
      if (match === undefined) decided.set(segment, (match = matcher.match(segment)));
      return match;
    },
  };
}

/** The last pattern matching the path or one of its parent folders decides; a folder-only pattern matches a `folder` itself too. */
function ignored(path: string, patterns: IgnorePattern[], folder = false): boolean {
  const segments = path.split("/");
  let result = false;
  for (const pattern of patterns) {
    const prefix = pattern.domain === "" ? "" : `${pattern.domain}/`;
    if (!path.startsWith(prefix)) continue;
    const relativeSegments = segments.slice(prefix === "" ? 0 : pattern.domain.split("/").length);
    for (let depth = 1; depth <= relativeSegments.length; depth++) {
      const isFolder = folder || depth < relativeSegments.length;
      if (pattern.dirOnly && !isFolder) continue;
      if (pattern.matches(relativeSegments, depth)) {
        result = !pattern.negate;
        break;
      }
    }
  }
  return result;
}

/** The tree's paths under `folder` ("" is the root): one contiguous run of the sorted paths, found by binary search. */
export function pathsUnder(tree: SourceTree, folder: string): readonly string[] {
  if (folder === "") return tree.paths;
  const prefix = `${folder}/`;
  const { paths } = tree;
  const low = lowerBound(paths, prefix);
  let end = low;
  while (end < paths.length && paths[end]!.startsWith(prefix)) end++;
  return paths.slice(low, end);
}

/** The repository folder behind a tree folder (an artifact may move folders), found through a file in it. */
export function repoFolder(tree: SourceTree, folder: string): string {
  const prefix = folder === "" ? "" : `${folder}/`;
  const file = pathsUnder(tree, folder)[0];
  if (!file) return folder;
  const relative = file.slice(prefix.length);
  const repoFile = tree.repoPath(file);
  return repoFile.endsWith(relative) ? repoFile.slice(0, repoFile.length - relative.length).replace(/\/$/, "") : folder;
}
