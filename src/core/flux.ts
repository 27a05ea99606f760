// Small facts about Flux objects shared by tenants, builds and rules.
import { posix } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { apiGroup, refOf, type FleetModel, type KubeObject, type SourceDocument } from "./fleet.js";
import type { ObjectRef, PullRequestFacts } from "./types.js";

export const FLUX_SYSTEM = "flux-system";
const FLUX_SOURCE_GROUP = "source.toolkit.fluxcd.io";

/** Where a source is looked up. */
export interface SourceScope {
  /** `clusters/prod`: each cluster's source-controller reads its own definitions, never another cluster's. */
  cluster: string;
  /** Repository files the cluster's Kustomizations deploy, once planning has found them. */
  deployed?: ReadonlySet<string>;
  /** Repository files of the parent that rendered the sources looked up first: their written copies are those. */
  renderedFrom?: ReadonlySet<string>;
}

export function specOf(doc: Pick<SourceDocument, "object">): Record<string, unknown> {
  const spec = doc.object?.spec;
  return spec !== null && typeof spec === "object" && !Array.isArray(spec) ? (spec as Record<string, unknown>) : {};
}

/**
 * `./apps/staging/` -> `apps/staging`; the repository root is "". Like Flux (securejoin), a path that climbs
 * above the root is clamped to it: `../x` is `x`.
 */
export function normalizeRepoPath(path: string): string {
  const normalized = posix.normalize(`/${path}`).replace(/^\/+/, "").replace(/\/+$/, "");
  return normalized === "." ? "" : normalized;
}

/**
 * True when a Flux Kustomization's source is this repository: the `flux-system` GitRepository
 * (the one `flux bootstrap` creates for the fleet repository itself), or a GitRepository whose
 * URL names this repository.
 */
export function sourcesThisRepository(
  doc: Pick<SourceDocument, "object" | "ref">,
  model: FleetModel,
  repository?: PullRequestFacts["repository"],
  rendered: readonly KubeObject[] = [],
): boolean {
  const { kind, name, namespace } = sourceRefOf(doc);
  return kind === "GitRepository" && name !== "" && isThisRepository(name, namespace, model, repository, rendered);
}

/** A Flux Kustomization's `spec.sourceRef`: a GitRepository when its kind is left out, in the object's namespace when its own is. */
export function sourceRefOf(doc: Pick<SourceDocument, "object" | "ref">): { kind: unknown; name: string; namespace: string } {
  const sourceRef = (specOf(doc).sourceRef ?? {}) as Record<string, unknown>;
  return {
    kind: sourceRef.kind === undefined ? "GitRepository" : sourceRef.kind,
    name: typeof sourceRef.name === "string" ? sourceRef.name : "",
    namespace: typeof sourceRef.namespace === "string" ? sourceRef.namespace : (doc.ref?.namespace ?? FLUX_SYSTEM),
  };
}

/** True when the GitRepository `namespace/name` is this repository: flux-system's own, or one whose URL names it. */
export function isThisRepository(
  name: string,
  namespace: string,
  model: FleetModel,
  repository?: PullRequestFacts["repository"],
  rendered: readonly KubeObject[] = [],
): boolean {
  if (name === FLUX_SYSTEM && namespace === FLUX_SYSTEM) return true;
  if (!repository) return false;
  const spec = gitRepositorySpec(name, namespace, model, rendered);
  return spec !== undefined && specNamesRepository(spec, repository);
}

/** Whether a GitRepository spec's URL names the repository. */
export function specNamesRepository(spec: Record<string, unknown>, repository: PullRequestFacts["repository"]): boolean {
  return typeof spec.url === "string" && urlNamesRepository(spec.url, repository);
}

/** The spec of the GitRepository `namespace/name` the cluster most likely reads (see gitRepositoryCopies). */
export function gitRepositorySpec(name: string, namespace: string, model: FleetModel, rendered: readonly KubeObject[] = [], scope?: SourceScope): Record<string, unknown> | undefined {
  return gitRepositoryCopies(name, namespace, model, rendered, scope)[0]?.spec;
}

/** A copy of a GitRepository: its spec, and the file it is written in (none for the copy a parent rendered). */
export interface GitRepositoryCopy {
  spec: Record<string, unknown>;
  path?: string;
}

