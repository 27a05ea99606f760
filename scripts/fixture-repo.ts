// Builds a real git repository from fixture folders: `main` holds the base tree, the head branch the change on top.
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface FixtureRepoOptions {
  /** Folder copied into the first commit on `main`. */
  base: string;
  /** Folders copied on top, one commit each, on `headBranch`. */
  changes?: string[];
  /** Paths deleted in the head commit. */
  deletions?: string[];
  headBranch?: string;
  /** The `origin` remote, so that the repository knows which GitHub repository it is. */
  remote?: string;
}

export interface FixtureRepo {
  dir: string;
  git(...args: string[]): string;
  remove(): void;
}

export function createFixtureRepo(options: FixtureRepoOptions): FixtureRepo {
  const dir = mkdtempSync(join(tmpdir(), "fleet-warden-repo-"));
  const git = (...args: string[]) =>
    execFileSync("git", ["-C", dir, ...args], {
      encoding: "utf8",
      env: { ...process.env, GIT_AUTHOR_DATE: "2026-01-01T00:00:00Z", GIT_COMMITTER_DATE: "2026-01-01T00:00:00Z" },
    });
  git("init", "--quiet", "--initial-branch=main");
  git("config", "user.email", "fixtures@fleet-warden.invalid");
  git("config", "user.name", "fixtures");
  git("config", "commit.gpgsign", "false");
  if (options.remote) git("remote", "add", "origin", options.remote);
  cpSync(options.base, dir, { recursive: true });
  git("add", "--all");
  git("commit", "--quiet", "--allow-empty", "-m", "base");
  git("checkout", "--quiet", "-b", options.headBranch ?? "change");
  for (const change of options.changes ?? []) {
    cpSync(change, dir, { recursive: true });
    git("add", "--all");
    git("commit", "--quiet", "--allow-empty", "-m", `change from ${change}`);
  }
  if (options.deletions?.length) {
    git("rm", "--quiet", "-r", ...options.deletions);
    git("commit", "--quiet", "-m", "deletions");
  }
  return { dir, git, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
