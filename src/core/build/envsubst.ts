// Flux's postBuild variable substitution: a port of fluxcd/pkg/envsubst (itself a fork of drone/envsubst),
// run as kustomize-controller runs it (non-strict: an unset variable expands to ""). The scanner and parser
// follow the Go code step by step so that what parses, what fails and what comes out match Flux exactly.

import { RE2JS } from "re2js";
import { escapeRegExp } from "../values.js";

export class SubstitutionError extends Error {}

/** Valid for Flux, but too costly for fleet-warden to evaluate: the rendered output cannot be checked. */
export class SubstitutionTooCostly extends SubstitutionError {}

const errors = {
  badSubstitution: "bad substitution",
  missingClosingBrace: "missing closing brace",
  variableName: "unable to parse variable name",
  funcSubstitution: "unable to parse substitution within function",
  defaultFunction: "unable to parse default function",
};

type Node = { type: "text"; value: string } | { type: "func"; param: string; name: string; args: Node[] } | { type: "list"; nodes: Node[] };

const EMPTY: Node = { type: "text", value: "" };

enum Token {
  Illegal,
  EOF,
  Ident,
  Lbrack,
  Rbrack,
}

const SCAN_IDENT = 1;
const SCAN_LBRACK = 2;
const SCAN_RBRACK = 4;
const SCAN_ESCAPE = 8;
const ESCAPE_DOLLAR = 1;
const ESCAPE_BACKSLASH = 2;
const ESCAPE_ALL = ESCAPE_DOLLAR | ESCAPE_BACKSLASH;

type Accept = (char: string, index: number) => boolean;

const acceptRune: Accept = () => true;
const acceptIdent: Accept = (c) => /^[\p{L}\p{Nd}_]$/u.test(c);
const acceptColon: Accept = (c) => c === ":";
const acceptOneHash: Accept = (c, i) => c === "#" && i === 1;
const acceptNotClosing: Accept = (c) => c !== "}";
const acceptHashFunc: Accept = (c, i) => c === "#" && i < 3;
const acceptPercentFunc: Accept = (c, i) => c === "%" && i < 3;
const acceptDefaultFunc: Accept = (c, i) => (i === 1 && c === ":") || (i === 2 && "=-?+".includes(c));
const acceptReplaceFunc: Accept = (c, i) => (i === 1 && c === "/") || (i === 2 && "/#%".includes(c));
const acceptOneEqual: Accept = (c, i) => i === 1 && c === "=";
const acceptOneColon: Accept = (c, i) => i === 1 && c === ":";
const rejectColonClose: Accept = (c) => c !== ":" && c !== "}";
const acceptSlash: Accept = (c) => c === "/";
const acceptNotSlash: Accept = (c) => c !== "/";
const acceptCasingFunc: Accept = (c, i) => (c === "," || c === "^") && i < 3;

/** scan.go: positions count UTF-16 code units here; every special character is ASCII, so tokens match Go's. */
class Scanner {
  buf = "";
  pos = 0;
  start = 0;
  width = 0;
  mode = 0;
  escapeChars = 0;
  accept: Accept = acceptRune;

  init(buf: string) {
    this.buf = buf;
    this.pos = 0;
    this.start = 0;
    this.width = 0;
  }

  read(): string {
    if (this.pos >= this.buf.length) {
      this.width = 0;
      return "";
    }
    const code = this.buf.codePointAt(this.pos)!;
    const char = String.fromCodePoint(code);
    this.width = char.length;
    this.pos += this.width;
    return char;
  }

  unread() {
    this.pos -= this.width;
  }

  /** Drops the character just read from the buffer (an escape character). */
  skip() {
    this.buf = this.buf.slice(0, this.pos - 1) + this.buf.slice(this.pos);
  }

  peek(): string {
    const char = this.read();
    this.unread();
    return char;
  }

  string(): string {
    return this.buf.slice(this.start, this.pos);
  }

  scan(): Token {
    this.start = this.pos;
    const char = this.read();
    if (char === "") return Token.EOF;
    if (this.scanLbrack(char)) return Token.Lbrack;
    if (this.scanRbrack(char)) return Token.Rbrack;
    if (this.scanIdent(char)) return Token.Ident;
    return Token.Illegal;
  }

  private scanIdent(char: string): boolean {
    if ((this.mode & SCAN_IDENT) === 0) return false;
    if (this.scanEscaped(char)) this.skip();
    else if (!this.accept(char, this.pos - this.start)) return false;
    for (;;) {
      const next = this.read();
      if (next === "") {
        this.unread();
        break;
      }
      if (this.scanLbrack(next)) {
        this.unread();
        this.unread();
        break;
      }
      if (this.scanEscaped(next)) {
        this.skip();
        continue;
      }
      if (!this.accept(next, this.pos - this.start)) {
        this.unread();
        break;
      }
    }
    return true;
  }

