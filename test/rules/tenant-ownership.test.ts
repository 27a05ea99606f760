import { describe, expect, it } from "vitest";
import { tenantOwnership } from "../../rules/tenant-ownership.js";
import type { ChangedFile, OwnershipEntry, RuleContext } from "../../src/core/types.js";
import { ruleContext } from "../helpers/rule-context.js";

const CONFIG = {
  tenants: [
    { name: "dev-team", paths: ["apps/dev-team/**"], namespaces: ["apps"] },
    { name: "other-team", paths: ["apps/other-team/**"], namespaces: ["other"] },
  ],
};

const HEAD = {
  "apps/dev-team/deployment.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
  "apps/other-team/x.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
  "clusters/production/dev-team.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: moved\n",
};

function contextWith(entries: OwnershipEntry[], changedFiles?: ChangedFile[]): RuleContext {
  const context = ruleContext({ head: HEAD, config: CONFIG });
  return { ...context, ...(changedFiles ? { changedFiles } : {}), ownership: { source: ".github/CODEOWNERS", entries, notices: [] } };
}

describe("tenant-ownership", () => {
  it("reports nothing when every path is allowed", () => {
    const context = contextWith([
      { path: "apps/dev-team/deployment.yaml", owners: ["@acme/dev-team"], satisfiedBy: "author @dev-alice (member of @acme/dev-team)", allowed: true },
    ]);
    expect(tenantOwnership.check(context)).toEqual([]);
  });

  it("puts an error on line 1 of each denied file, naming the tenant and who must approve", () => {
    const context = contextWith([
      { path: "apps/dev-team/deployment.yaml", owners: ["@acme/dev-team"], satisfiedBy: "author @dev-alice", allowed: true },
      { path: "apps/other-team/x.yaml", owners: ["@acme/other-team"], allowed: false },
      { path: "clusters/production/tenants.yaml", owners: ["@acme/platform", "@platform-lead"], allowed: false },
    ]);
    expect(tenantOwnership.check(context)).toEqual([
      {
        path: "apps/other-team/x.yaml",
        line: 1,
        endLine: 1,
        message:
          "`apps/other-team/x.yaml` belongs to tenant other-team; approval needed from @acme/other-team (the author is not an owner, and no owner approved the current head commit).",
      },
      {
        path: "clusters/production/tenants.yaml",
        line: 1,
        endLine: 1,
        message:
          "`clusters/production/tenants.yaml` is platform territory; approval needed from one of @acme/platform, @platform-lead (the author is not an owner, and no owner approved the current head commit).",
      },
    ]);
  });

  it("says nobody can approve a path without owners, and how to fix that", () => {
    const context = contextWith([{ path: "apps/dev-team/deployment.yaml", owners: [], allowed: false }]);
    expect(tenantOwnership.check(context)).toEqual([
      {
        path: "apps/dev-team/deployment.yaml",
        line: 1,
        endLine: 1,
        message:
          "`apps/dev-team/deployment.yaml` belongs to tenant dev-team, no CODEOWNERS line owns it and no platform owner is configured, so nobody can approve this change: add an owner line to CODEOWNERS or set platform.owners in .github/fleet-warden.yml (on the base branch).",
      },
    ]);
  });

  it("puts the base side of a rename on the file it became, and a deleted file on its own line 1", () => {
    const changedFiles: ChangedFile[] = [
      { path: "clusters/production/dev-team.yaml", previousPath: "apps/other-team/moved.yaml", status: "renamed", addedLines: [], hunks: [] },
      { path: "apps/other-team/gone.yaml", status: "removed", addedLines: [], hunks: [] },
    ];
    const context = contextWith(
      [
        { path: "apps/other-team/moved.yaml", owners: ["@acme/other-team"], allowed: false },
        { path: "clusters/production/dev-team.yaml", owners: ["@acme/platform"], allowed: false },
        { path: "apps/other-team/gone.yaml", owners: ["@acme/other-team"], allowed: false },
      ],
      changedFiles,
    );
    expect(tenantOwnership.check(context).map((finding) => [finding.path, finding.line, finding.message])).toEqual([
      [
        "clusters/production/dev-team.yaml",
        1,
        "Renamed from `apps/other-team/moved.yaml`: `apps/other-team/moved.yaml` belongs to tenant other-team; approval needed from @acme/other-team (the author is not an owner, and no owner approved the current head commit).",
      ],
      [
        "clusters/production/dev-team.yaml",
        1,
        "`clusters/production/dev-team.yaml` is platform territory; approval needed from @acme/platform (the author is not an owner, and no owner approved the current head commit).",
      ],
      [
        "apps/other-team/gone.yaml",
        1,
        "`apps/other-team/gone.yaml` belongs to tenant other-team; approval needed from @acme/other-team (the author is not an owner, and no owner approved the current head commit).",
      ],
    ]);
  });
});
