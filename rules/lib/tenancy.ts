// Shared facts for the tenant isolation rules: whose object is this, which kinds are cluster-scoped,
// and which flags each cluster's Flux controllers run with (gotk-components.yaml as patched by the
// cluster's flux-system/kustomization.yaml).
import { posix } from "node:path";
import { kustomizationFileIn } from "../../src/core/build/kustomization.js";
import { apiGroup, type FleetModel, type KubeObject, type SourceDocument } from "../../src/core/fleet.js";
import { isFluxKustomization, specOf, sourceRefOf, sourcesThisRepository, normalizeRepoPath } from "../../src/core/flux.js";
import { asArray, asRecord, valueAt } from "../../src/core/values.js";
import type { Fix, ObjectRef, RuleContext, TenantInfo } from "../../src/core/types.js";
import { insertUnderFix, replaceValueFix } from "./flux-graph.js";
import { applyJsonPatchOperation, jsonPatchOperations } from "./json-patch.js";
import { objectsToCheck, type LocatedObject } from "./objects.js";
import { parsePatchText, selectsPatchTarget } from "./patch-target.js";
import { isPatchDocument } from "./workloads.js";

export const TENANT_LABEL = "toolkit.fluxcd.io/tenant";

/**
 * Kinds that have no namespace. A tenant that can create one of these acts on the whole cluster.
 * Kept by hand: Kubernetes' own cluster-scoped kinds plus the common add-ons seen in fleet repositories
 * whose kind names say it (cert-manager, Gateway API, Kyverno, Gatekeeper, external-secrets, Cilium, Calico,
 * snapshots), each checked against the add-on's CustomResourceDefinition (`scope: Cluster`).
 */
export const CLUSTER_SCOPED_KINDS: ReadonlySet<string> = new Set([
  "APIService",
  "CSIDriver",
  "CSINode",
  "CertificateSigningRequest",
  "CiliumClusterwideEnvoyConfig",
  "CiliumClusterwideNetworkPolicy",
  "ClusterCleanupPolicy",
  "ClusterExternalSecret",
  "ClusterIssuer",
  "ClusterPolicy",
  "ClusterRole",
  "ClusterRoleBinding",
  "ClusterSecretStore",
  "ClusterTrustBundle",
  "ComponentStatus",
  "ConstraintTemplate",
  "CustomResourceDefinition",
  "DeviceClass",
  "FlowSchema",
  "GatewayClass",
  "GlobalNetworkPolicy",
  "GlobalNetworkSet",
  "IPAddress",
  "IngressClass",
  "MutatingAdmissionPolicy",
  "MutatingAdmissionPolicyBinding",
  "MutatingWebhookConfiguration",
  "Namespace",
  "Node",
  "PersistentVolume",
  "PodSecurityPolicy",
  "PriorityClass",
  "PriorityLevelConfiguration",
  "RuntimeClass",
  "ServiceCIDR",
  "StorageClass",
  "ValidatingAdmissionPolicy",
  "ValidatingAdmissionPolicyBinding",
  "ValidatingWebhookConfiguration",
  "VolumeAttachment",
  "VolumeSnapshotClass",
  "VolumeSnapshotContent",
]);

/**
 * Cluster-scoped add-on kinds whose names alone are too common to list above, as `group/Kind`; `group/*`
 * for a group of cluster-scoped kinds only (Gatekeeper creates one constraint kind per ConstraintTemplate).
 */
const CLUSTER_SCOPED_GROUP_KINDS: ReadonlySet<string> = new Set([
  "constraints.gatekeeper.sh/*",
  "crd.projectcalico.org/HostEndpoint",
  "crd.projectcalico.org/IPPool",
  "projectcalico.org/HostEndpoint",
  "projectcalico.org/IPPool",
]);

const customClusterKinds = new WeakMap<FleetModel, ReadonlySet<string>>();

/**
 * `group/Kind` of every CustomResourceDefinition in the tree that declares `spec.scope: Cluster`. Only files
 * that mention CustomResourceDefinition are parsed: a large fleet has thousands of others.
 */
function clusterScopedCustomKinds(model: FleetModel): ReadonlySet<string> {
  let kinds = customClusterKinds.get(model);
  if (!kinds) {
    const found = new Set<string>();
    for (const doc of model.objectsMentioning("CustomResourceDefinition")) {
      if (doc.ref?.kind !== "CustomResourceDefinition" || apiGroup(doc.ref.apiVersion) !== "apiextensions.k8s.io") continue;
      const spec = asRecord(doc.object?.spec);
      const kind = valueAt(spec, ["names", "kind"]);
      if (spec.scope === "Cluster" && typeof spec.group === "string" && typeof kind === "string") found.add(`${spec.group}/${kind}`);
    }
    customClusterKinds.set(model, (kinds = found));
  }
  return kinds;
}

