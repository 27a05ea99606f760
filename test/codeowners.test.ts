import { describe, expect, it } from "vitest";
import { parseCodeowners, ruleFor } from "../src/core/codeowners.js";

/** The owners GitHub would pick for `path`: undefined when no line matches, [] when the matching line clears ownership. */
function ownersOf(text: string, path: string): string[] | undefined {
  return ruleFor(parseCodeowners(text), path)?.owners;
}

// Every example of GitHub's "About code owners" page (docs.github.com, "Example of a CODEOWNERS file" and
// "CODEOWNERS and branch protection"), each on its own, with the files its comment says it owns or does not own.
const documentedExamples: Array<{ example: string; lines: string; path: string; owners: string[] | undefined }> = [
  { example: "* default owners", lines: "*       @global-owner1 @global-owner2", path: "README.md", owners: ["@global-owner1", "@global-owner2"] },
  { example: "* default owners", lines: "*       @global-owner1 @global-owner2", path: "deeply/nested/file.yaml", owners: ["@global-owner1", "@global-owner2"] },
  { example: "*.js with an inline comment", lines: "*.js    @js-owner #This is an inline comment.", path: "index.js", owners: ["@js-owner"] },
  { example: "*.js with an inline comment", lines: "*.js    @js-owner #This is an inline comment.", path: "src/lib/index.js", owners: ["@js-owner"] },
  { example: "*.js with an inline comment", lines: "*.js    @js-owner #This is an inline comment.", path: "src/index.jsx", owners: undefined },
  { example: "*.go email owner", lines: "*.go docs@example.com", path: "cmd/tool/main.go", owners: ["docs@example.com"] },
  { example: "*.txt team owner", lines: "*.txt @octo-org/octocats", path: "notes/todo.txt", owners: ["@octo-org/octocats"] },
  { example: "/build/logs/", lines: "/build/logs/ @doctocat", path: "build/logs/out.log", owners: ["@doctocat"] },
  { example: "/build/logs/", lines: "/build/logs/ @doctocat", path: "build/logs/2026/01/out.log", owners: ["@doctocat"] },
  { example: "/build/logs/", lines: "/build/logs/ @doctocat", path: "tools/build/logs/out.log", owners: undefined },
  { example: "docs/*", lines: "docs/*  docs@example.com", path: "docs/getting-started.md", owners: ["docs@example.com"] },
  { example: "docs/*", lines: "docs/*  docs@example.com", path: "docs/build-app/troubleshooting.md", owners: undefined },
  { example: "apps/ anywhere", lines: "apps/ @octocat", path: "apps/web/deployment.yaml", owners: ["@octocat"] },
  { example: "apps/ anywhere", lines: "apps/ @octocat", path: "clusters/staging/apps/release.yaml", owners: ["@octocat"] },
  { example: "apps/ anywhere", lines: "apps/ @octocat", path: "myapps/release.yaml", owners: undefined },
  { example: "/docs/", lines: "/docs/ @doctocat", path: "docs/build-app/troubleshooting.md", owners: ["@doctocat"] },
  { example: "/docs/", lines: "/docs/ @doctocat", path: "src/docs/index.md", owners: undefined },
  { example: "/scripts/ two owners", lines: "/scripts/ @doctocat @octocat", path: "scripts/deploy.sh", owners: ["@doctocat", "@octocat"] },
  { example: "**/logs", lines: "**/logs @octocat", path: "build/logs/out.log", owners: ["@octocat"] },
  { example: "**/logs", lines: "**/logs @octocat", path: "scripts/logs/run.txt", owners: ["@octocat"] },
  { example: "**/logs", lines: "**/logs @octocat", path: "deeply/nested/logs/a/b.txt", owners: ["@octocat"] },
  { example: "**/logs", lines: "**/logs @octocat", path: "logs/root.txt", owners: ["@octocat"] },
  { example: "/apps/ minus /apps/github", lines: "/apps/ @octocat\n/apps/github", path: "apps/main/index.js", owners: ["@octocat"] },
  { example: "/apps/ minus /apps/github", lines: "/apps/ @octocat\n/apps/github", path: "apps/github/index.js", owners: [] },
  { example: "/apps/github has its own owner", lines: "/apps/ @octocat\n/apps/github @doctocat", path: "apps/github/index.js", owners: ["@doctocat"] },
  { example: "/apps/github has its own owner", lines: "/apps/ @octocat\n/apps/github @doctocat", path: "apps/main/index.js", owners: ["@octocat"] },
  { example: "branch protection: one owner", lines: "/apps/ @doctocat", path: "apps/x/y.yaml", owners: ["@doctocat"] },
  { example: "branch protection: either owner", lines: "/apps/ @doctocat @octocat", path: "apps/x/y.yaml", owners: ["@doctocat", "@octocat"] },
  { example: "branch protection: a team", lines: "/apps/ @example-org/content-team", path: "apps/x/y.yaml", owners: ["@example-org/content-team"] },
];

