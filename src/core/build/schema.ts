// Strict schema validation of rendered objects against the maintained Kubernetes and Flux models
// (kubernetes-models, @kubernetes-models/flux-cd). Their validators check types, enums and required
// fields but accept unknown fields; unknown fields are found by watching which properties the
// validator reads: a field of a typed object that the schema never looks at is not in the schema.
import { apiGroup } from "../fleet.js";
import type { YamlPath } from "../yaml.js";

type ValidateMethod = (this: unknown) => void;
interface ModelClass {
  prototype: { validate: ValidateMethod };
}

export interface SchemaViolation {
  path: YamlPath;
  message: string;
}

/** Loaded models by "apiVersion kind"; null when no package covers the kind. */
const models = new Map<string, ModelClass | null>();

const FLUX_GROUPS = /\.toolkit\.fluxcd\.io$/;
const SAFE_GROUP_VERSION = /^([a-z0-9.-]+\/)?v[0-9a-z]+$/;
const SAFE_KIND = /^[A-Z][A-Za-z0-9]*$/;

/** The package module of one kind (rendered objects are hostile input: only plain names become module paths). */
function moduleFor(apiVersion: string, kind: string): string | undefined {
  if (!SAFE_GROUP_VERSION.test(apiVersion) || !SAFE_KIND.test(kind)) return undefined;
  const group = apiGroup(apiVersion);
  if (group === "") return apiVersion === "v1" ? `kubernetes-models/v1/${kind}` : undefined;
  if (FLUX_GROUPS.test(group)) return `@kubernetes-models/flux-cd/${apiVersion}/${kind}`;
  return `kubernetes-models/${apiVersion}/${kind}`;
}

const key = (apiVersion: string, kind: string) => `${apiVersion} ${kind}`;

/** Loads the models of these kinds (once per process, one small module each); the schema rule then validates synchronously. */
export async function loadSchemas(refs: Iterable<{ apiVersion: string; kind: string }>): Promise<void> {
  for (const { apiVersion, kind } of refs) {
    if (models.has(key(apiVersion, kind))) continue;
    const specifier = moduleFor(apiVersion, kind);
    let model: ModelClass | null = null;
    if (specifier) {
      try {
        const module = (await import(specifier)) as Record<string, unknown>;
        model = typeof module[kind] === "function" ? (module[kind] as ModelClass) : null;
      } catch {
        model = null;
      }
    }
    models.set(key(apiVersion, kind), model);
  }
}

/** Violations of the object against its schema, strict: unknown fields are violations. Undefined without a schema. */
export function validateObject(object: Record<string, unknown>): SchemaViolation[] | undefined {
  const apiVersion = String(object.apiVersion);
  const model = models.get(key(apiVersion, String(object.kind)));
  if (!model) return undefined;
  const reads = new WeakMap<object, Set<PropertyKey> | "every">();
  const record = (target: object, key: PropertyKey) => {
    const seen = reads.get(target);
    if (seen === "every") return;
    if (seen) seen.add(key);
    else reads.set(target, new Set([key]));
  };
  const proxies = new WeakMap<object, object>();
  const watch = (value: unknown): unknown => {
    if (value === null || typeof value !== "object") return value;
    let proxy = proxies.get(value);
    if (!proxy) {
      proxy = new Proxy(value, {
        get(target, key) {
          record(target, key);
          return watch(Reflect.get(target, key));
        },
        has(target, key) {
          record(target, key);
          return Reflect.has(target, key);
        },
        ownKeys(target) {
          // A map-typed field (labels, data …) enumerates its keys: every key is allowed.
          reads.set(target, "every");
          return Reflect.ownKeys(target);
        },
      });
      proxies.set(value, proxy);
    }
    return proxy;
  };
  const violations: SchemaViolation[] = [];
  try {
    model.prototype.validate.call(watch(object));
  } catch (error) {
    const errors = (error as { errors?: Array<{ instancePath: string; keyword: string; message?: string; params?: Record<string, unknown> }> }).errors ?? [];
    for (const found of errors) {
      const path = pointerPath(found.instancePath);
      if (found.keyword === "required") {
        const missing = String(found.params?.missingProperty ?? "");
        violations.push({ path, message: `${describePath([...path, missing])} is required by the ${apiVersion} ${String(object.kind)} schema` });
      } else {
        const allowed = Array.isArray(found.params?.allowedValues) ? ` (one of ${(found.params.allowedValues as unknown[]).join(", ")})` : "";
        violations.push({ path, message: `${describePath(path)} ${found.message ?? "is invalid"}${allowed}` });
      }
    }
  }
  const unknown = (node: unknown, path: Array<string | number>) => {
    if (node === null || typeof node !== "object") return;
    if (Array.isArray(node)) {
      node.forEach((item, index) => unknown(item, [...path, index]));
      return;
    }
    const seen = reads.get(node);
    if (seen === undefined) return; // never looked into: a free-form field (HelmRelease values, …)
    for (const [key, child] of Object.entries(node as Record<string, unknown>)) {
      if (seen !== "every" && !seen.has(key)) {
        violations.push({ path: [...path, key], message: `${describePath([...path, key])} is not a field of the ${apiVersion} ${String(object.kind)} schema` });
      } else unknown(child, [...path, key]);
    }
  };
  unknown(object, []);
  return violations;
}

function pointerPath(pointer: string): Array<string | number> {
  if (pointer === "") return [];
  return pointer
    .slice(1)
    .split("/")
    .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}

export function describePath(path: YamlPath): string {
  if (path.length === 0) return "the object";
  return path.map((part, index) => (typeof part === "number" ? `[${part}]` : index === 0 ? part : `.${part}`)).join("");
}
