// Flux 2.7 ExternalArtifacts made by an ArtifactGenerator (source.extensions.fluxcd.io) from this repository:
// the artifact's layout is rebuilt from the generator's copy operations, with source-watcher's cp-like
// semantics (fluxcd/source-watcher internal/builder), so that a Kustomization reading it builds what Flux builds.
import { posix } from "node:path";
import { minimatch } from "minimatch";
import type { FleetModel, SourceDocument } from "../fleet.js";
import { FLUX_SYSTEM, specOf } from "../flux.js";
import { defaultIgnored, sharedSegments, type SourceTree } from "./tree.js";

export interface ArtifactResolution {
  tree?: SourceTree;
  /** Why the artifact cannot be rebuilt (the Kustomization is then not built as Flux would). */
  problem?: string;
  /** The problem makes Flux itself fail to produce the artifact (not merely something fleet-warden does not emulate). */
  fails?: boolean;
}

const GLOB = /[*?[\]]/;

/**
 * The ExternalArtifact `name` in `namespace`: the ArtifactGenerator that declares it nearest to `near`
 * (the same cluster folder), rebuilt from `source` (this repository as a GitRepository artifact).
 */
export function externalArtifactTree(
  name: string,
  namespace: string,
  near: string,
  model: FleetModel,
  /** The source's tree when it is this repository at the commit under review. */
  gitTree: (sourceName: string, sourceNamespace: string) => SourceTree | undefined,
): ArtifactResolution {
  const generators = model
    .objects()
    .filter((doc) => doc.ref?.kind === "ArtifactGenerator" && doc.ref.apiVersion.startsWith("source.extensions.fluxcd.io/"))
    .filter((doc) => (doc.ref?.namespace ?? namespace) === namespace)
    .flatMap((doc) => artifactsOf(doc).filter((artifact) => artifact.name === name).map((artifact) => ({ doc, artifact })))
    .sort((a, b) => sharedSegments(b.doc.path, near) - sharedSegments(a.doc.path, near));
  const found = generators[0];
  if (!found) return { problem: `no ArtifactGenerator in the repository declares the ExternalArtifact ${namespace}/${name}` };
  const { doc, artifact } = found;
  const sources = new Map<string, SourceTree>();
  for (const source of (Array.isArray(specOf(doc).sources) ? specOf(doc).sources : []) as Array<Record<string, unknown>>) {
    const sourceNamespace = typeof source.namespace === "string" ? source.namespace : (doc.ref?.namespace ?? FLUX_SYSTEM);
    const tree = source.kind === "GitRepository" && typeof source.name === "string" ? gitTree(source.name, sourceNamespace) : undefined;
    if (tree) sources.set(String(source.alias), tree);
  }
  const staged = new Map<string, string>();
  const copies = Array.isArray(artifact.copy) ? (artifact.copy as Array<Record<string, unknown>>) : [];
  for (const copy of copies) {
    const failed = applyCopy(copy, sources, staged);
    if (failed) return { problem: `ArtifactGenerator ${doc.ref?.namespace ?? namespace}/${doc.ref?.name}, artifact ${name}: ${failed.problem}`, fails: failed.fails };
  }
  const paths = [...staged.keys()].filter((path) => !defaultIgnored(path)).sort();
  return {
    tree: {
      paths,
      repoPath: (path) => staged.get(path) ?? path,
      definitionPaths: [doc.path, ...[...sources.values()].flatMap((tree) => tree.definitionPaths)],
      // Its copy operations and its sources' specs shape it: a Kustomization on it is rebuilt when one changes.
      key: `external-artifact:${JSON.stringify([artifact, [...sources.values()].map((tree) => tree.key ?? "")])}`,
    },
  };
}

function artifactsOf(doc: SourceDocument): Array<Record<string, unknown>> {
  const artifacts = specOf(doc).artifacts;
  return Array.isArray(artifacts) ? (artifacts as Array<Record<string, unknown>>) : [];
}

/** One copy operation (Overwrite strategy) into `staged` (artifact path -> repository path). */
interface CopyProblem {
  problem: string;
  fails: boolean;
}
/** source-watcher fails the generator on this copy. */
const failure = (problem: string): CopyProblem => ({ problem, fails: true });
/** Flux may well succeed, but fleet-warden cannot tell what it copies. */
const notEmulated = (problem: string): CopyProblem => ({ problem, fails: false });