  private scanLbrack(char: string): boolean {
    if ((this.mode & SCAN_LBRACK) === 0) return false;
    if (char === "$") {
      if (this.read() === "{") return true;
      this.unread();
    }
    return false;
  }

  private scanRbrack(char: string): boolean {
    return (this.mode & SCAN_RBRACK) !== 0 && char === "}";
  }

  private scanEscaped(char: string): boolean {
    if ((this.mode & SCAN_ESCAPE) === 0) return false;
    if (char === "$" && (this.escapeChars & ESCAPE_DOLLAR) !== 0 && this.peek() === "$") return true;
    if (char === "\\" && (this.escapeChars & ESCAPE_BACKSLASH) !== 0) {
      const next = this.peek();
      return next === "/" || next === "\\";
    }
    return false;
  }
}

/** parse.go */
class Parser {
  private readonly scanner = new Scanner();

  parse(text: string): Node {
    this.scanner.init(text);
    return this.parseAny();
  }

  private parseAny(): Node {
    const s = this.scanner;
    s.accept = acceptRune;
    s.mode = SCAN_IDENT | SCAN_LBRACK | SCAN_ESCAPE;
    s.escapeChars = ESCAPE_DOLLAR;
    let left: Node;
    switch (s.scan()) {
      case Token.Ident:
        left = { type: "text", value: s.string() };
        break;
      case Token.EOF:
        return EMPTY;
      case Token.Lbrack:
        left = this.parseFunc();
        break;
      default:
        throw new SubstitutionError(errors.badSubstitution);
    }
    const right = this.parseAny();
    return right === EMPTY ? left : { type: "list", nodes: [left, right] };
  }

  private parseFunc(): Node {
    const s = this.scanner;
    s.escapeChars = ESCAPE_ALL;
    if (s.peek() === "#") return this.parseLenFunc();
    s.accept = acceptIdent;
    s.mode = SCAN_IDENT;
    if (s.scan() !== Token.Ident) throw new SubstitutionError(errors.variableName);
    const name = s.string();
    switch (s.peek()) {
      case ":":
        return this.parseDefaultOrSubstr(name);
      case "=":
        return this.parseDefaultFunc(name);
      case ",":
      case "^":
        return this.parseSimpleFunc(name, acceptCasingFunc);
      case "/":
        return this.parseReplaceFunc(name);
      case "#":
        return this.parseRemoveFunc(name, acceptHashFunc);
      case "%":
        return this.parseRemoveFunc(name, acceptPercentFunc);
    }
    s.accept = acceptIdent;
    s.mode = SCAN_RBRACK;
    if (s.scan() !== Token.Rbrack) throw new SubstitutionError(errors.missingClosingBrace);
    return { type: "func", param: name, name: "", args: [] };
  }

  private parseParam(accept: Accept, mode: number): Node {
    const s = this.scanner;
    s.accept = accept;
    s.mode = mode | SCAN_LBRACK;
    switch (s.scan()) {
      case Token.Lbrack:
        return this.parseFunc();
      case Token.Ident:
      case Token.Rbrack:
        return { type: "text", value: s.string() };
      default:
        throw new SubstitutionError(errors.funcSubstitution);
    }
  }

  private parseDefaultOrSubstr(name: string): Node {
    const s = this.scanner;
    s.read();
    const next = s.peek();
    s.unread();
    return "=-?+".includes(next) && next !== "" ? this.parseDefaultFunc(name) : this.parseSubstrFunc(name);
  }

  private funcName(accept: Accept, error: string): string {
    const s = this.scanner;
    s.accept = accept;
    s.mode = SCAN_IDENT;
    if (s.scan() !== Token.Ident) throw new SubstitutionError(error);
    return s.string();
  }

  private parseSubstrFunc(param: string): Node {
    const s = this.scanner;
    const node = { type: "func" as const, param, name: this.funcName(acceptOneColon, errors.badSubstitution), args: [] as Node[] };
    node.args.push(this.parseParam(rejectColonClose, SCAN_IDENT));
    s.accept = acceptColon;
    s.mode = SCAN_IDENT | SCAN_RBRACK;
    const token = s.scan();
    if (token === Token.Rbrack) return node;
    if (token !== Token.Ident) throw new SubstitutionError(errors.badSubstitution);
    node.args.push(this.parseParam(acceptNotClosing, SCAN_IDENT));
    this.consumeRbrack();
    return node;
  }

