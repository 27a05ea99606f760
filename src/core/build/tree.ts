// The files a build may read: a snapshot as Flux's source-controller would package it (ignore rules
// applied), or the layout of a Flux 2.7 ArtifactGenerator artifact copied out of it. Builds only ever
// see these paths; each maps back to the repository file it came from, for findings.
import { posix } from "node:path";
import { Minimatch } from "minimatch";
import type { FleetModel } from "../fleet.js";
import { normalizeRepoPath } from "../flux.js";
import type { SpecialFile } from "../types.js";
import { isRecord, lowerBound } from "../values.js";
import { folderOf, foldersOf, join } from "./kustomization.js";

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
  /** Why source-controller produces no artifact from this tree, or no controller can extract it: every build on it fails. */
  fails?: string;
  /** An entry of the stored artifact that Flux's untar refuses (what `fails` says, when nothing failed before). */
  refusedEntry?: string;
  /** What shapes a GitRepository's tree besides files (spec.ignore, sparseCheckout, include): builds on it are affected when it changes. */
  key?: string;
  /** What writes the first ignore pattern (a `.sourceignore`, or `spec.ignore`), which turns Flux's default ignores off. */
  defaultsOffBy?: string;
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
/** go-git's repository folder, in source-controller's checkout beside the files. */
const GIT_FOLDER = ".git";

/** fluxcd/pkg/sourceignore ExcludeVCS: excluded from every artifact. */
const VCS_IGNORES = [".git/", ".gitignore", ".gitmodules", ".gitattributes"];
/** fluxcd/pkg/sourceignore ExcludeExt, ExcludeCI, ExcludeExtra: excluded only while no ignore pattern is written. */
const DEFAULT_IGNORES = [
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
  /** Tree path of `toPath` ("" is the root), were the checkout to hold no symbolic link. */
  path: string;
  /** `toPath` as written (`path` when absent): source-controller resolves it against the checkout's links. */
  toPath?: string;
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
    return [{ path: normalizeRepoPath(toPath), toPath, from: normalizeRepoPath(fromPath), source: `GitRepository ${namespace}/${repository.name}`, namespace, name: repository.name }];
  });
}

/**
 * Which paths go-git checks out for `spec.sparseCheckout`: source-controller trims a leading `./`, and go-git keeps
 * every path that merely starts with an entry (`apps` keeps `apps2/x.yaml` too). Undefined when it keeps everything.
 */
export function sparseCheckoutKeeps(entries: readonly string[] | undefined): ((path: string) => boolean) | undefined {
  if (!entries?.length) return undefined;
  const prefixes = entries.map((entry) => (entry.startsWith("./") ? entry.slice(2) : entry));
  return (path) => prefixes.some((prefix) => path.startsWith(prefix));
}

/**
 * The repository as a GitRepository artifact, in source-controller's order: the files a sparse checkout keeps and
 * the included artifacts copied in (through the checkout's symbolic links, `links`), less what the ignore rules
 * exclude: every `.sourceignore` (scoped to its folder) and `spec.ignore`, or Flux's default exclusions when neither
 * writes a pattern. An include without a tree (another repository's) leaves its folder unseen.
 */