/**
 * Whether objects of the ref's kind have no namespace: a kind listed above, or, given the tree, one whose
 * CustomResourceDefinition there says `scope: Cluster` (matched by API group and kind).
 */
export function isClusterScoped(ref: ObjectRef, model?: FleetModel): boolean {
  if (CLUSTER_SCOPED_KINDS.has(ref.kind)) return true;
  const group = apiGroup(ref.apiVersion);
  const groupKind = `${group}/${ref.kind}`;
  return CLUSTER_SCOPED_GROUP_KINDS.has(groupKind) || CLUSTER_SCOPED_GROUP_KINDS.has(`${group}/*`) || (model !== undefined && clusterScopedCustomKinds(model).has(groupKind));
}

/**
 * The tenant whose territory an object comes from: the file it was traced to, else the folder of the
 * build that rendered it (a tenant's Kustomization applies everything it renders with the tenant's account,
 * even what it pulls in from elsewhere).
 */
export function tenantOfObject(context: RuleContext, target: LocatedObject): TenantInfo | undefined {
  if (target.territory.kind === "tenant") return target.territory.tenant;
  const buildPath = target.build ? context.builds.find((build) => build.report.name === target.build)?.report.path : undefined;
  if (buildPath === undefined) return undefined;
  const territory = context.territory(buildPath === "" ? "kustomization.yaml" : `${buildPath}/kustomization.yaml`);
  return territory.kind === "tenant" ? territory.tenant : undefined;
}

/** Flux objects that apply manifests on someone's behalf. */
export function isFluxDeployer(ref: ObjectRef): boolean {
  return (
    isFluxKustomization(ref) ||
    (ref.kind === "HelmRelease" && ref.apiVersion.startsWith("helm.toolkit.fluxcd.io/"))
  );
}

/**
 * The tenant a Flux Kustomization or HelmRelease deploys for. Tenants' Flux objects are usually written
 * by the platform team (tenants/base/<team>/sync.yaml), so territory alone is not enough. In order:
 * the `toolkit.fluxcd.io/tenant` label (but on Flux's bootstrap Kustomization), the object's namespace being
 * one of a tenant's, the object coming from tenant territory, or its spec.path (in this repository) pointing
 * into tenant territory.
 */
export function tenantOfFluxObject(context: RuleContext, target: LocatedObject): TenantInfo | undefined {
  const labels = (target.object.metadata.labels ?? {}) as Record<string, unknown>;
  const labelled = context.tenants.find((tenant) => tenant.name === labels[TENANT_LABEL]);
  if (labelled && !isBootstrap(target)) return labelled;
  const namespace = target.ref.namespace;
  const byNamespace = namespace ? context.tenants.find((tenant) => tenant.namespaces.includes(namespace)) : undefined;
  if (byNamespace) return byNamespace;
  const byTerritory = tenantOfObject(context, target);
  if (byTerritory) return byTerritory;
  // As rendered: an overlay patch often sets spec.path (flux2-multi-tenancy's tenants/<cluster>/dev-team-patch.yaml).
  if (target.ref.kind !== "Kustomization" || !sourcesThisRepository(target, context.head)) return undefined;
  const path = normalizeRepoPath(String(specOf(target).path ?? ""));
  const territory = context.territory(path === "" ? "kustomization.yaml" : `${path}/kustomization.yaml`);
  return territory.kind === "tenant" ? territory.tenant : undefined;
}

/**
 * Flux's bootstrap Kustomization: `flux-system/flux-system` (named after its namespace, `flux bootstrap
 * --namespace`), reading its own GitRepository and applying the folder that holds its own definition (the
 * repository's root, with `flux bootstrap --path=./`), as Flux's own account. A label does not make it a
 * tenant's: flux2-kustomize-helm-example labels Flux's components, this Kustomization among them, with the team
 * that runs Flux. Any other labelled Kustomization stays the tenant's.
 */
function isBootstrap(target: LocatedObject): boolean {
  const { name, namespace } = target.ref;
  const spec = specOf(target);
  const source = sourceRefOf(target);
  if (!isFluxKustomization(target.ref) || name !== namespace || (typeof spec.serviceAccountName === "string" && spec.serviceAccountName !== "")) return false;
  if (source.kind !== "GitRepository" || source.name !== name || source.namespace !== namespace) return false;
  const path = normalizeRepoPath(typeof spec.path === "string" ? spec.path : "");
  return path === "" || target.path.startsWith(`${path}/`);
}

export interface TenantTarget {
  target: LocatedObject;
  tenant: TenantInfo;
  /**
   * The source document is a kustomize patch (a file listed under a kustomization's patches): it only holds
   * the fields it changes, so a field it lacks says nothing about the object.
   */
  isPatch: boolean;
}

const locatedCache = new WeakMap<RuleContext, LocatedObject[]>();

