// YAML parsing for hostile input: size, document, alias and depth limits; every failure becomes an error with a line.
import { isCollection, isMap, isPair, isScalar, LineCounter, parseAllDocuments, visit, type Document, type Node, type Tags } from "yaml";
import { lowerBound } from "./values.js";

export interface YamlLimits {
  maxBytes: number;
  maxDocuments: number;
  maxDepth: number;
  maxAliasCount: number;
}

export const defaultYamlLimits: YamlLimits = {
  maxBytes: 2 * 1024 * 1024,
  maxDocuments: 1000,
  maxDepth: 64,
  maxAliasCount: 100,
};

export type YamlPath = ReadonlyArray<string | number>;

export interface ParsedDocument {
  index: number;
  value: unknown;
  startLine: number;
  endLine: number;
  /** Line of the key at `path` (or of the value when the last step is a sequence index). */
  keyLine(path: YamlPath): number | undefined;
  /** Line where the value at `path` starts. */
  valueLine(path: YamlPath): number | undefined;
  /** Last line of the value at `path`. */
  valueEndLine(path: YamlPath): number | undefined;
  /** What other YAML readers may read otherwise in this document (see readerHazard), or nothing. */
  readerHazard(): YamlError | undefined;
}

export interface YamlError {
  line: number;
  message: string;
}

export interface ParsedYaml {
  documents: ParsedDocument[];
  error?: YamlError;
}

const NUL = String.fromCharCode(0);

/**
 * YAML as Go's libraries read it (goyaml.v2, which Flux's postBuild and sigs.k8s.io/yaml use): YAML 1.1 booleans
 * (`on`, `yes`) and octals (`0644`), but no timestamps and no base-60 numbers.
 */
export const GO_YAML = {
  version: "1.1",
  customTags: (tags: Tags) =>
    tags.filter((tag) => (typeof tag === "string" ? !["timestamp", "intTime", "floatTime"].includes(tag) : tag.tag !== "tag:yaml.org,2002:timestamp" && tag.format !== "TIME")),
} as const;