export function gitRepositoryTree(model: FleetModel, options: GitRepositoryOptions = {}, links: readonly SpecialFile[] = []): SourceTree {
  const includes = options.includes ?? [];
  const sparseKeeps = sparseCheckoutKeeps(options.sparseCheckout);
  const checkedOut = sparseKeeps ? model.paths().filter(sparseKeeps) : model.paths();
  const checkedOutFolders = foldersOf(checkedOut);
  const checkedOutFiles = new Set(checkedOut);
  // go-git writes links as links (checked out like files); they are no tree path, but the include copies follow them.
  const checkedOutLinks = new Map(links.filter((link) => link.kind === "symlink" && (!sparseKeeps || sparseKeeps(link.path))).map((link) => [link.path, link.target ?? ""]));
  const holds = (path: string) => checkedOutFolders.has(path) || checkedOutFiles.has(path) || checkedOutLinks.has(path);
  const missing = options.sparseCheckout && missingSparseEntry(options.sparseCheckout, holds);
  // source-controller asks for every included artifact before it checks out, then checks the sparse entries, then copies.
  const noArtifact = includes.find((include) => include.tree?.fails && !include.tree.refusedEntry);
  const assembly = assembleIncludes(includes, checkedOutFiles, checkedOutFolders, checkedOutLinks);
  const { copied, madeFolders } = assembly;
  const all = copied.size > 0 ? [...new Set([...checkedOut, ...copied.keys()])].sort() : checkedOut;
  const repoPath = (path: string) => copied.get(path) ?? path;
  // A `.sourceignore` that is a symbolic link is read through it (ReadIgnoreFile's os.Open follows links): the file
  // it names in the checkout, when it names one.
  const linkedIgnoreFiles = new Map(
    [...checkedOutLinks]
      .filter(([link]) => posix.basename(link) === SOURCE_IGNORE)
      .map(([link, target]) => [link, target.startsWith("/") ? undefined : posix.normalize(posix.join(posix.dirname(link), target))] as const),
  );
  const ignoreFiles = sourceIgnoreFiles(linkedIgnoreFiles.size ? [...all, ...linkedIgnoreFiles.keys()] : all);
  const ignoreFileOf = (file: string) => (linkedIgnoreFiles.has(file) ? linkedIgnoreFiles.get(file) : repoPath(file));
  const written: IgnorePattern[] = [];
  let defaultsOffBy: string | undefined;
  for (const file of ignoreFiles) {
    const read = ignoreFileOf(file);
    const text = read === undefined || read.startsWith("../") ? undefined : model.readText(read);
    written.push(...ignoreLines(text ?? "").map((line) => parseIgnore(line, folderOf(file))));
    if (written.length > 0) defaultsOffBy ??= repoPath(file);
  }
  if (options.ignore) written.push(...ignoreLines(options.ignore).map((line) => parseIgnore(line, "")));
  if (written.length > 0) defaultsOffBy ??= "the GitRepository's spec.ignore";
  // fluxcd/pkg/artifact/storage SourceIgnoreFilter: the default exclusions apply only while no pattern is written.
  const patterns = written.length > 0 ? [...vcsPatterns, ...written] : defaultPatterns;
  const paths = all.filter((path) => !ignored(path, patterns));
  const ignoredFolder = (folder: string) => ignored(folder, patterns, true);
  const allFolders = () => [...foldersOf(all), ...madeFolders.keys()];
  const sourceFails = noArtifact
    ? `its spec.include of ${noArtifact.source} has no artifact: that GitRepository fails (${noArtifact.tree!.fails})`
    : missing !== undefined
      ? `its spec.sparseCheckout entry "${missing}" names nothing in the repository (source-controller: "sparse checkout dir '${missing}' does not exist")`
      : assembly.fails;
  // The archive writes a checked-out link as an entry of its own (and its folders), though no build reads it.
  const keptLinks = [...checkedOutLinks.keys()].filter((link) => !ignored(link, patterns));
  const archived = keptLinks.length ? [...paths, ...keptLinks] : paths;
  const archivedFolders = keptLinks.length ? () => [...allFolders(), ...foldersOf(keptLinks)] : allFolders;
  const refused = sourceFails === undefined ? firstRefusedEntry(archived, archivedFolders, ignoredFolder) : undefined;
  const fails = sourceFails ?? (refused && `Flux's untar refuses ${refused.name} in its artifact (${refused.reason}; rename it, or exclude it in .sourceignore)`);
  let emptyFolders: readonly string[] | undefined;
  return {
    paths,
    repoPath,
    definitionPaths: [...new Set([...ignoreFiles.map(repoPath), ...[...linkedIgnoreFiles.values()].filter((target) => target !== undefined), ...assembly.definitions])],
    emptyFolders: () => (emptyFolders ??= foldersWithoutFiles(paths, allFolders(), ignoredFolder)),
    ...(assembly.unseen.length ? { included: assembly.unseen } : {}),
    ...(assembly.copiedFolders.length ? { copied: assembly.copiedFolders } : {}),
    ...(fails !== undefined ? { fails } : {}),
    ...(refused ? { refusedEntry: refused.name } : {}),
    ...(defaultsOffBy !== undefined ? { defaultsOffBy } : {}),
  };
}