/** objectsToCheck, computed once per evaluation side for all the tenant rules. */
export function locatedObjects(context: RuleContext): LocatedObject[] {
  let located = locatedCache.get(context);
  if (!located) {
    located = objectsToCheck(context);
    locatedCache.set(context, located);
  }
  return located;
}

/** Every Flux Kustomization / HelmRelease to judge, with the tenant it deploys for. */
export function tenantDeployers(context: RuleContext): TenantTarget[] {
  if (context.tenants.length === 0) return [];
  return locatedObjects(context).flatMap((target) => {
    if (!isFluxDeployer(target.ref)) return [];
    const tenant = tenantOfFluxObject(context, target);
    return tenant ? [{ target, tenant, isPatch: isPatchSource(context, target) }] : [];
  });
}

/** Every object that comes from a tenant's territory (source file or build), with that tenant; patches are not objects. */
export function tenantObjects(context: RuleContext): TenantTarget[] {
  if (context.tenants.length === 0) return [];
  return locatedObjects(context).flatMap((target) => {
    const tenant = tenantOfObject(context, target);
    return tenant && !isPatchSource(context, target) ? [{ target, tenant, isPatch: false }] : [];
  });
}

/** A source document (not a rendered object) from a file that some kustomization uses as a patch. */
function isPatchSource(context: RuleContext, target: LocatedObject): boolean {
  return target.build === undefined && target.doc !== undefined && isPatchDocument(context.head, target.doc);
}

/** A kustomization's patches of every generation, as `{patch?: text, path?: file, target?}` entries. */
function patchEntries(kustomization: Record<string, unknown>): Array<Record<string, unknown>> {
  return [
    ...asArray(kustomization.patches),
    ...asArray(kustomization.patchesJson6902),
    ...asArray(kustomization.patchesStrategicMerge).map((entry) => (typeof entry === "string" && !entry.includes("\n") ? { path: entry } : { patch: entry })),
  ].filter((entry): entry is Record<string, unknown> => entry !== null && typeof entry === "object" && !Array.isArray(entry));
}

export function specValue(object: KubeObject, field: string): unknown {
  return asRecord(object.spec)[field];
}

/**
 * A fix that sets `spec.<field>: <value>` in the object's source document: rewrites the field's line when
 * the source has it (and the rendered value is the source's), else adds a line as the first key of `spec:`.
 * Undefined when the value comes from elsewhere (a patch) or the source cannot be edited line by line.
 */
export function setSpecFieldFix(target: LocatedObject, field: string, value: string, description: string): Fix | undefined {
  const doc = target.doc;
  if (!doc?.object || specValue(doc.object, field) !== specValue(target.object, field)) return undefined;
  if (doc.keyLine(["spec", field]) !== undefined) return replaceValueFix(doc, ["spec", field], value, description);
  return insertUnderFix(doc, ["spec"], [`${field}: ${value}`], description);
}

// ---- Controller flags ----

export const FLUX_CONTROLLERS = [
  "source-controller",
  "kustomize-controller",
  "helm-controller",
  "notification-controller",
  "image-reflector-controller",
  "image-automation-controller",
  "source-watcher",
] as const;

export interface ClusterControllers {
  /** The cluster's folder under clusters/, e.g. "staging". */
  cluster: string;
  /** e.g. "clusters/staging/flux-system". */
  dir: string;
  /** The folder's kustomization.yaml document, where lockdown patches go. */
  kustomization?: SourceDocument;
  /** Effective container args per controller that the repository declares or patches. */
  args: Map<string, string[]>;
  /** The controller Deployments found in the folder (gotk-components.yaml). */
  deployments: Map<string, SourceDocument>;
}

const CLUSTER_FLUX_DIR = /^clusters\/(.+)\/flux-system\/[^/]+$/;
const CONTAINERS_PATH = ["spec", "template", "spec", "containers"];

const controllersCache = new WeakMap<FleetModel, ClusterControllers[]>();

/** The Flux controllers of each cluster (clusters/<name>/flux-system) and the args they run with. */
export function clusterControllers(model: FleetModel): ClusterControllers[] {
  let clusters = controllersCache.get(model);
  if (!clusters) {
    clusters = readClusterControllers(model);
    controllersCache.set(model, clusters);
  }
  return clusters;
}