/**
 * The specs of GitRepository `namespace/name` a cluster may read, likeliest first: the one a parent Kustomization
 * rendered along with the one that reads it (where kustomize may have set its namespace), then those written in the
 * repository: those the cluster's Kustomizations deploy, once known (a copy nothing deploys is not what Flux reads),
 * else every one it may read; its own folder's first, never another cluster's.
 */
export function gitRepositoryCopies(name: string, namespace: string, model: FleetModel, rendered: readonly KubeObject[] = [], scope?: SourceScope): GitRepositoryCopy[] {
  const renderedObject = renderedGitRepositories(rendered).get(`${namespace}/${name}`);
  const written = gitRepositoriesNamed(model).get(`${namespace}/${name}`) ?? [];
  const visible = scope ? written.filter((doc) => visibleFrom(doc.path, scope.cluster)) : written;
  // Only a cluster's own Kustomizations say what it deploys: a Kustomization found outside clusters/ and planned
  // alone (without a parent's build) deploys its own folder, decoys included.
  // flux bootstrap applies the cluster's own flux-system GitRepository (in clusters/<name>/flux-system/), deployed by a
  // Kustomization or not: it counts, and comes first.
  const bootstraps = (doc: SourceDocument) => scope !== undefined && name === FLUX_SYSTEM && namespace === FLUX_SYSTEM && doc.path.startsWith(`${scope.cluster}/${FLUX_SYSTEM}/`);
  const deployed = scope && inClusterFolder(`${scope.cluster}/`) ? visible.filter((doc) => scope.deployed !== undefined && (scope.deployed.has(doc.path) || bootstraps(doc))) : [];
  const others = (deployed.length > 0 ? deployed : visible).filter((doc) => !(renderedObject && scope?.renderedFrom?.has(doc.path)));
  const own = (doc: SourceDocument) => clusterOf(doc.path) === scope?.cluster && !bootstraps(doc);
  const copyOf = (doc: SourceDocument) => ({ spec: specOf(doc), path: doc.path });
  return [
    ...others.filter(bootstraps).map(copyOf),
    ...(renderedObject ? [{ spec: specOf({ object: renderedObject }) }] : []),
    ...others.filter(own).map(copyOf),
    ...others.filter((doc) => !own(doc) && !bootstraps(doc)).map(copyOf),
  ];
}

/**
 * Whether a cluster may read one of several differing definitions of a GitRepository: which one it reads then depends
 * on what its Kustomizations deploy. False for most fleets, whose clusters each define their own.
 */
export function hasRivalDefinitions(model: FleetModel): boolean {
  // Two definitions a cluster may both read: not each in its own cluster's folder.
  const readTogether = (one: SourceDocument, other: SourceDocument) => !inClusterFolder(one.path) || visibleFrom(other.path, clusterOf(one.path));
  return [...gitRepositoriesNamed(model).values()].some((written) =>
    written.some((one, index) => written.slice(index + 1).some((other) => readTogether(one, other) && !isDeepStrictEqual(specOf(one), specOf(other)))),
  );
}

function isGitRepository(ref: ObjectRef | undefined): boolean {
  return ref?.kind === "GitRepository" && apiGroup(ref.apiVersion) === FLUX_SOURCE_GROUP;
}

const renderedIndexes = new WeakMap<readonly KubeObject[], Map<string, KubeObject>>();

/** The GitRepositories among rendered objects by namespace/name, the first of each: one parent renders hundreds. */
function renderedGitRepositories(rendered: readonly KubeObject[]): Map<string, KubeObject> {
  let index = renderedIndexes.get(rendered);
  if (!index) {
    index = new Map();
    for (const object of rendered) {
      const ref = refOf(object);
      const key = `${ref.namespace ?? FLUX_SYSTEM}/${ref.name}`;
      if (isGitRepository(ref) && !index.has(key)) index.set(key, object);
    }
    renderedIndexes.set(rendered, index);
  }
  return index;
}

/** Every GitRepository written in the model. */
export function gitRepositoryDocuments(model: FleetModel): SourceDocument[] {
  return [...gitRepositoriesNamed(model).values()].flat();
}

const gitRepositoryIndexes = new WeakMap<FleetModel, Map<string, SourceDocument[]>>();

/**
 * The GitRepositories of the model by namespace/name, in path order: asked for each of a fleet's hundreds of
 * Kustomizations, several times. A kustomization may list a JSON file as a resource, so JSON files count too.
 */
