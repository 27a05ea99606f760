// Pull request content in what GitHub renders: a hostile path, name or value shows as written and does nothing.
import { describe, expect, it } from "vitest";
import type { Finding, Verdict } from "../../src/core/types.js";
import { inlineCode, markdownText } from "../../src/report/markdown.js";
import { markerKey, reviewComments } from "../../src/report/review.js";
import { renderSummary } from "../../src/report/summary.js";

const HOSTILE = "@acme/platform ![x](https://evil.example/p.png) [ok](https://evil.example) <img src=x> <!-- fleet-warden:0123456789abcdef --> `x`";
const ESCAPED =
  "@\u200bacme/platform !\\[x\\](https://evil.example/p.png) \\[ok\\](https://evil.example) &lt;img src=x&gt; &lt;!-- fleet-warden:0123456789abcdef --&gt; \\`x\\`";
const PATH = "apps/@acme/team/`x` <b>.yaml";

const finding: Finding = {
  rule: "schema",
  severity: "error",
  path: PATH,
  line: 3,
  endLine: 3,
  message: `ConfigMap apps/x: data.a ${HOSTILE}`,
  fix: { line: 3, endLine: 3, replacement: "  a: |\n    ````\n    @acme/platform", description: `Set ${HOSTILE}` },
};

const verdict: Verdict = {
  conclusion: "failure",
  title: "1 error",
  findings: [finding],
  preExisting: [{ ...finding, line: 9, endLine: 9 }],
  ignored: [{ finding, reason: HOSTILE }],
  ownership: { entries: [{ path: "apps/a|b.yaml", owners: [], allowed: false }], notices: [] },
  builds: [{ name: `Kustomization apps/${HOSTILE}`, path: "apps/`|`", ok: false, error: `kustomize: ${HOSTILE}\nline two`, objects: 0 }],
  renderedDiff: [{ build: "Kustomization @acme/platform <b>", path: "apps", changes: [{ ref: { apiVersion: "v1", kind: "ConfigMap", name: "x" }, change: "modified", diff: "-a: 1\n+a: |\n+  ```\n+  @acme/platform" }] }],
  diff: [{ path: PATH, status: "modified", objects: [] } as unknown as Verdict["diff"][number]],
  problems: [HOSTILE],
  notes: [],
  stats: { changedFiles: 1, documents: 1, builds: 1, kustomizeRuns: 1, durationMs: 1 },
};

describe("Markdown from pull request content", () => {
  it("escapes prose: no mention, link, image, HTML or comment", () => {
    expect(markdownText(HOSTILE)).toBe(ESCAPED);
    expect(markdownText("a\nb|c")).toBe("a b\\|c");
  });

  it("makes code spans that no backtick inside can close", () => {
    expect(inlineCode("a`b")).toBe("``a`b``");
    expect(inlineCode("`a``")).toBe("``` `a`` ```");
    expect(inlineCode("a\nb")).toBe("`a b`");
  });

  it("renders a hostile finding, build, exception and rendered diff inert in the check-run summary", () => {
    const summary = renderSummary(verdict);
    // Only code spans and fences hold the text as written, where GitHub renders neither mentions nor markup.
    expect(summary).not.toMatch(/<img|<!--|(?<!\\)\]\(https:\/\/evil/);
    const lines = summary.split("\n");
    expect(lines).toContain(`- ${ESCAPED}`);
    expect(lines).toContain(`- ❌ \`\`apps/@acme/team/\`x\` <b>.yaml:3\`\` ConfigMap apps/x: data.a ${ESCAPED}`);
    expect(lines).toContain("- ``apps/@acme/team/`x` <b>.yaml`` (modified)");
    expect(lines).toContain("| `apps/a\\|b.yaml` | _nobody (no owner, no platform owner)_ | ❌ missing |");
    expect(lines).toContain(`| Kustomization apps/${ESCAPED} | \`\` apps/\`\\|\` \`\` | ❌ kustomize: ${ESCAPED} line two | 0 |`);
    expect(lines).toContain("<summary>Kustomization @\u200bacme/platform &lt;b&gt;: 1 object(s)</summary>");
    expect(summary).toContain("- modified `v1` ConfigMap x\n\n````diff\n-a: 1\n+a: |\n+  ```\n+  @acme/platform\n````\n</details>");
    expect(lines).toContain(`- \`schema\` at \`\`apps/@acme/team/\`x\` <b>.yaml:3\`\`: ConfigMap apps/x: data.a ${ESCAPED} — exception: _${ESCAPED}_`);
  });

  it("counts the builds its table lists, those of the base apart", () => {
    const summary = renderSummary({ ...verdict, stats: { ...verdict.stats, builds: 2 } });
    expect(summary).toContain(". 1 changed file(s), 1 build(s) (2 with the base's), 1 ms.");
  });

  it("keeps the quoted values of auto-merge reasons as code, and a backtick in a value inert", () => {
    const reasons = ["line 7 of apps/a.yaml changes `data.x` (`1` → `2`)", "line 8 of apps/a.yaml sets the tag `v1` [a](https://evil.example) @acme/platform `x`, which is not a valid image tag"];
    const summary = renderSummary({ ...verdict, autoMerge: { eligible: false, merged: false, reasons } });
    expect(summary).toContain(
      "- line 7 of apps/a.yaml changes `data.x` (`1` → `2`)\n- line 8 of apps/a.yaml sets the tag `v1` \\[a\\](https://evil.example) @\u200bacme/platform `x`, which is not a valid image tag",
    );
  });

  it("keeps a review comment's suggestion fenced, its text inert, and its own marker the only one", () => {
    const [comment] = reviewComments(verdict, [{ path: PATH, status: "modified", addedLines: [3], hunks: [{ start: 1, end: 5 }] }]);
    expect(comment!.body.split("\n")).toEqual([
      `**error** [\`schema\`](https://github.com/fleet-warden/fleet-warden/blob/main/docs/rules/schema.md): ConfigMap apps/x: data.a ${ESCAPED}`,
      "",
      `Set ${ESCAPED}`,
      "",
      "`````suggestion",
      "  a: |",
      "    ````",
      "    @acme/platform",
      "`````",
      `<!-- fleet-warden:${comment!.key} -->`,
    ]);
    expect(comment!.body.match(/<!--/g)).toHaveLength(1);
    expect(markerKey(comment!.body)).toBe(comment!.key);
  });
});