// GitHub's example file as one CODEOWNERS: the last matching line wins across all of it.
const GITHUB_EXAMPLE_FILE = `# This is a comment.
# Each line is a file pattern followed by one or more owners.

*       @global-owner1 @global-owner2
*.js    @js-owner #This is an inline comment.
*.go docs@example.com
*.txt @octo-org/octocats
/build/logs/ @doctocat
docs/*  docs@example.com
apps/ @octocat
/docs/ @doctocat
/scripts/ @doctocat @octocat
**/logs @octocat
/apps/ @octocat
/apps/github
/apps/ @octocat
/apps/github @doctocat
`;

describe("CODEOWNERS patterns: GitHub's documented examples", () => {
  it.each(documentedExamples)("$example: $path -> $owners", ({ lines, path, owners }) => {
    expect(ownersOf(lines, path)).toEqual(owners);
  });

  it.each([
    ["README.md", ["@global-owner1", "@global-owner2"]],
    ["src/index.js", ["@js-owner"]],
    ["main.go", ["docs@example.com"]],
    ["notes.txt", ["@octo-org/octocats"]],
    // /build/logs/ matches, but **/logs comes later and wins.
    ["build/logs/out.log", ["@octocat"]],
    // docs/* matches, but /docs/ comes later and wins.
    ["docs/getting-started.md", ["@doctocat"]],
    ["docs/build-app/troubleshooting.md", ["@doctocat"]],
    ["scripts/deploy.sh", ["@doctocat", "@octocat"]],
    ["scripts/logs/run.txt", ["@octocat"]],
    ["clusters/apps/release.yaml", ["@octocat"]],
    // *.js matches, but /apps/ comes later and wins.
    ["apps/main/index.js", ["@octocat"]],
    ["apps/github/index.js", ["@doctocat"]],
  ])("the whole example file: %s -> %j", (path, owners) => {
    expect(ownersOf(GITHUB_EXAMPLE_FILE, path)).toEqual(owners);
  });

  it("finds nothing to report in GitHub's example file", () => {
    expect(parseCodeowners(GITHUB_EXAMPLE_FILE).notices).toEqual([]);
    expect(parseCodeowners(GITHUB_EXAMPLE_FILE).rules.map((rule) => rule.line)).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]);
  });
});

