// Pull request content (paths, names, values, kustomize output) in the Markdown GitHub renders: shown as written,
// never as markup. No link or image (a tracking pixel), no HTML (a forged `<!-- fleet-warden:... -->` marker),
// no @mention (a review comment notifies whoever it names), no way out of a code span or fence.

// Brackets escaped, parentheses and "!" are plain text: no link or image can start.
const MARKDOWN_PUNCTUATION = /[\\`*_[\]#|~]/g;
const HTML: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;" };

/** Prose: one line, every Markdown character escaped, HTML as text, `@` followed by a zero-width space. */
export function markdownText(text: string): string {
  return htmlText(text.replace(/\r\n|\r|\n/g, " ").replace(MARKDOWN_PUNCTUATION, (char) => `\\${char}`));
}

/** Text inside an HTML element (`<summary>`), where GitHub still links @mentions: HTML as text, `@` broken. */
export function htmlText(text: string): string {
  return text.replace(/[&<>]/g, (char) => HTML[char]!).replace(/@/g, "@\u200b");
}

/**
 * Prose whose `quoted` parts are code (the messages fleet-warden writes quote values so): each part is escaped as
 * what it is. A value holding a backtick only moves where code starts; every part stays inert.
 */
export function markdownWithCode(text: string): string {
  return text
    .split("`")
    .map((part, index) => (index % 2 === 0 ? markdownText(part) : inlineCode(part)))
    .join("");
}

/** A code span that holds any text: its backtick fence is longer than any run of backticks inside. */
export function inlineCode(text: string): string {
  const flat = text.replace(/\r\n|\r|\n/g, " ");
  const fence = "`".repeat(longestRun(flat) + 1);
  const pad = flat.startsWith("`") || flat.endsWith("`") ? " " : "";
  return `${fence}${pad}${flat}${pad}${fence}`;
}

/** A fenced code block that no line of `text` can close (at least `minimum` backticks). */
export function codeFence(info: string, text: string, minimum = 3): string {
  const fence = "`".repeat(Math.max(minimum, longestRun(text) + 1));
  return `${fence}${info}\n${text}\n${fence}`;
}

/** A code span in a table cell: GitHub splits cells at `|` even inside code spans. */
export function inlineCodeCell(text: string): string {
  return inlineCode(text).replace(/\|/g, "\\|");
}

function longestRun(text: string): number {
  let longest = 0;
  for (const run of text.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  return longest;
}
