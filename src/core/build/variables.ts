// postBuild variables of a Flux Kustomization: the merged map (substituteFrom ConfigMaps and Secrets found
// in the repository, in order, then spec.postBuild.substitute), and its application to rendered objects
// exactly as kustomize-controller applies it.
import { refOf, type FleetModel, type KubeObject, type SourceDocument } from "../fleet.js";
import { clusterOf, specOf, visibleFrom } from "../flux.js";
import type { BuildIssue } from "../types.js";
import { errorMessage } from "../yaml.js";
import { substitute, SubstitutionError, SubstitutionTooCostly } from "./envsubst.js";
import { sharedSegments } from "./tree.js";

export const SUBSTITUTE_KEY = "kustomize.toolkit.fluxcd.io/substitute";
// Go RE2 classes: [:alpha:] and [:digit:] are ASCII.
const VARIABLE_NAME = /^[_A-Za-z][_A-Za-z0-9]*$/;

export interface Variables {
  /** postBuild is set (substitute or substituteFrom). */
  configured: boolean;
  values: Map<string, string>;
  /** substituteFrom references whose values are not in the repository (created in the cluster, or encrypted). */
  unknownSources: string[];
  issues: BuildIssue[];
  /** Repository files the values come from. */
  inputs: string[];
}

/** The variables of a Kustomization as Flux sees it (`object`) in its cluster, with lines from the document it is written in. */
export function resolveVariables({ doc, object, cluster }: { doc: SourceDocument; object: KubeObject; cluster: string }, model: FleetModel): Variables {
  const postBuild = (specOf({ object }).postBuild ?? {}) as Record<string, unknown>;
  const variables: Variables = { configured: Object.keys(postBuild).length > 0, values: new Map(), unknownSources: [], issues: [], inputs: [] };
  const namespace = refOf(object).namespace;
  const references = Array.isArray(postBuild.substituteFrom) ? postBuild.substituteFrom : [];
  // Another cluster's same-named source is not the one Flux reads: a source found only there is not in the
  // repository. The cluster's own folder comes first, then shared folders, nearest to the Kustomization first.
  const ownCluster = (path: string) => clusterOf(path) === cluster;
  for (const reference of references as Array<Record<string, unknown>>) {
    const kind = reference?.kind;
    const name = reference?.name;
    if ((kind !== "ConfigMap" && kind !== "Secret") || typeof name !== "string") continue;
    const candidates = model
      .objects()
      .filter((candidate) => candidate.ref?.kind === kind && candidate.ref.name === name && (!namespace || !candidate.ref.namespace || candidate.ref.namespace === namespace) && visibleFrom(candidate.path, cluster))
      .sort((a, b) => Number(ownCluster(b.path)) - Number(ownCluster(a.path)) || sharedSegments(b.path, doc.path) - sharedSegments(a.path, doc.path));
    const source = candidates[0];
    if (!source?.object) {
      // Absent from the repository is not absent from the cluster: another build or a person may create it.
      variables.unknownSources.push(`${kind}/${name}${reference.optional === true ? " (optional)" : ""}`);
      continue;
    }
    if (source.object.sops !== undefined) {
      variables.unknownSources.push(`${kind}/${name} (SOPS-encrypted)`);
      variables.inputs.push(source.path);
      continue;
    }
    variables.inputs.push(source.path);
    for (const [key, value] of Object.entries(dataOf(source.object, kind))) addVariable(variables, key, value, source, ["data", key]);
  }
  const inline = postBuild.substitute;
  if (inline !== null && typeof inline === "object" && !Array.isArray(inline)) {
    for (const [key, value] of Object.entries(inline as Record<string, unknown>)) {
      const path = ["spec", "postBuild", "substitute", key];
      if (typeof value !== "string") {
        // spec.postBuild.substitute is a map of strings in Flux's API: `REPLICAS: 3` makes the API server refuse
        // the whole Kustomization.
        variables.issues.push({
          rule: "postbuild-variables",
          path: doc.path,
          line: doc.valueLine(path) ?? doc.keyLine(path) ?? doc.startLine,
          message: `spec.postBuild.substitute.${key} is ${value === null ? "null" : `a ${Array.isArray(value) ? "list" : typeof value}`}, but Flux's API takes strings only: the API server refuses the Kustomization. Quote the value ("${String(value)}").`,
        });
      }
      addVariable(variables, key, String(value ?? ""), doc, path);
    }
  }
  return variables;
}

function dataOf(object: Record<string, unknown>, kind: string): Record<string, string> {
  // No prototype: a key named __proto__ is a variable like any other, as in Flux.
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  const data = object.data as Record<string, unknown> | undefined;
  for (const [key, value] of Object.entries(data ?? {})) out[key] = kind === "Secret" ? Buffer.from(String(value), "base64").toString("utf8") : String(value);
  // The API server folds stringData into data.
  if (kind === "Secret") for (const [key, value] of Object.entries((object.stringData ?? {}) as Record<string, unknown>)) out[key] = String(value);
  return out;
}

function addVariable(variables: Variables, key: string, value: string, doc: SourceDocument, path: string[]) {
  if (!VARIABLE_NAME.test(key)) {
    variables.issues.push({
      rule: "postbuild-variables",
      path: doc.path,
      line: doc.keyLine(path) ?? doc.startLine,
      message: `Variable name "${key}" is invalid: Flux requires names matching ^[_[:alpha:]][_[:alpha:][:digit:]]*$ and fails the whole build.`,
    });
  }
  // kustomize-controller strips newlines from every value.
  variables.values.set(key, value.replaceAll("\n", ""));
}

export interface SubstitutionOutcome {
  object: Record<string, unknown>;
  error?: string;
  /** The error is fleet-warden's limit, not Flux's: Flux would substitute. */
  tooCostly?: boolean;
  /** The substituted text does not parse: Flux fails the Kustomization ("post build failed"). */
  unparsable?: boolean;
  undefinedVariables: string[];
}

/**
 * Substitutes one rendered object (its YAML text) unless it opts out. Flux runs it only when the merged map is
 * non-empty; with a source the repository does not hold, that map may well be, so it runs then too: defaults
 * take effect (`${role:=cluster-admin}` is judged as cluster-admin), as they do in the cluster.
 * `serialize`/`parse` turn the object into the YAML text Flux substitutes and back.
 */
export function substituteObject(
  object: Record<string, unknown>,
  variables: Variables,
  serialize: (object: Record<string, unknown>) => string,
  parse: (text: string) => Record<string, unknown>,
): SubstitutionOutcome {
  if ((variables.values.size === 0 && variables.unknownSources.length === 0) || substitutionDisabled(object)) return { object, undefinedVariables: [] };
  let result: ReturnType<typeof substitute>;
  try {
    result = substitute(serialize(object), variables.values);
  } catch (error) {
    if (error instanceof SubstitutionError) return { object, error: error.message, ...(error instanceof SubstitutionTooCostly ? { tooCostly: true } : {}), undefinedVariables: [] };
    throw error;
  }
  try {
    return { object: parse(result.text), undefinedVariables: result.undefinedVariables };
  } catch (error) {
    // The parser's first line, without its position in the substituted text (which is no line of the repository).
    const reason = errorMessage(error).split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    return { object, error: reason, unparsable: true, undefinedVariables: result.undefinedVariables };
  }
}

export function substitutionDisabled(object: Record<string, unknown>): boolean {
  const metadata = (object.metadata ?? {}) as Record<string, Record<string, unknown> | undefined>;
  return metadata.labels?.[SUBSTITUTE_KEY] === "disabled" || metadata.annotations?.[SUBSTITUTE_KEY] === "disabled";
}
