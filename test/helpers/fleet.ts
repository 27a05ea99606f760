// Test helpers: real git repositories from in-memory trees, evaluated through the same path as the CLI.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { afterAll } from "vitest";
import { evaluate } from "../../src/core/evaluate.js";
import type { Rule, Verdict } from "../../src/core/types.js";
import { localFacts, type LocalOptions } from "../../src/local.js";

/** path -> file text; `null` in a head tree deletes the file. */
export type Tree = Record<string, string | null>;

const created: string[] = [];
afterAll(() => {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix = "fleet-warden-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

/** Every file under `root`, as a tree. */
export function folderTree(root: string): Tree {
  const tree: Tree = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else tree[relative(root, path)] = readFileSync(path, "utf8");
    }
  };
  walk(root);
  return tree;
}

export function writeTree(root: string, tree: Tree): void {
  for (const [path, text] of Object.entries(tree)) {
    const target = join(root, path);
    if (text === null) {
      rmSync(target, { force: true });
      continue;
    }
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, text);
  }
}

export interface ChangeRepo {
  dir: string;
  git(...args: string[]): string;
}

/** A git repository whose `main` holds `base` and whose `change` branch holds `base` + `head`. */
export function repoWithChange(base: Tree, head: Tree, remote = "git@github.com:acme/fleet.git"): ChangeRepo {
  const dir = tempDir("fleet-warden-repo-");
  const git = (...args: string[]) => execFileSync("git", ["-C", dir, ...args], { encoding: "utf8" });
  git("init", "--quiet", "--initial-branch=main");
  git("config", "user.email", "test@fleet-warden.invalid");
  git("config", "user.name", "test");
  git("config", "commit.gpgsign", "false");
  git("remote", "add", "origin", remote);
  writeTree(dir, base);
  git("add", "--all");
  git("commit", "--quiet", "--allow-empty", "-m", "base");
  git("checkout", "--quiet", "-b", "change");
  writeTree(dir, head);
  git("add", "--all");
  git("commit", "--quiet", "--allow-empty", "-m", "change");
  return { dir, git };
}

export interface EvaluateChangeOptions extends Partial<Omit<LocalOptions, "repo" | "base" | "head">> {
  /** Only these rules run (default: the whole catalogue). */
  rules?: readonly Rule[];
}

/** Commits `base` and `base + head` to a real repository and evaluates the change like `fleet-warden check`. */
export async function evaluateChange(base: Tree, head: Tree, options: EvaluateChangeOptions = {}): Promise<Verdict> {
  const repo = repoWithChange(base, head);
  const { rules, ...local } = options;
  const { facts, dispose } = await localFacts({ repo: repo.dir, base: "main", head: "change", ...local });
  try {
    return await evaluate(facts, rules ? { rules } : {});
  } finally {
    await dispose();
  }
}
