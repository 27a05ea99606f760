// CODEOWNERS, with GitHub's semantics: gitignore-style patterns, the last matching line wins, a line without
// owners clears ownership, lines GitHub cannot use are skipped (and reported here as notices).
// Patterns are compiled by hand rather than with a gitignore library: GitHub departs from gitignore where it
// matters (`docs/*` does not reach into `docs/sub/`, which gitignore's "a matched folder takes its contents" would).
import { escapeRegExp } from "./values.js";

/** Where GitHub looks for CODEOWNERS, in order; the first one found is used. */
export const CODEOWNERS_PATHS = [".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"] as const;

/** `@login` (GitHub logins; `_` appears in enterprise managed users' logins). */
export const USER_OWNER = /^@[A-Za-z0-9_-]+$/;
/** `@org/team-slug`. */
export const TEAM_OWNER = /^@[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/;
const EMAIL_OWNER = /^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/;

export type OwnerKind = "user" | "team" | "email";

export function ownerKind(owner: string): OwnerKind | undefined {
  if (TEAM_OWNER.test(owner)) return "team";
  if (USER_OWNER.test(owner)) return "user";
  if (EMAIL_OWNER.test(owner)) return "email";
  return undefined;
}

export interface CodeownersRule {
  /** 1-based line in the CODEOWNERS file. */
  line: number;
  pattern: string;
  /** As written: `@user`, `@org/team` or an email. Empty: the line clears ownership. */
  owners: string[];
  regex: RegExp;
}

export interface CodeownersNotice {
  line: number;
  message: string;
}

export interface Codeowners {
  rules: CodeownersRule[];
  /** Lines GitHub would skip, and why. */
  notices: CodeownersNotice[];
}

export function parseCodeowners(text: string): Codeowners {
  const rules: CodeownersRule[] = [];
  const notices: CodeownersNotice[] = [];
  text.split("\n").forEach((raw, index) => {
    const line = index + 1;
    const content = raw.replace(/\r$/, "").trim();
    if (content === "" || content.startsWith("#")) return;
    const [pattern = "", ...rest] = splitUnescapedWhitespace(content);
    const commentAt = rest.findIndex((token) => token.startsWith("#"));
    const owners = commentAt === -1 ? rest : rest.slice(0, commentAt);
    const unsupported = unsupportedSyntax(pattern);
    if (unsupported) {
      notices.push({ line, message: `\`${pattern}\`: ${unsupported}; GitHub ignores this line, and so does fleet-warden` });
      return;
    }
    const invalid = owners.filter((owner) => ownerKind(owner) === undefined);
    if (invalid.length > 0) {
      const list = invalid.map((owner) => `\`${owner}\``).join(", ");
      notices.push({ line, message: `${list} ${invalid.length === 1 ? "is not an owner" : "are not owners"} (owners are @user, @org/team or an email address); GitHub ignores this line, and so does fleet-warden` });
      return;
    }
    rules.push({ line, pattern, owners, regex: patternRegex(pattern) });
  });
  return { rules, notices };
}

/**
 * The rule that decides `path` (the last matching line), or undefined when no line matches.
 * A matching rule with no owners means the path was deliberately left without an owner.
 */
export function ruleFor(codeowners: Codeowners, path: string): CodeownersRule | undefined {
  for (let index = codeowners.rules.length - 1; index >= 0; index--) {
    const rule = codeowners.rules[index]!;
    if (rule.regex.test(path)) return rule;
  }
  return undefined;
}

function splitUnescapedWhitespace(content: string): string[] {
  const tokens: string[] = [];
  let current = "";
  for (let index = 0; index < content.length; index++) {
    const char = content[index]!;
    if (char === "\\" && index + 1 < content.length) {
      // Keep the backslash: the pattern compiler needs it to tell `\*` from `*`.
      current += char + content[++index]!;
    } else if (char === " " || char === "\t") {
      if (current !== "") tokens.push(current);
      current = "";
    } else {
      current += char;
    }
  }
  if (current !== "") tokens.push(current);
  return tokens;
}

/** GitHub documents these gitignore features as not working in CODEOWNERS. */
function unsupportedSyntax(pattern: string): string | undefined {
  if (pattern.startsWith("!")) return "`!` negation is not supported in CODEOWNERS";
  if (/(^|[^\\])[[\]]/.test(pattern)) return "`[ ]` character ranges are not supported in CODEOWNERS";
  if (pattern.startsWith("\\#")) return "escaping a leading `#` is not supported in CODEOWNERS";
  if (pattern.includes("***")) return "three consecutive `*` are not a valid pattern";
  return undefined;
}

/**
 * gitignore-style pattern -> anchored regular expression over a repository-relative path (no leading slash).
 * - a leading `/`, or a `/` inside the pattern, anchors it at the repository root; otherwise it matches at any depth;
 * - a trailing `/` matches everything below that folder (never a file of that name);
 * - a pattern naming a file or folder also matches everything below it, except when its last segment is a lone
 *   `*` (GitHub: `docs/*` owns `docs/a.md`, not `docs/sub/b.md`);
 * - `*` and `?` never cross a `/`; `**` spans any number of folders; matching is case-sensitive.
 */
export function patternRegex(pattern: string): RegExp {
  let segments = pattern.split("/");
  if (segments[0] === "") {
    segments = segments.slice(1);
  } else if (segments.length === 1 || (segments.length === 2 && segments[1] === "")) {
    if (segments[0] !== "**") segments = ["**", ...segments];
  }
  if (segments.length > 1 && segments[segments.length - 1] === "") segments[segments.length - 1] = "**";
  if (segments.length === 0 || (segments.length === 1 && segments[0] === "")) return /(?!)/;

  const last = segments.length - 1;
  let source = "";
  let needSlash = false;
  segments.forEach((segment, index) => {
    if (segment === "**") {
      if (index === 0 && index === last) source += ".+";
      else if (index === 0) source += "(?:.+/)?";
      else if (index === last) source += "/.*";
      else source += "(?:/.+)?";
      needSlash = index !== 0;
      return;
    }
    if (needSlash) source += "/";
    needSlash = true;
    if (segment === "*") {
      source += "[^/]+";
      return;
    }
    source += segmentSource(segment);
    if (index === last) source += "(?:/.*)?";
  });
  return new RegExp(`^${source}$`, "s");
}

function segmentSource(segment: string): string {
  let source = "";
  for (let index = 0; index < segment.length; index++) {
    const char = segment[index]!;
    if (char === "\\" && index + 1 < segment.length) source += escapeRegExp(segment[++index]!);
    else if (char === "*") source += "[^/]*";
    else if (char === "?") source += "[^/]";
    else source += escapeRegExp(char);
  }
  return source;
}
