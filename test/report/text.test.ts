// Pull request content on a terminal or in a CI log: escape sequences, controls and bidi overrides show as `\u{…}`
// and do nothing; a multi-line text goes on behind a bar and never forges a line of the report.
import { describe, expect, it } from "vitest";
import { runCli } from "../../src/cli.js";
import type { Verdict } from "../../src/core/types.js";
import { renderJson, renderSarif, renderText, terminalText } from "../../src/report/text.js";
import { repoWithChange } from "../helpers/fleet.js";

describe("terminalText", () => {
  it.each([
    ["ESC/CSI: a cleared screen", "a\u001b[2Jb", "a\\u{1b}[2Jb"],
    ["ESC/CSI: the cursor moved up to overwrite a line", "\u001b[1A\u001b[2Kfleet-warden: PASS", "\\u{1b}[1A\\u{1b}[2Kfleet-warden: PASS"],
    ["OSC 8: a hidden link", "\u001b]8;;https://evil.example\u0007click\u001b]8;;\u001b\\", "\\u{1b}]8;;https://evil.example\\u{7}click\\u{1b}]8;;\\u{1b}\\"],
    ["other C0 controls and DEL", "\u0000\u0008\u000b\u000c\u007f", "\\u{0}\\u{8}\\u{b}\\u{c}\\u{7f}"],
    ["C1 controls: 8-bit CSI, OSC and NEL", "\u009b2J\u009d8;;x\u0085", "\\u{9b}2J\\u{9d}8;;x\\u{85}"],
    ["a lone carriage return", "ok\rFAIL", "ok\\u{d}FAIL"],
    ["bidi embeddings, overrides and isolates (Trojan Source)", "\u202a\u202b\u202c\u202d\u202e|\u2066\u2067\u2068\u2069", "\\u{202a}\\u{202b}\\u{202c}\\u{202d}\\u{202e}|\\u{2066}\\u{2067}\\u{2068}\\u{2069}"],
    ["bidi marks and Unicode line separators", "\u200e\u200f\u061c\u2028\u2029", "\\u{200e}\\u{200f}\\u{61c}\\u{2028}\\u{2029}"],
  ])("shows %s as escapes", (_, text, shown) => {
    expect(terminalText(text)).toBe(shown);
  });

  it("continues a multi-line text behind a bar, deeper than any report line (\\n and \\r\\n alike)", () => {
    expect(terminalText("kustomize build failed:\n  accumulating resources\r\n\nfleet-warden: PASS — 0 errors")).toBe(
      "kustomize build failed:\n        |   accumulating resources\n        | \n        | fleet-warden: PASS — 0 errors",
    );
  });

  it("leaves ordinary text as written: tabs, backslashes, non-ASCII letters, emoji", () => {
    const ordinary = "apps/café/日本.yaml\tvalue: ^a\\.b$ \\u{1b} — 👩‍👩‍👧 עברית «ok»";
    expect(terminalText(ordinary)).toBe(ordinary);
  });
});

const HOSTILE = "\u001b[2J\u001b]8;;https://evil.example\u0007x\u001b]8;;\u0007\u202e";
const SHOWN = "\\u{1b}[2J\\u{1b}]8;;https://evil.example\\u{7}x\\u{1b}]8;;\\u{7}\\u{202e}";