/** `schema`: how scalars resolve; YAML 1.2's core schema unless GO_YAML is given. */
export function parseYamlSafely(text: string, path: string, limits: YamlLimits = defaultYamlLimits, schema?: typeof GO_YAML): ParsedYaml {
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > limits.maxBytes) {
    return failure(1, `${path} is ${formatBytes(bytes)}, over the ${formatBytes(limits.maxBytes)} limit for a manifest`);
  }
  if (text.includes(NUL)) return failure(1, `${path} is binary (it contains NUL bytes), not YAML`);
  const tooDeep = findExcessiveNesting(text, limits.maxDepth);
  if (tooDeep) return failure(tooDeep, `nesting deeper than ${limits.maxDepth} levels`);

  const lineCounter = new LineCounter();
  // kustomize's YAML reader (yaml.v3) also breaks lines at a lone CR, NEL, LS or PS: read as it reads them, each
  // one a line feed (offsets unchanged), while lines are still counted as GitHub shows them.
  let lineOf = (offset: number) => lineCounter.linePos(offset).line;
  let docs: Document.Parsed[];
  try {
    const parse = (source: string) => parseAllDocuments(source, { ...schema, lineCounter, merge: true, uniqueKeys: true, prettyErrors: false }) as Document.Parsed[];
    docs = parse(text);
    if (YAML_11_BREAK.test(text)) {
      // An escaped one joins the string's lines where YAML 1.2 sees an invalid escape; any other is a line feed.
      const joined = Array.isArray(docs) ? withoutEscapedYaml11Breaks(text, docs) : text;
      const normalized = joined.replace(YAML_11_BREAKS, "\n");
      lineOf = lineFeedCounter(joined);
      // kustomize splits documents at line feeds only: a document marker against such a break is no split to it.
      const atMarker = breakAtDocumentMarker(joined, normalized);
      if (atMarker !== undefined) return failure(lineOf(atMarker), "a document marker (--- or ...) next to a lone CR, NEL (U+0085), LS (U+2028) or PS (U+2029): kustomize does not split documents there (it drops or refuses what follows), so the file cannot be read as Flux reads it. Use line feeds around it.");
      const deeper = findExcessiveNesting(normalized, limits.maxDepth);
      if (deeper) return failure(deeper, `nesting deeper than ${limits.maxDepth} levels`);
      docs = parse(normalized);
    }
  } catch (error) {
    return failure(1, `cannot parse: ${errorMessage(error)}`);
  }
  if (!Array.isArray(docs)) return { documents: [] }; // an empty stream
  if (docs.length > limits.maxDocuments) {
    return failure(lineOf(docs[limits.maxDocuments]!.range[0]), `more than ${limits.maxDocuments} YAML documents in one file`);
  }

  const documents: ParsedDocument[] = [];
  const mayHaveCollectionKeys = /[?[{]/.test(text);
  const mayHaveAliases = text.includes("*");
  // Only a `%` directive, a `!` tag or a `<<` key is a reader hazard: most files skip the walk.
  const mayHaveHazards = /[%!]|<</.test(text);
  for (const [index, doc] of docs.entries()) {
    const firstError = doc.errors[0];
    if (firstError) return failure(lineOf(firstError.pos[0]), firstError.message.split("\n")[0] ?? "invalid YAML");
    // Only `?` keys and flow collections can make a collection key: most manifests skip the walk.
    const collectionKey = mayHaveCollectionKeys ? findCollectionKey(doc) : undefined;
    if (collectionKey !== undefined) return failure(lineOf(collectionKey), "a mapping key that is itself a mapping or a sequence: Kubernetes accepts only scalar keys");
    const recursiveAlias = mayHaveAliases ? findRecursiveAlias(doc) : undefined;
    if (recursiveAlias !== undefined) return failure(lineOf(recursiveAlias), "an alias inside the value it names (a recursive alias): Flux cannot decode it");
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: limits.maxAliasCount });
    } catch (error) {
      return failure(lineOf(doc.range[0]), `document ${index + 1}: ${errorMessage(error)}`);
    }
    if (value === null || value === undefined) continue; // an empty document (`---` followed by nothing or comments)
    if (depthOf(value) > limits.maxDepth) return failure(lineOf(doc.range[0]), `nesting deeper than ${limits.maxDepth} levels`);
    documents.push(describeDocument(doc, index, value, lineOf, mayHaveHazards));
  }
  return { documents };
}

/** A line break to yaml.v3 (YAML 1.1), kustomize's reader, that is none to YAML 1.2: a lone CR, NEL, LS or PS. */
const YAML_11_BREAK = /\r(?!\n)|[\u0085\u2028\u2029]/;
const YAML_11_BREAKS = new RegExp(YAML_11_BREAK.source, "g");

/** An escaped one in a double-quoted string, with the blanks after it, when the string goes on on the same line. */
const ESCAPED_YAML_11_BREAK = /(?:\r(?!\n)|[\u0085\u2028\u2029])[ \t]*(?=[^\r\n\u0085\u2028\u2029])/y;

/**
 * The text with each escaped YAML 1.1 line break of a double-quoted string joined as yaml.v3 joins it (the blanks
 * after it dropped), when the string goes on on the same line. To YAML 1.2 the backslash is an invalid escape, and a
 * Kustomization Flux applies would be a parse error here. No line feed is added or removed.
 */
function withoutEscapedYaml11Breaks(text: string, docs: readonly Document.Parsed[]): string {
  const cuts: Array<{ start: number; end: number }> = [];
  for (const error of docs.flatMap((doc) => doc.errors)) {
    const start = error.pos[0];
    if (error.code !== "BAD_DQ_ESCAPE" || text[start] !== "\\") continue;
    ESCAPED_YAML_11_BREAK.lastIndex = start + 1;
    const found = ESCAPED_YAML_11_BREAK.exec(text);
    if (found) cuts.push({ start, end: start + 1 + found[0].length });
  }
  let joined = "";
  let from = 0;
  for (const cut of cuts.sort((a, b) => a.start - b.start)) {
    joined += text.slice(from, cut.start);
    from = cut.end;
  }
  return joined + text.slice(from);
}