  private parseRemoveFunc(param: string, accept: Accept): Node {
    const node = { type: "func" as const, param, name: this.funcName(accept, errors.badSubstitution), args: [] as Node[] };
    node.args.push(this.parseParam(acceptNotClosing, SCAN_IDENT));
    this.consumeRbrack();
    return node;
  }

  private parseReplaceFunc(param: string): Node {
    const s = this.scanner;
    const node = { type: "func" as const, param, name: this.funcName(acceptReplaceFunc, errors.badSubstitution), args: [] as Node[] };
    node.args.push(this.parseParam(acceptNotSlash, SCAN_IDENT | SCAN_ESCAPE));
    s.accept = acceptSlash;
    s.mode = SCAN_IDENT;
    if (s.scan() !== Token.Ident) throw new SubstitutionError(errors.badSubstitution);
    if (s.peek() === "}") {
      this.consumeRbrack();
      return node;
    }
    node.args.push(this.parseParam(acceptNotClosing, SCAN_IDENT | SCAN_ESCAPE));
    this.consumeRbrack();
    return node;
  }

  private parseDefaultFunc(param: string): Node {
    const s = this.scanner;
    const accept = s.peek() === "=" ? acceptOneEqual : acceptDefaultFunc;
    const node = { type: "func" as const, param, name: this.funcName(accept, errors.defaultFunction), args: [] as Node[] };
    for (;;) {
      if (s.peek() === "}") {
        this.consumeRbrack();
        return node;
      }
      node.args.push(this.parseParam(acceptNotClosing, SCAN_IDENT));
    }
  }

  private parseSimpleFunc(param: string, accept: Accept): Node {
    const node = { type: "func" as const, param, name: this.funcName(accept, errors.badSubstitution), args: [] };
    this.consumeRbrack();
    return node;
  }

  private parseLenFunc(): Node {
    const s = this.scanner;
    const name = this.funcName(acceptOneHash, errors.badSubstitution);
    s.accept = acceptIdent;
    s.mode = SCAN_IDENT;
    if (s.scan() !== Token.Ident) throw new SubstitutionError(errors.badSubstitution);
    const param = s.string();
    this.consumeRbrack();
    return { type: "func", param, name, args: [] };
  }

  private consumeRbrack() {
    this.scanner.mode = SCAN_RBRACK;
    if (this.scanner.scan() !== Token.Rbrack) throw new SubstitutionError(errors.badSubstitution);
  }
}

const DEFAULT_FUNCS = new Set(["=", ":=", ":-", ":?", ":+", "-", "+"]);

export interface SubstitutionResult {
  text: string;
  /** Variables referenced without a default and not defined: Flux silently makes them "". */
  undefinedVariables: string[];
}

/** Evaluates `text` as kustomize-controller does; throws SubstitutionError for a syntax Flux rejects. */
export function substitute(text: string, vars: ReadonlyMap<string, string>): SubstitutionResult {
  const root = new Parser().parse(text);
  const undefinedVariables = new Set<string>();
  const budget = { trimSteps: TRIM_STEP_BUDGET };
  const evaluate = (node: Node): string => {
    if (node.type === "text") return node.value;
    if (node.type === "list") return node.nodes.map(evaluate).join("");
    const args = node.args.map(evaluate);
    const value = vars.get(node.param);
    if (value === undefined && !(DEFAULT_FUNCS.has(node.name) && args.length > 0)) undefinedVariables.add(node.param);
    return applyFunc(node.name, value ?? "", args, budget);
  };
  return { text: evaluate(root), undefinedVariables: [...undefinedVariables] };
}

/** template.go lookupFunc + funcs.go */
function applyFunc(name: string, s: string, args: string[], budget: TrimBudget): string {
  switch (name) {
    case ",":
      return s === "" ? s : firstChar(s).toLowerCase() + s.slice(firstChar(s).length);
    case ",,":
      return s.toLowerCase();
    case "^":
      return s === "" ? s : firstChar(s).toUpperCase() + s.slice(firstChar(s).length);
    case "^^":
      return s.toUpperCase();
    case "#":
      return args.length === 0 ? String(Buffer.byteLength(s)) : trimShortest(s, args[0]!, budget);
    case "##":
      return trimLongest(s, args[0]!, budget);
    case "%":
      return reverse(trimShortest(reverse(s), reverse(args[0]!), budget));
    case "%%":
      return reverse(trimLongest(reverse(s), reverse(args[0]!), budget));
    case ":":
      return substring(s, args);
    case "/#":
      return args.length === 2 && s.startsWith(args[0]!) ? args[1]! + s.slice(args[0]!.length) : s;
    case "/%":
      return args.length === 2 && s.endsWith(args[0]!) ? s.slice(0, s.length - args[0]!.length) + args[1]! : s;
    case "/":
      return args.length === 0 ? s : s.replace(args[0]!, args[1] ?? "");
    case "//":
      return args.length === 0 ? s : s.split(args[0]!).join(args[1] ?? "");
    default:
      return s === "" && args.length > 0 ? args.join("") : s;
  }
}

