// PullRequestFacts from a local git repository: what the CLI evaluates, exactly as the App would.
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { gitUrlParts } from "./core/flux.js";
import { readPolicy } from "./core/policy-files.js";
import { parsePatch } from "./core/patch.js";
import type { ChangedFile, PullRequestFacts } from "./core/types.js";
import { extractSnapshot, snapshotFacts, withSnapshots, type Snapshot } from "./snapshot.js";

const run = promisify(execFile);

export class GitError extends Error {}

export interface LocalOptions {
  repo: string;
  base: string;
  head: string;
  /** The pull request's author, for ownership. */
  author?: string;
  /** Teams (`org/team`) the author belongs to. */
  teams?: string[];
  /** Logins that approved the head commit. */
  approvedBy?: string[];
  /** The pull request's head branch, for auto-merge (default: the branch `head` names, if it names one). */
  headBranch?: string;
}

export interface LocalFacts {
  facts: PullRequestFacts;
  dispose(): Promise<void>;
}

async function git(repo: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run("git", ["-C", repo, "-c", "core.quotePath=false", ...args], { maxBuffer: 256 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new GitError(`git ${args.join(" ")} failed${stderr ? `: ${stderr}` : ""}`);
  }
}

async function resolveCommit(repo: string, ref: string): Promise<string> {
  try {
    return (await git(repo, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`])).trim();
  } catch {
    throw new GitError(`"${ref}" is not a commit in ${repo}`);
  }
}

export async function localFacts(options: LocalOptions): Promise<LocalFacts> {
  const { repo } = options;
  // Resolved at once; when both refs are bad, the base is the one named.
  const resolvingHead = resolveCommit(repo, options.head);
  resolvingHead.catch(() => undefined);
  const baseTip = await resolveCommit(repo, options.base);
  const headSha = await resolvingHead;
  // Diff against the merge base, as GitHub does for a pull request; policy comes from the base tip.
  const mergeBase = (await git(repo, ["merge-base", baseTip, headSha]).catch(() => baseTip)).trim() || baseTip;
  // Read while the snapshots are: awaited once both are in.
  const details = Promise.all([
    changedFilesBetween(repo, mergeBase, headSha),
    readPolicy((path) => git(repo, ["show", `${baseTip}:${path}`]).catch(() => undefined)),
    originRepository(repo),
    branchNamed(repo, options.head),
  ]);
  details.catch(() => undefined);
  const teams = new Set((options.teams ?? []).map((team) => team.toLowerCase()));
  const author = options.author ?? "";
  const { value: facts, dispose } = await withSnapshots(
    {
      base: () => archive(repo, mergeBase, "base"),
      head: () => archive(repo, headSha, "head"),
      ...(mergeBase !== baseTip ? { baseTip: () => archive(repo, baseTip, "base tip") } : {}),
    },
    async (pair): Promise<PullRequestFacts> => {
      const [changedFiles, policy, origin, branch] = await details;
      return {
        repository: origin ?? { owner: "local", name: repo.split("/").filter(Boolean).pop() ?? "repository" },
        baseSha: mergeBase,
        baseTipSha: baseTip,
        headSha,
        ...snapshotFacts(pair),
        changedFiles,
        author,
        reviews: (options.approvedBy ?? []).map((user) => ({ user, state: "APPROVED", commitId: headSha })),
        policy,
        // Offline, team membership is what --teams says about the author, and nothing about anybody else.
        isTeamMember: async (team, login) => login.toLowerCase() === author.toLowerCase() && teams.has(team.toLowerCase()),
        // Git knows commit authors by name and email, not by GitHub login: every commit is credited to the author.
        commitAuthors: async () => (await git(repo, ["rev-list", `${mergeBase}..${headSha}`])).split("\n").filter(Boolean).map(() => author),
        // --head-branch names the branch; where --head says it is another remote's than origin's, that may be a fork.
        ...(branch || options.headBranch !== undefined ? { headBranch: options.headBranch ?? branch!.name, fromFork: branch?.remote !== undefined && branch.remote !== "origin" } : {}),
        draft: false,
      };
    },
  );
  return { facts, dispose };
}

/**
 * The branch a ref names: a local branch, or a remote-tracking one with its remote (a pull request's head branch
 * lives on a remote; another remote than origin may be a fork). None for a commit or a tag.
 */
async function branchNamed(repo: string, ref: string): Promise<{ name: string; remote: string | undefined } | undefined> {
  const full = (await git(repo, ["rev-parse", "--symbolic-full-name", ref]).catch(() => "")).trim();
  if (full.startsWith("refs/heads/")) return { name: full.slice("refs/heads/".length), remote: undefined };
  const remote = /^refs\/remotes\/([^/]+)\/(.+)$/.exec(full);
  return remote && remote[2] !== "HEAD" ? { name: remote[2]!, remote: remote[1]! } : undefined;
}

/** Host, owner and name from the `origin` remote (`git@github.com:o/n.git`, `https://github.com/o/n`), when there is one. */
async function originRepository(repo: string): Promise<PullRequestFacts["repository"] | undefined> {
  const url = (await git(repo, ["remote", "get-url", "origin"]).catch(() => "")).trim();
  // Without a real host (a local path, an SSH alias), owner and name alone tell the repository.
  const { host, path } = gitUrlParts(url);
  const [owner, name] = path.split("/").slice(-2);
  return owner && name ? { owner, name, ...(host ? { host } : {}) } : undefined;
}

async function archive(repo: string, sha: string, label: string): Promise<Snapshot> {
  const child = spawn("git", ["-C", repo, "archive", "--format=tar", sha], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise<number>((resolve) => child.on("close", (code) => resolve(code ?? 1)));
  const extracted = extractSnapshot(child.stdout, { strip: 0, gzip: false, label });
  const [code, snapshot] = await Promise.all([exited, extracted.catch((error: unknown) => error)]);
  if (code !== 0 || !("files" in (snapshot as object))) {
    if (snapshot && typeof snapshot === "object" && "dispose" in snapshot) await (snapshot as Snapshot).dispose();
    throw new GitError(`git archive ${sha} failed (exit ${code}): ${stderr.trim() || String(snapshot)}`);
  }
  return snapshot as Snapshot;
}

/** `git diff` between two commits, as the changed files of a pull request with their hunks. */
export async function changedFilesBetween(repo: string, from: string, to: string): Promise<ChangedFile[]> {
  const output = await git(repo, ["diff", "--no-color", "--no-ext-diff", "-M", "-U3", "--src-prefix=a/", "--dst-prefix=b/", from, to]);
  return parseGitDiff(output);
}

export function parseGitDiff(output: string): ChangedFile[] {
  const files: ChangedFile[] = [];
  const blocks = output.split(/^diff --git /m).slice(1);
  for (const block of blocks) {
    const newline = block.indexOf("\n");
    const header = block.slice(0, newline === -1 ? undefined : newline);
    const body = newline === -1 ? "" : block.slice(newline + 1);
    const hunkStart = body.search(/^@@ /m);
    const meta = hunkStart === -1 ? body : body.slice(0, hunkStart);
    const line = (prefix: string) => meta.split("\n").find((candidate) => candidate.startsWith(prefix))?.slice(prefix.length);
    // git ends a ---/+++ name that holds a space with a tab (a name with a tab of its own is quoted).
    const [minus, plus, renameFrom, renameTo] = ["--- ", "+++ ", "rename from ", "rename to "].map((prefix) => unquoteGitPath(line(prefix)?.replace(/\t$/, "")));
    const fromHeader = splitHeader(header);
    const oldPath = renameFrom ?? (minus && minus !== "/dev/null" ? minus.replace(/^a\//, "") : fromHeader?.[0]);
    const newPath = renameTo ?? (plus && plus !== "/dev/null" ? plus.replace(/^b\//, "") : fromHeader?.[1]);
    const status: ChangedFile["status"] = meta.includes("\nnew file mode") || meta.startsWith("new file mode")
      ? "added"
      : meta.includes("\ndeleted file mode") || meta.startsWith("deleted file mode")
        ? "removed"
        : renameFrom
          ? "renamed"
          : "modified";
    const path = status === "removed" ? oldPath : newPath;
    if (!path) continue;
    const { addedLines, hunks, submodule } = parsePatch(hunkStart === -1 ? "" : body.slice(hunkStart));
    files.push({
      path,
      ...(status === "renamed" && oldPath ? { previousPath: oldPath } : {}),
      status,
      addedLines: status === "removed" ? [] : addedLines,
      hunks: status === "removed" ? [] : hunks,
      ...(/^Binary files /m.test(meta) ? { patchMissing: true } : {}),
      ...(submodule ? { submodule: true } : {}),
    });
  }
  return files;
}

/** `a/x b/x` or `"a/x\ty" "b/x\ty"` -> ["x", "x"]; only trusted when both halves are equal-length paths (no rename). */
function splitHeader(header: string): [string, string] | undefined {
  const quoted = /^("(?:[^"\\]|\\.)*") ("(?:[^"\\]|\\.)*")$/.exec(header);
  if (quoted) return [unquoteGitPath(quoted[1])!.replace(/^a\//, ""), unquoteGitPath(quoted[2])!.replace(/^b\//, "")];
  // "a/" + name + " b/" + name: the halves are told apart by length, since a name may hold " b/" itself.
  const length = (header.length - 5) / 2;
  if (!Number.isInteger(length) || !header.startsWith("a/") || header.slice(2 + length, 5 + length) !== " b/") return undefined;
  const [before, after] = [header.slice(2, 2 + length), header.slice(5 + length)];
  return before === after ? [before, after] : undefined;
}

const GIT_ESCAPES: Record<string, number> = { a: 7, b: 8, t: 9, n: 10, v: 11, f: 12, r: 13, '"': 34, "\\": 92 };

/**
 * A path as git prints it: in double quotes with C escapes and octal bytes (`"a\"b.yaml"`, `"\303\251.yaml"`)
 * when it holds a quote, a backslash, a control character or a byte outside ASCII; else as it is. Read as written,
 * such a file would be left out of the change, unjudged.
 */
export function unquoteGitPath(text: string | undefined): string | undefined {
  if (text === undefined || text.length < 2 || !text.startsWith('"') || !text.endsWith('"')) return text;
  const body = text.slice(1, -1);
  const bytes: number[] = [];
  for (let i = 0; i < body.length; i++) {
    if (body[i] !== "\\") {
      const char = String.fromCodePoint(body.codePointAt(i)!);
      bytes.push(...Buffer.from(char, "utf8"));
      i += char.length - 1;
    } else if (/^[0-7]{3}$/.test(body.slice(i + 1, i + 4))) {
      bytes.push(parseInt(body.slice(i + 1, i + 4), 8));
      i += 3;
    } else {
      const escaped = body[++i] ?? "";
      bytes.push(GIT_ESCAPES[escaped] ?? escaped.charCodeAt(0));
    }
  }
  return Buffer.from(bytes).toString("utf8");
}
