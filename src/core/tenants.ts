// Tenant territory: declared in the config, or inferred from the Flux graph of the base commit.
import { minimatch } from "minimatch";
import type { Config } from "./config.js";
import type { FleetModel, SourceDocument } from "./fleet.js";
import { sourcesThisRepository, normalizeRepoPath } from "./flux.js";
import type { TenantInfo, Territory } from "./types.js";

const TENANT_LABEL = "toolkit.fluxcd.io/tenant";

/**
 * The configured tenants, else those inferred from the base commit, then those only the head adds: a new tenant is
 * judged in the change that adds it. The base's come first, so the change cannot redefine an existing tenant.
 */
export function resolveTenants(config: Config, base: FleetModel, head?: FleetModel): TenantInfo[] {
  if (config.tenants) {
    return config.tenants.map((tenant) => ({
      name: tenant.name,
      paths: tenant.paths,
      namespaces: tenant.namespaces,
      ...(tenant.serviceAccount ? { serviceAccount: tenant.serviceAccount } : {}),
      origin: "config",
    }));
  }
  const tenants = inferTenants(base);
  const known = new Set(tenants.map((tenant) => tenant.name));
  return head ? [...tenants, ...inferTenants(head).filter((tenant) => !known.has(tenant.name))] : tenants;
}

/**
 * A Flux Kustomization or HelmRelease that impersonates an account and targets a namespace (or lives
 * in a namespace labelled as a tenant's) defines a tenant; its spec.path, when its source is this
 * repository, is that tenant's territory.
 */
export function inferTenants(base: FleetModel): TenantInfo[] {
  const tenantNamespaces = new Map<string, string>();
  for (const doc of base.objectsMentioning(TENANT_LABEL)) {
    const labels = (doc.object?.metadata.labels ?? {}) as Record<string, unknown>;
    if (doc.ref?.kind === "Namespace" && typeof labels[TENANT_LABEL] === "string") {
      tenantNamespaces.set(doc.ref.name, labels[TENANT_LABEL] as string);
    }
  }
  const tenants = new Map<string, TenantInfo>();
  const fluxDeployers = [...base.fluxObjectsOfKind("Kustomization"), ...base.fluxObjectsOfKind("HelmRelease")];
  for (const doc of fluxDeployers) {
    const spec = (doc.object?.spec ?? {}) as Record<string, unknown>;
    const serviceAccount = typeof spec.serviceAccountName === "string" ? spec.serviceAccountName : undefined;
    const targetNamespace = typeof spec.targetNamespace === "string" ? spec.targetNamespace : undefined;
    const namespace = doc.ref?.namespace;
    const labelledTenant = namespace ? tenantNamespaces.get(namespace) : undefined;
    if (!(serviceAccount && targetNamespace) && !labelledTenant) continue;
    const name = labelledTenant ?? doc.ref!.name;
    const tenant = tenants.get(name) ?? { name, paths: [], namespaces: [], origin: `inferred from ${doc.ref!.kind} ${doc.ref!.namespace ?? "default"}/${doc.ref!.name} (${doc.path})` };
    if (serviceAccount) tenant.serviceAccount ??= serviceAccount;
    const tenantNamespace = targetNamespace ?? namespace;
    if (tenantNamespace && !tenant.namespaces.includes(tenantNamespace)) tenant.namespaces.push(tenantNamespace);
    const path = kustomizationPathInRepository(doc, base);
    if (path !== undefined) {
      const pattern = path === "" ? "**" : `${path}/**`;
      if (!tenant.paths.includes(pattern)) tenant.paths.push(pattern);
    }
    tenants.set(name, tenant);
  }
  return [...tenants.values()];
}

function kustomizationPathInRepository(doc: SourceDocument, model: FleetModel): string | undefined {
  if (doc.ref?.kind !== "Kustomization") return undefined;
  const spec = (doc.object?.spec ?? {}) as Record<string, unknown>;
  if (!sourcesThisRepository(doc, model)) return undefined;
  return normalizeRepoPath(typeof spec.path === "string" ? spec.path : "");
}

export function territoryResolver(tenants: TenantInfo[]): (path: string) => Territory {
  const cache = new Map<string, Territory>();
  return (path) => {
    let territory = cache.get(path);
    if (!territory) {
      const tenant = tenants.find((candidate) => candidate.paths.some((pattern) => minimatch(path, pattern, { dot: true })));
      territory = tenant ? { kind: "tenant", tenant } : { kind: "platform" };
      cache.set(path, territory);
    }
    return territory;
  };
}

/** True when `path` is excluded by the config's `exclude` globs. */
export function isExcluded(config: Config, path: string): boolean {
  return config.exclude.some((pattern) => minimatch(path, pattern, { dot: true }));
}