/**
 * The `.sourceignore` files in the order fluxcd/pkg/sourceignore LoadIgnorePatterns reads them: a folder's own file,
 * then its sub-folders' in name order (os.ReadDir, byte order), never inside a `.git` folder. A later pattern wins.
 */
function sourceIgnoreFiles(paths: readonly string[]): string[] {
  const files = paths.filter((path) => posix.basename(path) === SOURCE_IGNORE).map((path) => ({ path, folders: path.split("/").slice(0, -1) }));
  return files
    .filter(({ folders }) => !folders.includes(GIT_FOLDER))
    .sort((a, b) => {
      for (let index = 0; index < Math.min(a.folders.length, b.folders.length); index++) {
        const order = Buffer.compare(Buffer.from(a.folders[index]!), Buffer.from(b.folders[index]!));
        if (order !== 0) return order;
      }
      return a.folders.length - b.folders.length;
    })
    .map(({ path }) => path);
}

/**
 * The first entry of the archive (a kept file, or a folder the archive writes) whose name fluxcd/pkg/tar's Untar
 * refuses (validRelPath: a `\` or a `../`, which a folder named `x..` makes): kustomize-controller, source-watcher
 * and source-controller's include copy all extract artifacts with it, so none can use this one.
 */
function firstRefusedEntry(paths: readonly string[], folders: () => Iterable<string>, ignoredFolder: (folder: string) => boolean): { name: string; reason: string } | undefined {
  const refusal = (name: string) => (name.includes("\\") ? "a name containing a backslash" : name.includes("../") ? `a name containing "../": a folder name ends in ".."` : undefined);
  const file = paths.find((path) => refusal(path));
  // A kept file below a refused folder is refused too; without one, the archive may still write the folder itself.
  const folder = file === undefined ? [...folders()].filter((candidate) => refusal(candidate) && !ignoredFolder(candidate)).sort()[0] : undefined;
  const name = file ?? folder;
  return name === undefined ? undefined : { name, reason: refusal(name)! };
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
 * whatever it holds fails. `toPath` is securejoined to the checkout, so it follows the checkout's links (`links`:
 * path -> target), and the checkout holds go-git's `.git` folder too.
 */