function gitRepositoriesNamed(model: FleetModel): Map<string, SourceDocument[]> {
  let index = gitRepositoryIndexes.get(model);
  if (!index) {
    index = new Map();
    for (const doc of model.fluxObjectsOfKind("GitRepository").filter((candidate) => isGitRepository(candidate.ref))) {
      const key = `${doc.ref!.namespace ?? FLUX_SYSTEM}/${doc.ref!.name}`;
      const named = index.get(key);
      if (named) named.push(doc);
      else index.set(key, [doc]);
    }
    gitRepositoryIndexes.set(model, index);
  }
  return index;
}

/** Whether a Git URL names the repository: its owner and name, on its host when that is known. */
function urlNamesRepository(url: string, repository: { owner: string; name: string; host?: string }): boolean {
  // A query, fragment, backslash or space moves the host for Go's url.Parse (`https://evil.example?@github.com/…` is
  // evil.example): no spelling of this repository needs them, so such a URL is never taken for it.
  if (/[?#\\\s]/.test(url.trim())) return false;
  const named = gitUrlParts(url);
  const path = `${repository.owner}/${repository.name}`.toLowerCase();
  // Another host (evil.example.com/acme/fleet) is another repository, whatever its path: Flux would fetch it.
  if (repository.host) return named.host === gitHost(repository.host) && named.path === path;
  return `/${named.path}`.endsWith(`/${path}`);
}

/**
 * The host and the path a Git URL names (`https://github.com:443/acme/fleet.git` -> github.com, acme/fleet). No host
 * for a local path, nor for an SSH alias of ~/.ssh/config (`git@github-work:acme/fleet`: no dot), which names no
 * real one.
 */
export function gitUrlParts(url: string): { host?: string; path: string } {
  const canonical = canonicalGitUrl(url);
  const slash = canonical.indexOf("/");
  const host = slash > 0 ? canonical.slice(0, slash) : "";
  const path = canonical.slice(slash + 1);
  return host.includes(".") && !host.startsWith(".") ? { host: gitHost(host), path } : { path: slash > 0 ? path : canonical.replace(/^\/+/, "") };
}

/** A Git host as compared: lower case, without its port, and GitHub's SSH-over-443 host read as GitHub. */
function gitHost(host: string): string {
  const plain = host.toLowerCase().replace(/:\d+$/, "");
  return plain === "ssh.github.com" ? "github.com" : plain;
}

/** `ssh://git@github.com/acme/fleet.git`, `git@github.com:acme/fleet`, `https://github.com/acme/fleet/` -> `github.com/acme/fleet`. */
export function canonicalGitUrl(url: string): string {
  return url
    .trim()
    .toLowerCase()
    .replace(/^[a-z+]+:\/\//, "")
    .replace(/^[^@/]*@/, "")
    .replace(/^([^/:]+):(?!\d+\/)/, "$1/")
    .replace(/\/+$/, "")
    .replace(/\.git$/, "");
}

export const FLUX_KUSTOMIZE_GROUP = "kustomize.toolkit.fluxcd.io";

/** A Flux Kustomization (kustomize.toolkit.fluxcd.io), as opposed to a kustomize `kustomization.yaml`. */
export function isFluxKustomization(ref: Pick<ObjectRef, "apiVersion" | "kind"> | undefined): boolean {
  return ref?.kind === "Kustomization" && apiGroup(ref.apiVersion) === FLUX_KUSTOMIZE_GROUP;
}

const CLUSTERS_DIR = "clusters";

/** The cluster a Flux object belongs to, from where it is defined: `clusters/<name>` when under it, else its folder. */
export function clusterOf(path: string): string {
  const match = /^clusters\/[^/]+/.exec(path);
  if (match) return match[0];
  const folder = posix.dirname(path);
  return folder === "." ? "." : folder;
}

/** Whether a path lies in a cluster's own folder (`clusters/<name>/…`), which only that cluster reads. */
export function inClusterFolder(path: string): boolean {
  return clusterOf(path).startsWith(`${CLUSTERS_DIR}/`);
}

/** Whether a definition at `path` can be what `cluster` reads: in that cluster's folder, or in no cluster's (any, without a cluster). */
export function visibleFrom(path: string, cluster: string | undefined): boolean {
  return cluster === undefined || !inClusterFolder(path) || clusterOf(path) === cluster;
}
