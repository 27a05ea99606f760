#!/usr/bin/env node
// fleet-warden check: the App's evaluation on a local git repository. Exit 0 pass, 1 policy failure, 2 could not evaluate.
import { execFile } from "node:child_process";
import { realpathSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { kustomizeIsolationWarning } from "./core/build/engine.js";
import { evaluate } from "./core/evaluate.js";
import { GitError, localFacts } from "./local.js";
import { renderSummary } from "./report/summary.js";
import { renderJson, renderSarif, renderText, terminalText } from "./report/text.js";

const USAGE = `Usage: fleet-warden check [--repo DIR] [--base REF] [--head REF] [--author LOGIN]
                          [--teams org/team,...] [--approved-by LOGIN,...]
                          [--head-branch NAME] [--format text|json|sarif|markdown]

Evaluates the change between two commits of a local git repository exactly as the
fleet-warden GitHub App evaluates a pull request.

  --repo DIR         the git repository (default: the current directory)
  --base REF         the pull request's base branch or commit (default: main)
  --head REF         the pull request's head (default: HEAD)
  --author LOGIN     the pull request's author, for ownership (a leading @ is dropped)
  --teams LIST       the teams the author belongs to, as org/team or @org/team
  --approved-by LIST logins that approved the head commit
  --head-branch NAME the pull request's head branch, for auto-merge of image updates
                     (default: the branch --head names, if it names one)
  --format FORMAT    text (default), json, sarif or markdown

Commits are evaluated, never the working tree: uncommitted changes are not part of the check.

Exit status: 0 pass, 1 policy failure, 2 could not evaluate (bad input, bad ref).`;

const FORMATS = ["text", "json", "sarif", "markdown"] as const;
const TEAM = /^[^/\s]+\/[^/\s]+$/;
const execGit = promisify(execFile);
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
        "head-branch": { type: "string" },
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

  // CODEOWNERS writes owners as @login and @org/team: the same spelling is accepted here.
  const author = values.author?.replace(/^@/, "");
  const teams = logins(values.teams);
  const badTeam = teams.find((team) => !TEAM.test(team));
  if (badTeam !== undefined) {
    return { code: 2, stdout: "", stderr: `--teams takes teams as org/team (e.g. acme/dev-team or @acme/dev-team), not "${terminalText(badTeam)}"\n` };
  }

  const repo = resolve(values.repo);
  const notRepository = await repositoryProblem(repo);
  if (notRepository) return { code: 2, stdout: "", stderr: `fleet-warden: ${terminalText(notRepository)}\n` };
  // Started now, read once the verdict is in: the check costs no time of its own.
  const uncommitted = format === "text" ? hasUncommittedChanges(repo) : Promise.resolve(false);

  let local;
  try {
    local = await localFacts({
      repo,
      base: values.base,
      head: values.head,
      ...(author ? { author } : {}),
      teams,
      approvedBy: logins(values["approved-by"]),
      ...(values["head-branch"] !== undefined ? { headBranch: values["head-branch"] } : {}),
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
    const notes = [
      (await uncommitted) && `${terminalText(repo)} has uncommitted changes; they are not evaluated: fleet-warden checks the commit ${terminalText(values.head)}, not the working tree.`,
      // A check of someone else's pull request (a CI job on forks) runs their kustomizations on this machine.
      verdict.stats.kustomizeRuns > 0 && kustomizeIsolationWarning(),
    ];
    return { code, stdout: `${render(verdict)}\n`, stderr: notes.filter(Boolean).map((note) => `note: ${note}\n`).join("") };
  } finally {
    await local.dispose();
  }
}

/** A comma-separated list of logins or teams, each with CODEOWNERS' leading @ dropped. */
function logins(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((item) => item.trim().replace(/^@/, ""))
    .filter(Boolean);
}

/** Why `dir` cannot be the repository, said plainly (git's own error would name a bad ref instead). */
async function repositoryProblem(dir: string): Promise<string | undefined> {
  const stat = statSync(dir, { throwIfNoEntry: false });
  if (!stat) return `--repo ${dir} does not exist`;
  if (!stat.isDirectory()) return `--repo ${dir} is not a directory`;
  try {
    await execGit("git", ["-C", dir, "rev-parse", "--git-dir"]);
    return undefined;
  } catch (error) {
    // Other refusals (a repository owned by another user, in a container) are git's to explain.
    const reason = (error as { stderr?: string }).stderr?.trim().split("\n")[0] ?? "";
    return /not a git repository/i.test(reason) || !reason ? `--repo ${dir} is not a git repository` : `--repo ${dir}: ${reason}`;
  }
}

/**
 * Whether the working tree differs from its commit (untracked files included); false when git cannot tell (a bare
 * repository). Without optional locks: a status running beside the user's own git commands never takes the index lock.
 */
async function hasUncommittedChanges(dir: string): Promise<boolean> {
  try {
    const { stdout } = await execGit("git", ["-C", dir, "--no-optional-locks", "status", "--porcelain"], { maxBuffer: 64 * 1024 * 1024 });
    return stdout.length > 0;
  } catch {
    return false;
  }
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
