import { describeRef } from "../src/core/fleet.js";
import type { Rule, RuleFinding } from "../src/core/types.js";
import type { YamlPath } from "../src/core/yaml.js";
import { findingOn, type LocatedObject } from "./lib/objects.js";
import { clusterControllers, locatedObjects, refusesCrossNamespaceRefs, tenantOfFluxObject } from "./lib/tenancy.js";

interface ReferenceField {
  path: string[];
  /** The field holds a list of references. */
  list: boolean;
}

/** Per Flux kind: the controller that resolves it, and the fields that may name an object in another namespace. */
const REFERENCES: Record<string, { group: string; controller: string; fields: ReferenceField[] }> = {
  Kustomization: {
    group: "kustomize.toolkit.fluxcd.io",
    controller: "kustomize-controller",
    fields: [
      { path: ["spec", "sourceRef"], list: false },
      { path: ["spec", "dependsOn"], list: true },
    ],
  },
  HelmRelease: {
    group: "helm.toolkit.fluxcd.io",
    controller: "helm-controller",
    fields: [
      { path: ["spec", "chart", "spec", "sourceRef"], list: false },
      { path: ["spec", "chartRef"], list: false },
      { path: ["spec", "dependsOn"], list: true },
    ],
  },
  ImageUpdateAutomation: { group: "image.toolkit.fluxcd.io", controller: "image-automation-controller", fields: [{ path: ["spec", "sourceRef"], list: false }] },
  ImagePolicy: { group: "image.toolkit.fluxcd.io", controller: "image-reflector-controller", fields: [{ path: ["spec", "imageRepositoryRef"], list: false }] },
  Alert: { group: "notification.toolkit.fluxcd.io", controller: "notification-controller", fields: [{ path: ["spec", "eventSources"], list: true }] },
  Receiver: { group: "notification.toolkit.fluxcd.io", controller: "notification-controller", fields: [{ path: ["spec", "resources"], list: true }] },
};

export const fluxCrossNamespaceRef: Rule = {
  meta: {
    id: "flux-cross-namespace-ref",
    defaultSeverity: "error",
    summary: "Flux objects only reference sources, dependencies and charts in their own namespace.",
    rationale:
      "A reference into another namespace lets a tenant deploy from, or wait on, the platform's or another tenant's sources (and their credentials); with --no-cross-namespace-refs=true Flux refuses such an object after the merge, and the tenant's deployments stop.",
  },
  check(context) {
    const clusters = clusterControllers(context.head);
    return locatedObjects(context).flatMap((target) => {
      const references = REFERENCES[target.ref.kind];
      const namespace = target.ref.namespace;
      if (!references || !target.ref.apiVersion.startsWith(`${references.group}/`) || !namespace) return [];
      const refused = refusesCrossNamespaceRefs(clusters, references.controller);
      const tenant = context.tenants.length > 0 ? tenantOfFluxObject(context, target) : undefined;
      if (!refused && !tenant) return [];
      const why = refused ? `${references.controller} runs with --no-cross-namespace-refs=true and will refuse it` : `tenant ${tenant!.name} must stay in its own namespace`;
      return references.fields.flatMap((field) => crossNamespaceRefs(target, field, namespace, why));
    });
  },
};

function crossNamespaceRefs(target: LocatedObject, field: ReferenceField, namespace: string, why: string): RuleFinding[] {
  const value = field.path.reduce<unknown>((current, key) => (current !== null && typeof current === "object" ? (current as Record<string, unknown>)[key] : undefined), target.object);
  const entries: Array<[YamlPath, unknown]> = field.list ? (Array.isArray(value) ? value.map((entry, i) => [[...field.path, i], entry]) : []) : [[field.path, value]];
  return entries.flatMap(([path, entry]) => {
    const reference = (entry ?? {}) as Record<string, unknown>;
    if (typeof reference.namespace !== "string" || reference.namespace === namespace) return [];
    const referenced = `${typeof reference.kind === "string" ? `${reference.kind} ` : ""}${reference.namespace}/${String(reference.name ?? "*")}`;
    const where = field.path.slice(1).join(".");
    const message = `${describeRef(target.ref)}: spec.${where} refers to ${referenced} in namespace ${reference.namespace}, outside its own namespace ${namespace} (${why}).`;
    return [findingOn(target, [...path, "namespace"], message)];
  });
}
