// A RuleContext from in-memory trees, for rule unit tests that need no git and no kustomize.
import { configSchema, type Config } from "../../src/core/config.js";
import { FleetModel, isYamlPath } from "../../src/core/fleet.js";
import { resolveTenants, territoryResolver } from "../../src/core/tenants.js";
import type { Build, ChangedFile, RuleContext, TenantInfo } from "../../src/core/types.js";
import { tempDir, writeTree, type Tree } from "./fleet.js";

export interface RuleContextOptions {
  /** The head tree. */
  head: Tree;
  /** The base tree (default: empty). */
  base?: Tree;
  /** Changed paths; every line of a changed head file counts as added (default: every path of `head`). */
  changed?: string[];
  /** Raw config (as it would be in .github/fleet-warden.yml), validated with the real schema. */
  config?: unknown;
  tenants?: TenantInfo[];
  builds?: Build[];
}

export function ruleContext(options: RuleContextOptions): RuleContext {
  const headDir = tempDir();
  const baseDir = tempDir();
  writeTree(headDir, options.head);
  writeTree(baseDir, options.base ?? {});
  const head = new FleetModel(headDir);
  const base = new FleetModel(baseDir);
  const config: Config = configSchema.parse(options.config ?? {});
  const changedPaths = options.changed ?? Object.keys(options.head);
  const changedFiles: ChangedFile[] = changedPaths.map((path) => {
    const text = options.head[path];
    const lines = text ? text.split("\n").length : 0;
    const all = Array.from({ length: lines }, (_, i) => i + 1);
    return {
      path,
      status: text === null || text === undefined ? "removed" : options.base?.[path] ? "modified" : "added",
      addedLines: all,
      hunks: lines > 0 ? [{ start: 1, end: lines }] : [],
    };
  });
  const tenants = options.tenants ?? resolveTenants(config, base);
  return {
    config,
    head,
    base,
    changedFiles,
    changedDocuments: changedFiles.filter((file) => file.status !== "removed" && isYamlPath(file.path)).flatMap((file) => head.file(file.path)?.documents ?? []),
    tenants,
    territory: territoryResolver(tenants),
    builds: options.builds ?? [],
    ownership: { entries: [], notices: [] },
  };
}