/** The offset of a YAML 1.1 break that begins or ends a document marker line, once breaks are line feeds. */
function breakAtDocumentMarker(joined: string, normalized: string): number | undefined {
  const marker = /^(?:---|\.\.\.)(?:[ \t]|$)/;
  for (const found of joined.matchAll(YAML_11_BREAKS)) {
    const at = found.index;
    const before = normalized.slice(normalized.lastIndexOf("\n", at - 1) + 1, at);
    const end = normalized.indexOf("\n", at + 1);
    const after = normalized.slice(at + 1, end === -1 ? undefined : end);
    if (marker.test(before) || marker.test(after)) return at;
  }
  return undefined;
}

/** The line of an offset, counting line feeds only (as GitHub numbers a file's lines). */
function lineFeedCounter(text: string): (offset: number) => number {
  const feeds: number[] = [];
  for (let index = text.indexOf("\n"); index !== -1; index = text.indexOf("\n", index + 1)) feeds.push(index);
  return (offset) => lowerBound(feeds, offset) + 1;
}

function describeDocument(doc: Document.Parsed, index: number, value: unknown, lineOf: (offset: number) => number, mayHaveHazard: boolean): ParsedDocument {
  const contents = doc.contents as Node;
  let hazard: YamlError | null | undefined;
  const nodeAt = (path: YamlPath): Node | undefined => (path.length === 0 ? contents : (doc.getIn(path, true) as Node | undefined));
  const startOffset = contents.range?.[0] ?? doc.range[0];
  const endOffset = Math.max(startOffset, (contents.range?.[1] ?? doc.range[1]) - 1);
  return {
    index,
    value,
    startLine: lineOf(startOffset),
    endLine: lineOf(endOffset),
    keyLine(path) {
      if (path.length === 0) return lineOf(startOffset);
      const parent = nodeAt(path.slice(0, -1));
      const last = path[path.length - 1];
      if (isMap(parent)) {
        const pair = parent.items.find((item) => isPair(item) && isScalar(item.key) && item.key.value === last);
        const key = pair?.key as Node | undefined;
        if (key?.range) return lineOf(key.range[0]);
        return undefined;
      }
      return this.valueLine(path);
    },
    valueLine(path) {
      const node = nodeAt(path);
      return node?.range ? lineOf(node.range[0]) : undefined;
    },
    valueEndLine(path) {
      const node = nodeAt(path);
      return node?.range ? lineOf(Math.max(node.range[0], node.range[1] - 1)) : undefined;
    },
    readerHazard: () => {
      if (!mayHaveHazard) return undefined;
      hazard ??= readerHazard(doc, lineOf) ?? null;
      return hazard ?? undefined;
    },
  };
}

/**
 * What Go's YAML readers (kustomize's, Flux's) may read otherwise than this parser: a directive (`%YAML 1.1` changes
 * how scalars resolve), an explicit tag (`!!binary` decodes base64 into other bytes, a custom tag into anything) and a
 * `<<` merge key (goyaml.v2 lets merged keys replace those written beside it). Harmless in a manifest, whose rendering
 * is judged; in a file that tells kustomize what to read, a kustomization or a generator's config, it would have
 * kustomize and Flux read another file than the one judged.
 */