const verdict: Verdict = {
  conclusion: "failure",
  title: "1 error",
  findings: [
    {
      rule: "yaml-syntax",
      severity: "error",
      path: `apps/${HOSTILE}.yaml`,
      line: 3,
      endLine: 3,
      message: `bad value ${HOSTILE}\r\u001b[1A\n  error   apps/ok.yaml:1 [yaml-syntax] forged`,
      fix: { line: 3, endLine: 3, replacement: `  a: ${HOSTILE}\n  b: \u009b1A`, description: "Set a" },
    },
  ],
  preExisting: [],
  ignored: [],
  ownership: { entries: [{ path: `apps/${HOSTILE}`, owners: [`@acme/${HOSTILE}`, "@dev"], allowed: false }], notices: [`.github/CODEOWNERS:3: unknown owner ${HOSTILE}`] },
  builds: [{ name: `Kustomization flux-system/${HOSTILE}`, path: "apps", ok: false, error: `accumulating resources: ${HOSTILE}\n\tmissing\nfleet-warden: PASS`, objects: 0 }],
  renderedDiff: [{ build: `Kustomization ${HOSTILE}`, path: "apps", changes: [{ ref: { apiVersion: "v1", kind: "ConfigMap", name: HOSTILE }, change: "added" }] }],
  diff: [
    {
      path: `apps/${HOSTILE}.yaml`,
      previousPath: "apps/old\r.yaml",
      status: "renamed",
      objects: [{ ref: { apiVersion: "v1", kind: "ConfigMap", namespace: "\u2066ns\u2069", name: HOSTILE }, change: "added" }],
      otherDocumentsChanged: false,
      note: `not YAML: ${HOSTILE}`,
    } as Verdict["diff"][number],
  ],
  autoMerge: { eligible: false, reasons: [`image ${HOSTILE}`] },
  problems: [`.github/fleet-warden.yml: ${HOSTILE}`],
  notes: [`skipped ${HOSTILE}\nsecond line`],
  stats: { changedFiles: 1, documents: 1, builds: 1, kustomizeRuns: 1, durationMs: 1 },
};

describe("the text report of a hostile pull request", () => {
  it("shows every piece of pull request text escaped, continuations behind a bar", () => {
    expect(renderText(verdict).split("\n")).toEqual([
      "fleet-warden: FAIL — 1 error",
      `  problem: .github/fleet-warden.yml: ${SHOWN}`,
      `  note: skipped ${SHOWN}`,
      "        | second line",
      `  note: .github/CODEOWNERS:3: unknown owner ${SHOWN}`,
      "auto-merge: not eligible",
      `  - image ${SHOWN}`,
      "",
      "Changed manifests:",
      `  apps/old\\u{d}.yaml -> apps/${SHOWN}.yaml (renamed)`,
      `    added    v1 ConfigMap \\u{2066}ns\\u{2069}/${SHOWN}`,
      `    not YAML: ${SHOWN}`,
      "",
      "Ownership:",
      `  apps/${SHOWN}: needs @acme/${SHOWN} or @dev`,
      "",
      "Builds:",
      `  FAIL Kustomization flux-system/${SHOWN} (0 objects): accumulating resources: ${SHOWN}`,
      "        | \tmissing",
      "        | fleet-warden: PASS",
      "",
      "Rendered changes:",
      `  Kustomization ${SHOWN}`,
      `    added    v1 ConfigMap ${SHOWN}`,
      "",
      "Findings:",
      `  error   apps/${SHOWN}.yaml:3 [yaml-syntax] bad value ${SHOWN}\\u{d}\\u{1b}[1A`,
      "        |   error   apps/ok.yaml:1 [yaml-syntax] forged",
      `          fix|   a: ${SHOWN}`,
      "          fix|   b: \\u{9b}1A",
    ]);
  });

  it("leaves an ordinary report as it was", () => {
    const ordinary: Verdict = {
      ...verdict,
      findings: [{ rule: "schema", severity: "warning", path: "apps/café/日本.yaml", line: 2, endLine: 2, message: "data.a: `é` is\tnot a number" }],
      ownership: { entries: [], notices: [] },
      builds: [],
      renderedDiff: [],
      diff: [],
      autoMerge: undefined,
      problems: [],
      notes: [],
    };
    expect(renderText(ordinary)).toBe("fleet-warden: FAIL — 1 error\n\nFindings:\n  warning apps/café/日本.yaml:2 [schema] data.a: `é` is\tnot a number");
  });
});

