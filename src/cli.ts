#!/usr/bin/env node
// fleet-warden check: the App's evaluation on a local git repository. Exit 0 pass, 1 policy failure, 2 could not evaluate.
import { realpathSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { evaluate } from "./core/evaluate.js";
import { GitError, localFacts } from "./local.js";
import { renderSummary } from "./report/summary.js";
import { renderJson, renderSarif, renderText, terminalText } from "./report/text.js";

const USAGE = `Usage: fleet-warden check [--repo DIR] [--base REF] [--head REF] [--author LOGIN]
                          [--teams org/team,...] [--approved-by LOGIN,...]
                          [--format text|json|sarif|markdown]

Evaluates the change between two commits of a local git repository exactly as the
fleet-warden GitHub App evaluates a pull request.

  --repo DIR         the git repository (default: the current directory)
  --base REF         the pull request's base branch or commit (default: main)
  --head REF         the pull request's head (default: HEAD)
  --author LOGIN     the pull request's author, for ownership
  --teams LIST       the teams (org/team) the author belongs to
  --approved-by LIST logins that approved the head commit
  --format FORMAT    text (default), json, sarif or markdown

Exit status: 0 pass, 1 policy failure, 2 could not evaluate (bad input, bad ref).`;

const FORMATS = ["text", "json", "sarif", "markdown"] as const;
type Format = (typeof FORMATS)[number];

export interface CliResult {
  code: 0 | 1 | 2;
  stdout: string;
  stderr: string;
}

export async function runCli(argv: string[]): Promise<CliResult> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        repo: { type: "string", default: "." },
        base: { type: "string", default: "main" },
        head: { type: "string", default: "HEAD" },
        author: { type: "string" },
        teams: { type: "string" },
        "approved-by": { type: "string" },
        format: { type: "string", default: "text" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    return { code: 2, stdout: "", stderr: `${terminalText((error as Error).message)}\n\n${USAGE}\n` };
  }
  const { values, positionals } = parsed;
  if (values.help) return { code: 0, stdout: `${USAGE}\n`, stderr: "" };
  if (positionals[0] !== "check" || positionals.length > 1) {
    return { code: 2, stdout: "", stderr: `${positionals.length === 0 ? "missing command" : `unknown command: ${terminalText(positionals.join(" "))}`}\n\n${USAGE}\n` };
  }
  const format = values.format as Format;
  if (!FORMATS.includes(format)) return { code: 2, stdout: "", stderr: `--format must be one of ${FORMATS.join(", ")}\n` };

  let local;
  try {
    local = await localFacts({
      repo: resolve(values.repo),
      base: values.base,
      head: values.head,
      ...(values.author ? { author: values.author } : {}),
      teams: list(values.teams),
      approvedBy: list(values["approved-by"]),
    });
  } catch (error) {
    if (error instanceof GitError) return { code: 2, stdout: "", stderr: `fleet-warden: ${terminalText(error.message)}\n` };
    throw error;
  }
  try {
    const verdict = await evaluate(local.facts);
    // The Markdown summary is GitHub's, not the terminal's: each of its lines is made inert here.
    const markdown = (v: typeof verdict) => renderSummary(v, Infinity).split("\n").map(terminalText).join("\n");
    const render = { text: renderText, json: renderJson, sarif: renderSarif, markdown }[format];
    // Problems mean part of the change could not be judged (bad config, limits hit): that is exit 2, not a verdict.
    const code = verdict.problems.length > 0 ? 2 : verdict.conclusion === "failure" ? 1 : 0;
    return { code, stdout: `${render(verdict)}\n`, stderr: "" };
  } finally {
    await local.dispose();
  }
}

function list(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
}

function isMain(): boolean {
  try {
    return realpathSync(process.argv[1] ?? "") === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  runCli(process.argv.slice(2)).then(
    (result) => {
      process.stdout.write(result.stdout);
      process.stderr.write(result.stderr);
      process.exitCode = result.code;
    },
    (error: unknown) => {
      process.stderr.write(`fleet-warden: internal error: ${terminalText(error instanceof Error ? (error.stack ?? error.message) : String(error))}\n`);
      process.exitCode = 2;
    },
  );
}