function readerHazard(doc: Document.Parsed, lineOf: (offset: number) => number): YamlError | undefined {
  if (doc.directives?.yaml.explicit || Object.keys(doc.directives?.tags ?? {}).some((handle) => handle !== "!!")) {
    return { line: lineOf(doc.range[0]), message: "a YAML directive (%YAML or %TAG): it changes how Go's YAML readers resolve the document" };
  }
  let hazard: YamlError | undefined;
  visit(doc, {
    Node(_, node) {
      if (node.tag === undefined) return undefined;
      const tag = node.tag.replace(/^tag:yaml\.org,2002:/, "!!");
      hazard = { line: lineOf(node.range?.[0] ?? doc.range[0]), message: `an explicit YAML tag (${tag}): Go's YAML readers resolve tags otherwise (\`!!binary\` decodes base64 into other bytes)` };
      return visit.BREAK;
    },
    Pair(_, pair) {
      if (!isScalar(pair.key) || typeof pair.key.value !== "symbol") return undefined;
      const offset = pair.key.range?.[0] ?? doc.range[0];
      hazard = { line: lineOf(offset), message: "a YAML merge key (<<): goyaml.v2, which kustomize and Flux decode kustomizations with, lets merged keys replace the ones written beside them" };
      return visit.BREAK;
    },
  });
  return hazard;
}

/**
 * A cheap scan before parsing: flow brackets, indentation or compact block indicators deeper than the
 * limit would make the parser recurse that deep (and a stack overflow inside it can take the process
 * down with it). Returns the line where it happens, or 0.
 */
function findExcessiveNesting(text: string, maxDepth: number): number {
  let depth = 0;
  let line = 1;
  let quote: string | undefined;
  let lineStart = true;
  let indent = 0;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === "\n") {
      line++;
      lineStart = true;
      indent = 0;
      quote = undefined; // a quoted scalar spanning lines is rare; resynchronise rather than mis-count
      continue;
    }
    if (lineStart) {
      // Block nesting needs at least one more column per level; compact indicators (`- - - x`, `? ? x`)
      // nest on one line, so they count as columns too.
      const compactIndicator = (char === "-" || char === "?" || char === ":") && (i + 1 === text.length || " \t\r\n".includes(text[i + 1]!));
      if (char === " " || compactIndicator) {
        if (++indent > maxDepth * 8) return line;
        continue;
      }
      lineStart = false;
    }
    if (quote) {
      if (char === quote) quote = undefined;
      continue;
    }
    if (char === "#" && (i === 0 || text[i - 1] === " " || text[i - 1] === "\t")) {
      while (i + 1 < text.length && text[i + 1] !== "\n") i++;
    } else if (char === '"' || char === "'") {
      quote = char;
    } else if (char === "[" || char === "{") {
      if (++depth > maxDepth) return line;
    } else if (char === "]" || char === "}") {
      depth = Math.max(0, depth - 1);
    }
  }
  return 0;
}

/**
 * The offset of the first mapping key that is a collection (`? [a]: b`, `{[a]: b}`), or undefined.
 * Kubernetes rejects them, and converting them to JavaScript stringifies every nested key: a few
 * kilobytes of `? ? ? …` would cost seconds.
 */
function findCollectionKey(doc: Document.Parsed): number | undefined {
  let offset: number | undefined;
  visit(doc, {
    Pair(_, pair) {
      if (!isCollection(pair.key)) return undefined;
      offset = pair.key.range?.[0] ?? 0;
      return visit.BREAK;
    },
  });
  return offset;
}

/** The offset of the first alias inside the node it refers to, or undefined: its value would contain itself. */
function findRecursiveAlias(doc: Document.Parsed): number | undefined {
  let offset: number | undefined;
  visit(doc, {
    Alias(_, alias, path) {
      const source = alias.resolve(doc);
      if (!source || !path.includes(source)) return undefined;
      offset = alias.range?.[0] ?? 0;
      return visit.BREAK;
    },
  });
  return offset;
}

/** Depth of a parsed value, iteratively (an alias can make a deep value out of a shallow text). */
export function depthOf(value: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== "object" || seen.has(current)) continue;
    seen.add(current);
    max = Math.max(max, depth);
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return max;
}

function failure(line: number, message: string): ParsedYaml {
  return { documents: [], error: { line, message } };
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}