/** No control or bidi character, raw, on any line (tabs included: these outputs have none of their own). */
function expectInert(output: string): void {
  for (const line of output.split("\n")) expect(line).not.toMatch(/[\p{Cc}\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u);
}

describe("JSON and SARIF of a hostile pull request", () => {
  it("escapes C0 controls (JSON.stringify) and C1 and bidi controls (which it leaves raw), and parses back to the same text", () => {
    const json = renderJson(verdict);
    expectInert(json);
    expect(json).toContain('"name": "\\u001b[2J\\u001b]8;;https://evil.example\\u0007x\\u001b]8;;\\u0007\\u202e"');
    expect(json).toContain('"replacement": "  a: \\u001b[2J\\u001b]8;;https://evil.example\\u0007x\\u001b]8;;\\u0007\\u202e\\n  b: \\u009b1A"');
    const parsed = JSON.parse(json);
    expect(parsed.findings[0].message).toBe(verdict.findings[0]!.message);
    expect(parsed.builds).toEqual(verdict.builds);
    expect(parsed.diff).toEqual(verdict.diff);
  });

  it("does the same in SARIF", () => {
    const sarif = renderSarif(verdict);
    expectInert(sarif);
    expect(JSON.parse(sarif).runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri).toBe(verdict.findings[0]!.path);
  });

  it("carries each finding's fix as a SARIF fix, and the evaluation's problems as a failed invocation", () => {
    const run = JSON.parse(renderSarif({ ...verdict, problems: ["config: rules.flux-prun is not a rule"] })).runs[0];
    const fix = verdict.findings[0]!.fix!;
    expect(run.results[0].fixes).toEqual([
      {
        description: { text: fix.description ?? "Suggested fix" },
        artifactChanges: [{ artifactLocation: { uri: verdict.findings[0]!.path }, replacements: [{ deletedRegion: { startLine: fix.line, endLine: fix.endLine }, insertedContent: { text: fix.replacement } }] }],
      },
    ]);
    expect(run.invocations).toEqual([{ executionSuccessful: false, toolExecutionNotifications: [{ level: "error", message: { text: "config: rules.flux-prun is not a rule" } }] }]);
    expect(JSON.parse(renderSarif({ ...verdict, problems: [] })).runs[0].invocations).toEqual([{ executionSuccessful: true, toolExecutionNotifications: [] }]);
  });

  it("leaves ordinary non-ASCII text as it is", () => {
    expect(renderJson({ ...verdict, title: "日本 café 👩‍👩‍👧" })).toContain('"title": "日本 café 👩‍👩‍👧"');
  });
});

describe("fleet-warden check on a pull request whose YAML values carry escapes", () => {
  // metadata.name in YAML escapes: ESC [2J, an OSC 8 link ended by BEL, RLO, a carriage return and a forged verdict line.
  const NAME = String.raw`"x\e[2J\e]8;;https://evil.example\ay\u202E\r\nfleet-warden: PASS"`;
  const repo = () =>
    repoWithChange(
      { "apps/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n" },
      { "apps/cm.yaml": `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${NAME}\n` },
    );

  it("prints them escaped in text, Markdown and JSON, and a hostile ref escaped on stderr", async () => {
    const { dir } = repo();
    const args = ["check", "--repo", dir, "--base", "main", "--head", "change"];
    const text = await runCli(args);
    expect(text).toMatchObject({ code: 0, stderr: "" });
    expect(text.stdout.split("\n")).toEqual([
      "fleet-warden: PASS — No findings",
      "  note: No CODEOWNERS on the base branch (.github/CODEOWNERS, CODEOWNERS or docs/CODEOWNERS): ownership is not enforced.",
      "",
      "Changed manifests:",
      "  apps/cm.yaml (modified)",
      "    added    v1 ConfigMap x\\u{1b}[2J\\u{1b}]8;;https://evil.example\\u{7}y\\u{202e}",
      "        | fleet-warden: PASS",
      "    removed  v1 ConfigMap a",
      "",
    ]);

    const markdown = (await runCli([...args, "--format", "markdown"])).stdout;
    expectInert(markdown);
    expect(markdown).toContain("  - added `v1` ConfigMap x\\u{1b}\\[2J\\u{1b}\\]8;;https://evil.example\\u{7}y\\u{202e} fleet-warden: PASS\n");

    const json = (await runCli([...args, "--format", "json"])).stdout;
    expect(json).toContain('"name": "x\\u001b[2J\\u001b]8;;https://evil.example\\u0007y\\u202e\\r\\nfleet-warden: PASS"');
    expect(JSON.parse(json).diff[0].objects[0].ref.name).toBe("x\u001b[2J\u001b]8;;https://evil.example\u0007y\u202e\r\nfleet-warden: PASS");

    expect(await runCli(["check", "--repo", dir, "--base", "\u001b[1A\u202emain"])).toEqual({ code: 2, stdout: "", stderr: `fleet-warden: "\\u{1b}[1A\\u{202e}main" is not a commit in ${dir}\n` });
    expect((await runCli(["check", "\u001b[2J"])).stderr).toMatch(/^unknown command: check \\u\{1b\}\[2J\n/);
  });
});
