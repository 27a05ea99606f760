// Builds from in-memory trees through buildAffected, with an engine that records every run.
import { cpSync } from "node:fs";
import { buildAffected, type BuildResult } from "../../src/core/build/index.js";
import { findKustomize, kustomizeIsolation, type EngineLimits, type KustomizeEngine } from "../../src/core/build/engine.js";
import { configSchema } from "../../src/core/config.js";
import { evaluate } from "../../src/core/evaluate.js";
import { folderFiles } from "../../src/core/files.js";
import { FleetModel } from "../../src/core/fleet.js";
import type { ChangedFile, Rule, SpecialFile, Verdict } from "../../src/core/types.js";
import { tempDir, writeTree, type Tree } from "../helpers/fleet.js";

export const repository = { owner: "acme", name: "fleet" };

/** The real engine, counting the folders it was asked to build. */
export function recordingEngine(): KustomizeEngine & { runs: string[] } {
  const engine = findKustomize();
  if (!engine) throw new Error("these tests need kustomize or kubectl");
  // The wall is probed once per binary, with a build of its own: not one of the runs counted.
  kustomizeIsolation(engine);
  const runs: string[] = [];
  return { ...engine, runs, args: (folder) => (runs.push(folder), engine.args(folder)) };
}

export function treeDir(tree: Tree): string {
  const dir = tempDir();
  writeTree(dir, tree);
  return dir;
}

export function copyDir(source: string): string {
  const dir = tempDir();
  cpSync(source, dir, { recursive: true });
  return dir;
}

export interface ChangeOptions {
  /** Changed paths (default: every path of head that differs from base). */
  changed?: string[];
  specialFiles?: SpecialFile[];
  engine?: KustomizeEngine | null;
  limits?: EngineLimits;
}

/** Every line of a changed head file counts as added. */
function changedFilesOf(base: Tree, head: Tree, changed?: string[]): ChangedFile[] {
  const headTree: Tree = { ...base, ...head };
  const changedPaths = changed ?? Object.keys(head).filter((path) => base[path] !== head[path]);
  return changedPaths.map((path) => {
    const text = headTree[path];
    const lines = text ? text.split("\n").length : 0;
    return {
      path,
      status: text === null || text === undefined ? "removed" : base[path] === undefined ? "added" : "modified",
      addedLines: Array.from({ length: lines }, (_, i) => i + 1),
      hunks: lines > 0 ? [{ start: 1, end: lines }] : [],
    };
  });
}

/** Evaluates the change with these rules, as the CLI would, from trees on disk (no git, no snapshot). */
export async function evaluateTrees(base: Tree, head: Tree, rules: readonly Rule[]): Promise<Verdict> {
  return evaluate(
    {
      repository,
      baseSha: "base",
      headSha: "head",
      baseFiles: folderFiles(treeDir(base)),
      headFiles: folderFiles(treeDir({ ...base, ...head })),
      changedFiles: changedFilesOf(base, head),
      author: "someone",
      reviews: [],
      policy: {},
      isTeamMember: async () => false,
    },
    { rules },
  );
}

/** Builds what a change from `base` to `base + head` affects. */
export async function buildChange(base: Tree, head: Tree, options: ChangeOptions = {}): Promise<BuildResult> {
  const headTree: Tree = { ...base, ...head };
  const changedFiles = changedFilesOf(base, head, options.changed);
  return buildAffected({
    config: configSchema.parse({}),
    base: new FleetModel(treeDir(base)),
    head: new FleetModel(treeDir(headTree)),
    changedFiles,
    repository,
    specialFiles: options.specialFiles ?? [],
    ...(options.engine !== undefined ? { engine: options.engine } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
  });
}

/** A Flux Kustomization of the fleet repository itself. */
export function fluxKustomization(name: string, spec: Record<string, unknown>, namespace = "flux-system"): string {
  const lines = [
    "apiVersion: kustomize.toolkit.fluxcd.io/v1",
    "kind: Kustomization",
    "metadata:",
    `  name: ${name}`,
    `  namespace: ${namespace}`,
    "spec:",
    "  interval: 10m",
    ...(spec.sourceRef ? [] : ["  sourceRef:", "    kind: GitRepository", "    name: flux-system"]),
  ];
  // JSON is YAML: each spec field on one line.
  const fields = Object.entries(spec).map(([key, value]) => `  ${key}: ${JSON.stringify(value)}`);
  return `${[...lines, ...fields].join("\n")}\n`;
}

export const deployment = (name: string, image = "nginx:1.27") => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  selector:
    matchLabels:
      app: ${name}
  template:
    metadata:
      labels:
        app: ${name}
    spec:
      containers:
        - name: ${name}
          image: ${image}
`;

export const configMap = (name: string, data: Record<string, string> = { key: "value" }) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n${Object.entries(data)
    .map(([key, value]) => `  ${key}: ${JSON.stringify(value)}`)
    .join("\n")}\n`;
