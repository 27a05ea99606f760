// Flux image-automation markers: `# {"$imagepolicy": "<namespace>:<name>[:tag|:name|:digest]"}` on the line of
// the scalar that image-automation-controller rewrites. Pure text parsing, shared by the image-setter-marker rule
// and the image-update auto-merge classifier.
import type { FleetModel, SourceDocument } from "./fleet.js";

/** What the marked scalar holds: the whole image reference, or only its tag, name or digest. */
export type ImageMarkerField = "image" | "tag" | "name" | "digest";

export interface ImagePolicyRef {
  namespace: string;
  name: string;
}

export interface ImageMarker {
  /** 1-based line of the marked scalar (and of its marker). */
  line: number;
  policy: ImagePolicyRef;
  field: ImageMarkerField;
  /** The mapping key of the scalar (`image`, `newTag` …); undefined for a sequence item. */
  key?: string;
  /** The scalar the controller rewrites, unquoted. */
  value: string;
}

/** A line whose comment mentions `$imagepolicy` but is not a marker image-automation-controller would apply. */
export interface ImageMarkerProblem {
  line: number;
  message: string;
}

export interface ImageMarkerScan {
  markers: ImageMarker[];
  problems: ImageMarkerProblem[];
}

const MARKER_KEY = "$imagepolicy";
const FIELDS: ReadonlySet<string> = new Set(["tag", "name", "digest"]);
/** Kubernetes object names and namespaces (RFC 1123 subdomain). */
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/** `key: value`, `- value`, `- key: value`, with a plain, single- or double-quoted key. */
const SCALAR_LINE = /^\s*(?:-\s+)?(?:("[^"]*"|'[^']*'|[^\s"'#][^#]*?):(?:\s+|$))?(.*)$/;

/** Every image-policy marker of a file, given its lines (without terminators), in line order. */
export function findImageMarkers(lines: readonly string[]): ImageMarkerScan {
  const scan: ImageMarkerScan = { markers: [], problems: [] };
  lines.forEach((text, index) => {
    const parsed = parseImageMarkerLine(text, index + 1);
    if (parsed && "message" in parsed) scan.problems.push(parsed);
    else if (parsed) scan.markers.push(parsed);
  });
  return scan;
}

/** The marker on one line; undefined when the line's comment does not mention `$imagepolicy`. */
export function parseImageMarkerLine(text: string, line: number): ImageMarker | ImageMarkerProblem | undefined {
  const commentStart = commentStartOf(text);
  if (commentStart === undefined) return undefined;
  const comment = text.slice(commentStart + 1).trim();
  if (!comment.includes(MARKER_KEY)) return undefined;
  const problem = (message: string): ImageMarkerProblem => ({ line, message });

  let json: unknown;
  try {
    json = JSON.parse(comment);
  } catch {
    return problem(`the image policy marker is not valid JSON; expected # {"${MARKER_KEY}": "<namespace>:<name>"}`);
  }
  const setting = json !== null && typeof json === "object" && !Array.isArray(json) ? (json as Record<string, unknown>)[MARKER_KEY] : undefined;
  if (typeof setting !== "string") return problem(`the image policy marker needs a string "${MARKER_KEY}" value naming "<namespace>:<name>"`);

  const [namespace = "", name = "", field, ...rest] = setting.split(":");
  if (rest.length > 0 || !OBJECT_NAME.test(namespace) || !OBJECT_NAME.test(name)) {
    return problem(`the image policy marker "${setting}" must be "<namespace>:<name>", optionally followed by :tag, :name or :digest`);
  }
  if (field !== undefined && !FIELDS.has(field)) {
    return problem(`the image policy marker "${setting}" ends in ":${field}"; only :tag, :name and :digest exist`);
  }

  const scalar = SCALAR_LINE.exec(text.slice(0, commentStart));
  const rawKey = scalar?.[1];
  const value = unquote((scalar?.[2] ?? "").trim());
  if (value === "") return problem(`the image policy marker "${setting}" sits on a line without a value to update`);
  return {
    line,
    policy: { namespace, name },
    field: (field ?? "image") as ImageMarkerField,
    ...(rawKey !== undefined ? { key: unquote(rawKey) } : {}),
    value,
  };
}

/**
 * ImagePolicy documents a marker can name: same name, in the marker's namespace, or with no namespace in
 * their source (the namespace is then set by whatever renders them, e.g. a kustomization's `namespace:`).
 */
export function findImagePolicies(model: FleetModel, policy: ImagePolicyRef): SourceDocument[] {
  return model
    .fluxObjectsOfKind("ImagePolicy")
    .filter((doc) => doc.ref?.name === policy.name && (doc.ref.namespace === undefined || doc.ref.namespace === policy.namespace));
}

/** Index of the `#` that starts the line's comment, outside quotes; undefined when there is none. */
function commentStartOf(text: string): number | undefined {
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quote) {
      if (char === quote) quote = undefined;
    } else if ((char === '"' || char === "'") && (i === 0 || /[\s[{,]/.test(text[i - 1]!))) {
      // Only a quote that opens a scalar counts: `it's` in a plain scalar does not start a quoted string.
      quote = char;
    } else if (char === "#" && (i === 0 || text[i - 1] === " " || text[i - 1] === "\t")) {
      return i;
    }
  }
  return undefined;
}

function unquote(text: string): string {
  const quoted = /^"(.*)"$/.exec(text) ?? /^'(.*)'$/.exec(text);
  return quoted ? quoted[1]! : text;
}