function assembleIncludes(includes: readonly Include[], checkedOutFiles: ReadonlySet<string>, checkedOutFolders: ReadonlySet<string>, links: ReadonlyMap<string, string>): Assembly {
  const assembly: Assembly = { copied: new Map(), madeFolders: new Map(), unseen: [], copiedFolders: [], definitions: [] };
  const { copied, madeFolders } = assembly;
  const copiedBy = new Map<string, string>();
  // Where another repository's include landed, and whether that is known to be a folder (all of its artifact); the
  // first include to land on a path is the one asked about.
  const regions = new Map<string, { source: string; folder: boolean; order: number }>();
  const regionOf = (path: string) => {
    const exact = regions.get(path);
    if (exact) return { ...exact, path };
    let found: { source: string; folder: boolean; order: number; path: string } | undefined;
    for (const folder of ["", ...ancestorsOf(path)]) {
      const region = regions.get(folder);
      if (region && (!found || region.order < found.order)) found = { ...region, path: folder };
    }
    return found;
  };
  const addRegion = (path: string, source: string, folder: boolean) => {
    if (!regions.has(path)) regions.set(path, { source, folder, order: regions.size });
  };
  // `withRegions: false` for the folders above a toPath: a region is never a file, and walking them per folder would
  // cost the cube of the path's depth.
  const occupant = (path: string, withRegions = true): Occupant | undefined => {
    const by = copiedBy.get(path) ?? madeFolders.get(path);
    if (by) return { kind: copied.has(path) ? "file" : "folder", by };
    if (path === "" || path === GIT_FOLDER || checkedOutFolders.has(path)) return { kind: "folder" };
    if (checkedOutFiles.has(path)) return { kind: "file" };
    const region = withRegions && regions.size > 0 ? regionOf(path) : undefined;
    if (!region) return undefined;
    return { kind: region.path !== path ? "maybe" : region.folder ? "folder" : "unknown", by: region.source };
  };
  const heldBy = (by: string | undefined) => (by ? `its spec.include of ${by} already put there` : "the checkout already holds");
  for (const include of includes) {
    const { from, source, tree } = include;
    const toPath = include.toPath ?? include.path;
    const joined = secureJoin(toPath, links);
    if (!joined) {
      assembly.fails ??= `its spec.include of ${source} copies to ${toPath}, which goes through more than ${MAX_LINKS} symbolic links or resolves to a path longer than ${MAX_PATH_BYTES} bytes, and source-controller cannot resolve it`;
      continue;
    }
    const to = joined.path;
    // Where the copy lands, as the messages name it: through a link, that is not where toPath says.
    const destination = joined.through.length ? `${to || "."} (its toPath ${toPath} goes through the symbolic link ${joined.through.join(", ")})` : to || ".";
    assembly.definitions.push(...joined.through);
    // A fromPath in what the included artifact itself cannot see is as unknown as another repository's include.
    const seen = tree?.included?.some((folder) => isInFolder(from, folder.path)) ? undefined : tree;
    const fromFile = seen && seen.paths[lowerBound(seen.paths, from)] === from ? from : undefined;
    const under = seen && from !== "" ? pathsUnder(seen, from) : (seen?.paths ?? []);
    const fromFolder = seen ? !fromFile : from === "" || undefined;
    const parents = to === "" ? [] : ancestorsOf(to);
    const fileAbove = parents.map((folder) => ({ folder, held: occupant(folder, false) })).find(({ held }) => held?.kind === "file");
    const target = occupant(to);
    let problem: string | undefined;
    // source-controller extracts the included artifact first, with Flux's untar.
    if (tree?.refusedEntry) problem = `its spec.include of ${source} cannot be copied: ${tree.fails}`;
    else if (fileAbove) problem = `its spec.include of ${source} copies to ${destination}, below ${fileAbove.folder}, which ${heldBy(fileAbove.held!.by)} as a file, and source-controller cannot make a folder there`;
    else if (seen && !fromFile && from !== "" && under.length === 0 && !seen.emptyFolders?.().some((folder) => isInFolder(folder, from))) problem = `its spec.include of ${source} copies fromPath ${from}, which that artifact does not hold`;
    else if (target?.kind === "folder" || (fromFolder && (target?.kind === "file" || target?.kind === "unknown"))) {
      problem = `its spec.include of ${source} copies ${target.kind === "folder" ? "" : "a folder "}to ${destination}, which ${heldBy(target.by)}, and source-controller cannot copy onto it`;
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
    for (const folder of parents) if (occupant(folder, false)?.kind !== "folder") madeFolders.set(folder, source);
    for (const folder of nested) addRegion(folder.path, folder.source, false);
    if (!seen) addRegion(to, source, from === "");
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
        made(folderOf(file));
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

/** securejoin's limit (maxSymlinkLimit): a path through more links fails with ELOOP. */
const MAX_LINKS = 255;
/** Linux's PATH_MAX: securejoin's Lstat of a longer path fails with ENAMETOOLONG. */
const MAX_PATH_BYTES = 4096;

/**
 * Where cyphar/filepath-securejoin SecureJoin, which source-controller applies to an include's `toPath`, puts `path`
 * in the checkout: component by component, `..` stopping at the root and each symbolic link (`links`: path -> target)
 * replaced by its target, read from the link's folder or, absolute, from the root. So a copy lands where the link
 * points, inside the checkout. Undefined past MAX_LINKS links or MAX_PATH_BYTES; `through` names the links followed.
 */
function secureJoin(path: string, links: ReadonlyMap<string, string>): { path: string; through: string[] } | undefined {
  const through: string[] = [];
  let current = "";
  let remaining = path;
  while (remaining !== "") {
    if (Buffer.byteLength(current) + Buffer.byteLength(remaining) > MAX_PATH_BYTES) return undefined;
    const slash = remaining.indexOf("/");
    const part = slash === -1 ? remaining : remaining.slice(0, slash);
    remaining = slash === -1 ? "" : remaining.slice(slash + 1);
    const next = normalizeRepoPath(`${current}/${part}`);
    const target = next === "" ? undefined : links.get(next);
    if (target === undefined) {
      current = next;
      continue;
    }
    if (through.length === MAX_LINKS) return undefined;
    through.push(next);
    remaining = `${target}/${remaining}`;
    if (target.startsWith("/")) current = "";
  }
  return { path: current, through: [...new Set(through)] };
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

const vcsPatterns = VCS_IGNORES.map((line) => parseIgnore(line, ""));
/** fluxcd/pkg/sourceignore NewDefaultMatcher without patterns: what an archive that no ignore pattern shapes leaves out. */
const defaultPatterns = [...VCS_IGNORES, ...DEFAULT_IGNORES].map((line) => parseIgnore(line, ""));

/** Excluded by Flux's default ignore rules alone (what an artifact archive leaves out when no pattern is written). */
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

/** Go's unicode.IsSpace, which strings.TrimSpace trims: NEL (U+0085) is one, the byte-order mark (U+FEFF) is not. */
const GO_BLANK = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$/;
/** bufio.Scanner's default limit: a line this long stops the scan. */
const MAX_SCANNED_LINE = 64 * 1024;

/**
 * The patterns of an ignore text as fluxcd/pkg/sourceignore ReadPatterns reads them: bufio.Scanner's lines (a
 * trailing `\r` dropped, the last line's too; a line of 64 KiB or more ends the scan, whose error is not checked),
 * without `#` comments and lines that Go's TrimSpace leaves empty.
 */
function ignoreLines(text: string): string[] {
  const lines: string[] = [];
  for (const scanned of text.split("\n")) {
    if (Buffer.byteLength(scanned) >= MAX_SCANNED_LINE) break;
    const line = scanned.endsWith("\r") ? scanned.slice(0, -1) : scanned;
    if (!line.startsWith("#") && !GO_BLANK.test(line)) lines.push(line);
  }
  return lines;
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

/**
 * The repository folder behind a tree folder (an artifact may move folders), found through a file in it: one the
 * includes did not copy when there is one, since a copied file comes from another folder.
 */
export function repoFolder(tree: SourceTree, folder: string): string {
  const prefix = folder === "" ? "" : `${folder}/`;
  const files = pathsUnder(tree, folder);
  const copiedIn = (path: string) => tree.copied?.some((copy) => isInFolder(path, copy.path)) ?? false;
  const file = copiedIn(folder) ? files[0] : (files.find((path) => !copiedIn(path)) ?? files[0]);
  if (!file) return folder;
  const relative = file.slice(prefix.length);
  const repoFile = tree.repoPath(file);
  return repoFile.endsWith(relative) ? repoFile.slice(0, repoFile.length - relative.length).replace(/\/$/, "") : folder;
}