describe("CODEOWNERS patterns: edge cases", () => {
  it("the last matching line wins over a more specific earlier line", () => {
    const text = "/apps/dev-team/ @acme/dev-team\n* @acme/platform\n";
    expect(ownersOf(text, "apps/dev-team/deployment.yaml")).toEqual(["@acme/platform"]);
    expect(ownersOf("* @acme/platform\n/apps/dev-team/ @acme/dev-team\n", "apps/dev-team/deployment.yaml")).toEqual(["@acme/dev-team"]);
  });

  it("a line with no owners clears ownership: matched, with nobody (not the same as no match)", () => {
    const text = "* @acme/platform\n/docs/\n";
    expect(ownersOf(text, "docs/guide.md")).toEqual([]);
    expect(ownersOf("/docs/ @writers\n", "clusters/a.yaml")).toBeUndefined();
  });

  it("is case-sensitive, like GitHub's file system", () => {
    expect(ownersOf("/Apps/ @a\n", "apps/x.yaml")).toBeUndefined();
    expect(ownersOf("/Apps/ @a\n", "Apps/x.yaml")).toEqual(["@a"]);
    expect(ownersOf("*.YAML @a\n", "x.yaml")).toBeUndefined();
  });

  it("escaped spaces belong to the pattern", () => {
    const text = "/my\\ docs/ @writer @editor\n";
    expect(parseCodeowners(text).rules[0]).toMatchObject({ pattern: "/my\\ docs/", owners: ["@writer", "@editor"] });
    expect(ownersOf(text, "my docs/a.md")).toEqual(["@writer", "@editor"]);
    expect(ownersOf(text, "my/a.md")).toBeUndefined();
  });

  it("a trailing slash matches a folder's contents, never a file of that name; without it both", () => {
    expect(ownersOf("/config/ @a\n", "config")).toBeUndefined();
    expect(ownersOf("/config/ @a\n", "config/app.yaml")).toEqual(["@a"]);
    expect(ownersOf("/config @b\n", "config")).toEqual(["@b"]);
    expect(ownersOf("/config @b\n", "config/app.yaml")).toEqual(["@b"]);
    expect(ownersOf("/config @b\n", "configuration.yaml")).toBeUndefined();
  });

  it("a pattern without a slash matches at any depth; one with a slash inside is anchored at the root", () => {
    expect(ownersOf("kustomization.yaml @a\n", "apps/dev-team/base/kustomization.yaml")).toEqual(["@a"]);
    expect(ownersOf("apps/dev-team @a\n", "apps/dev-team/x.yaml")).toEqual(["@a"]);
    expect(ownersOf("apps/dev-team @a\n", "clusters/apps/dev-team/x.yaml")).toBeUndefined();
  });

  it("* and ? never cross a folder; ** spans any number of them", () => {
    expect(ownersOf("/tenants/*.yaml @a\n", "tenants/list.yaml")).toEqual(["@a"]);
    expect(ownersOf("/tenants/*.yaml @a\n", "tenants/base/list.yaml")).toBeUndefined();
    expect(ownersOf("/tenants/?/x @a\n", "tenants/a/x")).toEqual(["@a"]);
    expect(ownersOf("/tenants/?/x @a\n", "tenants/ab/x")).toBeUndefined();
    expect(ownersOf("/tenants/**/dev-team/ @t\n", "tenants/dev-team/sync.yaml")).toEqual(["@t"]);
    expect(ownersOf("/tenants/**/dev-team/ @t\n", "tenants/base/eu/dev-team/sync.yaml")).toEqual(["@t"]);
    expect(ownersOf("/tenants/**/dev-team/ @t\n", "apps/dev-team/sync.yaml")).toBeUndefined();
    expect(ownersOf("/** @a\n", "any/path/at/all")).toEqual(["@a"]);
    expect(ownersOf("/* @a\n", "top.yaml")).toEqual(["@a"]);
    expect(ownersOf("/* @a\n", "folder/file.yaml")).toBeUndefined();
    expect(ownersOf("/apps/** @a\n", "apps/x/y")).toEqual(["@a"]);
    expect(ownersOf("/apps/** @a\n", "apps")).toBeUndefined();
  });

  it("regular-expression characters in a pattern are literal", () => {
    expect(ownersOf("/a+b(c).yaml @a\n", "a+b(c).yaml")).toEqual(["@a"]);
    expect(ownersOf("/a+b(c).yaml @a\n", "aab(c)xyaml")).toBeUndefined();
    expect(ownersOf("/f\\*o @a\n", "f*o")).toEqual(["@a"]);
    expect(ownersOf("/f\\*o @a\n", "foo")).toBeUndefined();
  });

  it("reads CRLF files, tabs and comment lines", () => {
    const text = "# comment\r\n\r\n*\t@acme/platform\t\r\n   # indented comment\r\n";
    expect(parseCodeowners(text)).toMatchObject({ rules: [{ line: 3, pattern: "*", owners: ["@acme/platform"] }], notices: [] });
  });
});

describe("CODEOWNERS lines GitHub skips", () => {
  it("reports negation, ranges, an escaped leading # and bad owners as ignored lines, and keeps the rest", () => {
    const text = [
      "* @acme/platform",
      "!/apps/ @acme/dev-team",
      "/apps/[ab]/ @acme/dev-team",
      "\\#notes @acme/dev-team",
      "/apps/ acme/dev-team",
      "/apps/ @acme/dev-team @",
      "/ok/ @user_1 @org/team.name first.last@example.com",
    ].join("\n");
    const parsed = parseCodeowners(text);
    expect(parsed.rules.map((rule) => [rule.line, rule.pattern, rule.owners])).toEqual([
      [1, "*", ["@acme/platform"]],
      [7, "/ok/", ["@user_1", "@org/team.name", "first.last@example.com"]],
    ]);
    expect(parsed.notices).toEqual([
      { line: 2, message: "`!/apps/`: `!` negation is not supported in CODEOWNERS; GitHub ignores this line, and so does fleet-warden" },
      { line: 3, message: "`/apps/[ab]/`: `[ ]` character ranges are not supported in CODEOWNERS; GitHub ignores this line, and so does fleet-warden" },
      { line: 4, message: "`\\#notes`: escaping a leading `#` is not supported in CODEOWNERS; GitHub ignores this line, and so does fleet-warden" },
      { line: 5, message: "`acme/dev-team` is not an owner (owners are @user, @org/team or an email address); GitHub ignores this line, and so does fleet-warden" },
      { line: 6, message: "`@` is not an owner (owners are @user, @org/team or an email address); GitHub ignores this line, and so does fleet-warden" },
    ]);
    // The skipped lines do not take ownership away from the catch-all.
    expect(ruleFor(parsed, "apps/a/x.yaml")?.owners).toEqual(["@acme/platform"]);
  });
});