function readClusterControllers(model: FleetModel): ClusterControllers[] {
  const dirs = new Map<string, string>();
  for (const path of model.paths()) {
    const match = CLUSTER_FLUX_DIR.exec(path);
    if (match) dirs.set(posix.dirname(path), match[1]!);
  }
  return [...dirs].map(([dir, cluster]) => {
    const deployments = new Map<string, SourceDocument>();
    for (const path of model.yamlPaths().filter((candidate) => posix.dirname(candidate) === dir)) {
      for (const doc of model.file(path)?.documents ?? []) {
        if (doc.ref?.kind === "Deployment" && (FLUX_CONTROLLERS as readonly string[]).includes(doc.ref.name)) deployments.set(doc.ref.name, doc);
      }
    }
    const args = new Map<string, string[]>();
    for (const [name, doc] of deployments) args.set(name, containerArgs(doc.object!));
    const kustomizationPath = kustomizationFileIn(dir, (path) => model.exists(path));
    const kustomization = kustomizationPath ? model.file(kustomizationPath)?.documents[0] : undefined;
    if (kustomization) applyPatches(model, dir, kustomization, deployments, args);
    return { cluster, dir, ...(kustomization ? { kustomization } : {}), args, deployments };
  });
}

function containerArgs(object: Record<string, unknown>): string[] {
  const containers = valueAt(object, CONTAINERS_PATH);
  if (!Array.isArray(containers)) return [];
  const manager = containers.find((container) => valueAt(container, ["name"]) === "manager") ?? containers[0];
  const args = valueAt(manager, ["args"]);
  return Array.isArray(args) ? args.map(String) : [];
}

/** kustomize's `patches` / `patchesJson6902` / `patchesStrategicMerge`, as far as they touch controller args. */
function applyPatches(model: FleetModel, dir: string, kustomization: SourceDocument, deployments: Map<string, SourceDocument>, args: Map<string, string[]>) {
  for (const entry of patchEntries((kustomization.value ?? {}) as Record<string, unknown>)) {
    const text = typeof entry.patch === "string" ? entry.patch : typeof entry.path === "string" ? model.readText(posix.join(dir, entry.path)) : undefined;
    if (text === undefined) continue;
    // A broken patch is the kustomize-build rule's finding.
    const patch = parsePatchText(text, kustomization.path);
    if (patch === undefined) continue;
    const target = asRecord(entry.target);
    // An empty target would select every object: only a target that names something selects a controller.
    const named = target.name !== undefined || target.labelSelector !== undefined || target.kind === "Deployment";
    for (const controller of FLUX_CONTROLLERS) {
      const labels = deployments.get(controller)?.object?.metadata.labels ?? { app: controller };
      if (Array.isArray(patch)) {
        if (named && selectsPatchTarget(target, { kind: "Deployment", name: controller, labels: labels as Record<string, unknown> })) args.set(controller, applyJsonPatch(args.get(controller) ?? [], patch));
      } else if (valueAt(patch, ["kind"]) === "Deployment" && valueAt(patch, ["metadata", "name"]) === controller) {
        const patched = valueAt(patch, CONTAINERS_PATH);
        // A strategic merge replaces a list of strings such as args wholesale.
        if (Array.isArray(patched) && patched.some((container) => Array.isArray(valueAt(container, ["args"])))) {
          args.set(controller, containerArgs(patch as Record<string, unknown>));
        }
      }
    }
  }
}

/** JSON patch operations on a controller's container args, whichever container index they name (Flux's controllers have one). */
function applyJsonPatch(args: string[], patch: unknown[]): string[] {
  // The args as a document of their own, so that `/spec/template/spec/containers/<n>/args[/<i>|/-]` applies as `/args[/<i>|/-]`.
  const holder: Record<string, unknown> = { args: [...args] };
  for (const operation of jsonPatchOperations(patch)) {
    const path = argsPath(operation.path);
    if (!path) continue;
    // Removed or replaced by something other than a list: no args.
    if (!Array.isArray(holder.args)) holder.args = [];
    applyJsonPatchOperation(holder, { ...operation, path });
  }
  return asArray(holder.args).map(String);
}

/** `["args"]` or `["args", <index or "-">]` for a pointer to a container's args or to one of them, else undefined. */
function argsPath(pointer: string[]): string[] | undefined {
  const [index, field, ...rest] = pointer.slice(CONTAINERS_PATH.length);
  if (CONTAINERS_PATH.some((token, position) => pointer[position] !== token) || !/^\d+$/.test(index ?? "") || field !== "args" || rest.length > 1) return undefined;
  return ["args", ...rest];
}

/** The value a controller flag ends up with: the last occurrence wins; a bare boolean flag means "true". */
export function flagValue(args: readonly string[], flag: string): string | undefined {
  let value: string | undefined;
  for (const arg of args) {
    if (arg === `--${flag}`) value = "true";
    else if (arg.startsWith(`--${flag}=`)) value = arg.slice(flag.length + 3);
  }
  return value;
}

/** True when some cluster runs `controller` with --no-cross-namespace-refs=true: Flux then refuses cross-namespace references. */
export function refusesCrossNamespaceRefs(clusters: readonly ClusterControllers[], controller: string): boolean {
  return clusters.some((cluster) => flagValue(cluster.args.get(controller) ?? [], "no-cross-namespace-refs") === "true");
}