function firstChar(s: string): string {
  return String.fromCodePoint(s.codePointAt(0)!);
}

function reverse(s: string): string {
  return [...s].reverse().join("");
}

function substring(s: string, args: string[]): string {
  const integer = (text: string) => (/^[+-]?\d+$/.test(text) ? Number(text) : undefined);
  let pos = integer(args[0]!);
  if (pos === undefined) return s;
  if (pos < 0) pos = Math.max(0, s.length + pos);
  if (args.length === 1) return pos < s.length ? s.slice(pos) : "";
  const length = integer(args[1]!);
  if (length === undefined) return s;
  if (pos + length >= s.length) return pos < s.length ? s.slice(pos) : "";
  return s.slice(pos, pos + length);
}

function trimShortest(s: string, pattern: string, budget: TrimBudget): string {
  const lengths = matchingPrefixLengths(s, pattern, budget);
  return lengths && lengths.length > 0 ? s.slice(lengths[0]) : s;
}

function trimLongest(s: string, pattern: string, budget: TrimBudget): string {
  const lengths = matchingPrefixLengths(s, pattern, budget);
  return lengths && lengths.length > 0 ? s.slice(lengths.at(-1)) : s;
}

/**
 * Pattern positions times value characters, per substitution (~0.5 s): a long pattern against a long value, or many
 * trims, would otherwise hold the event loop for hours (kustomize-controller's matcher is slower still).
 */
const TRIM_STEP_BUDGET = 20_000_000;

interface TrimBudget {
  trimSteps: number;
}

/** `*`, or one character matched by an RE2 class (the value is pull request content: RE2, not a RegExp). */
type GlobToken = "*" | { matcher: RE2JS; seen: Map<string, boolean> };

/**
 * The lengths of the non-empty prefixes of `s` that Go's path.Match(pattern, prefix) accepts (`*` and `?` never
 * match "/"), shortest first; undefined for a malformed pattern. One pass over `s` with the set of pattern
 * positions reached: testing each prefix on its own is quadratic, minutes on a 200,000-character value.
 */
function matchingPrefixLengths(s: string, pattern: string, budget: TrimBudget): number[] | undefined {
  const tokens = globTokens(pattern);
  if (!tokens) return undefined;
  const closure = (states: Set<number>) => {
    for (const state of states) if (tokens[state] === "*") states.add(state + 1);
    return states;
  };
  const lengths: number[] = [];
  let states = closure(new Set([0]));
  let length = 0;
  for (const char of s) {
    budget.trimSteps -= states.size;
    if (budget.trimSteps < 0) throw new SubstitutionTooCostly("${var#pattern} and ${var%pattern} trims here are too costly to evaluate (a long pattern against a long value)");
    const next = new Set<number>();
    for (const state of states) {
      const token = tokens[state];
      if (token === undefined) continue;
      if (token === "*") {
        if (char !== "/") next.add(state);
      } else if (matchesChar(token, char)) next.add(state + 1);
    }
    states = closure(next);
    length += char.length;
    if (states.size === 0) break;
    if (states.has(tokens.length)) lengths.push(length);
  }
  return lengths;
}

function matchesChar(token: Exclude<GlobToken, "*">, char: string): boolean {
  let result = token.seen.get(char);
  if (result === undefined) token.seen.set(char, (result = token.matcher.testExact(char)));
  return result;
}

function globTokens(pattern: string): GlobToken[] | undefined {
  const tokens: GlobToken[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    let source: string;
    if (c === "*") {
      tokens.push("*");
      continue;
    } else if (c === "?") source = "[^/]";
    else if (c === "\\") {
      if (i + 1 >= pattern.length) return undefined;
      source = escapeRegExp(pattern[++i]!);
    } else if (c === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end === -1) return undefined;
      const body = pattern.slice(i + 1, end).replace(/^\^/, "!");
      source = `[${body.startsWith("!") ? `^${body.slice(1)}` : body}]`;
      i = end;
    } else source = escapeRegExp(c);
    try {
      tokens.push({ matcher: RE2JS.compile(`^(?:${source})$`, RE2JS.DOTALL), seen: new Map() });
    } catch {
      return undefined;
    }
  }
  return tokens;
}