function applyCopy(copy: Record<string, unknown>, sources: Map<string, SourceTree>, staged: Map<string, string>): CopyProblem | undefined {
  const from = String(copy.from ?? "");
  const to = String(copy.to ?? "");
  if (copy.strategy !== undefined && copy.strategy !== "Overwrite") return notEmulated(`the ${String(copy.strategy)} copy strategy is not emulated`);
  const source = /^@([^/]+)\/(.*)$/.exec(from);
  if (!source) return failure(`copy source "${from}" must be "@alias/pattern"`);
  const tree = sources.get(source[1]!);
  if (!tree) return notEmulated(`copy source "${from}" is not this repository at the commit under review (only GitRepository sources of this repository on its branch are emulated)`);
  if (tree.fails) return failure(`the GitRepository of copy source "${from}" fails: ${tree.fails}`);
  const literal = source[2]!.replace(/[*?[{].*$/, "");
  const included = tree.included?.find((folder) => folder.path === "" || literal.startsWith(folder.path) || folder.path.startsWith(literal));
  if (included) return notEmulated(`copy source "${from}" may read ${included.path}, which ${included.source} provides (spec.include), and fleet-warden sees only the files of the commit under review`);
  if (!to.startsWith("@artifact/")) return failure(`copy destination "${to}" must start with "@artifact/"`);
  // Inside the artifact: a leading slash (`@artifact//w/`) names its root, as source-watcher joins it.
  const destination = posix.normalize(to.slice("@artifact/".length).replace(/^\/+/, "") || ".").replace(/\/$/, "");
  if (destination.startsWith("..")) return failure(`copy destination "${to}" leaves the artifact`);
  const pattern = source[2]!.replace(/\/+$/, "");
  const excludes = Array.isArray(copy.exclude) ? copy.exclude.map(String) : [];
  const excluded = (path: string) => excludes.some((exclude) => minimatch(path, exclude, { dot: true }) || (!exclude.includes("/") && minimatch(posix.basename(path), exclude, { dot: true })));
  const put = (artifactPath: string, repoPath: string) => {
    if (!excluded(repoPath)) staged.set(posix.normalize(artifactPath), tree.repoPath(repoPath));
  };
  const copyFolder = (folder: string, target: string) => {
    for (const path of tree.paths) if (path.startsWith(`${folder}/`)) put(posix.join(target, path.slice(folder.length + 1)), path);
  };
  const isFolder = (path: string) => tree.paths.some((candidate) => candidate.startsWith(`${path}/`));
  if (!GLOB.test(pattern)) {
    if (isFolder(pattern)) copyFolder(pattern, posix.join(destination, posix.basename(pattern)));
    else if (tree.paths.includes(pattern)) put(to.endsWith("/") || isStagedFolder(staged, destination) ? posix.join(destination, posix.basename(pattern)) : destination, pattern);
    else if (copy.optional !== true) return failure(`copy source "${from}" does not exist`);
    return undefined;
  }
  // Go's fs.Glob: each segment matches one path segment (`**` included), files and folders alike.
  const depth = pattern.split("/").length;
  const entries = new Set(tree.paths.filter((path) => path.split("/").length >= depth).map((path) => path.split("/").slice(0, depth).join("/")));
  const matches = [...entries].filter((entry) => minimatch(entry, pattern.replaceAll("**", "*"), { dot: true })).filter((entry) => !excluded(entry));
  if (matches.length === 0) return copy.optional === true ? undefined : failure(`no files match "${from}"`);
  const prefix = pattern.endsWith("/**") ? pattern.slice(0, -3) : undefined;
  for (const match of matches) {
    const target = posix.join(destination, prefix !== undefined && match.startsWith(`${prefix}/`) ? match.slice(prefix.length + 1) : match);
    if (isFolder(match)) copyFolder(match, target);
    else put(target, match);
  }
  return undefined;
}

function isStagedFolder(staged: Map<string, string>, path: string): boolean {
  return [...staged.keys()].some((candidate) => candidate.startsWith(`${path}/`));
}
