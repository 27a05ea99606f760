// `fleet-warden check --author/--teams/--approved-by` end to end, on a copy of the flux2-multi-tenancy fleet with a CODEOWNERS.
import { cpSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { createFixtureRepo, type FixtureRepo } from "../scripts/fixture-repo.js";
import { runCli } from "../src/cli.js";
import type { OwnershipReport } from "../src/core/types.js";
import { tempDir, writeTree, type Tree } from "./helpers/fleet.js";

const fleet = fileURLToPath(new URL("../../shared/corpus/flux2-multi-tenancy/main/", import.meta.url));

const CODEOWNERS = `# The platform team owns the fleet; the dev-team owns its overlay patches; security co-owns the policies.
*                                  @acme/platform
/tenants/*/dev-team-patch.yaml     @acme/dev-team
/infrastructure/kyverno-policies/  @acme/platform @security-sam
`;

const KYVERNO_SYNC = "infrastructure/kyverno/sync.yaml";
const STAGING_PATCH = "tenants/staging/dev-team-patch.yaml";
const POLICY = "infrastructure/kyverno-policies/verify-git-repositories.yaml";

const repos: FixtureRepo[] = [];
afterAll(() => repos.forEach((repo) => repo.remove()));

/** The corpus fleet plus CODEOWNERS on `main`; `change` on top of it on the head branch. */
function fleetRepo(change: Tree): FixtureRepo {
  const base = tempDir();
  cpSync(fleet, base, { recursive: true });
  writeTree(base, { ".github/CODEOWNERS": CODEOWNERS });
  const head = tempDir();
  writeTree(head, change);
  const repo = createFixtureRepo({ base, changes: [head], remote: "git@github.com:acme/fleet.git" });
  repos.push(repo);
  return repo;
}

/** `text` of a corpus file with `from` replaced by `to` (the replacement must happen). */
function edited(path: string, from: string, to: string): string {
  const text = readFileSync(join(fleet, path), "utf8");
  if (!text.includes(from)) throw new Error(`${path} does not contain ${from}`);
  return text.replace(from, to);
}

interface JsonVerdict {
  conclusion: string;
  findings: Array<{ rule: string; severity: string; path: string; line: number; endLine: number; message: string }>;
  ownership: OwnershipReport;
  problems: string[];
}

async function check(repo: FixtureRepo, ...flags: string[]): Promise<{ code: number; verdict: JsonVerdict }> {
  const result = await runCli(["check", "--repo", repo.dir, "--base", "main", "--head", "HEAD", "--format", "json", ...flags]);
  expect(result.stderr).toBe("");
  return { code: result.code, verdict: JSON.parse(result.stdout) as JsonVerdict };
}

const ownershipFindings = (verdict: JsonVerdict) => verdict.findings.filter((finding) => finding.rule === "tenant-ownership");

describe.skipIf(!existsSync(fleet))("fleet-warden check: ownership on flux2-multi-tenancy", () => {
  // Read when a test runs: a skipped suite is still collected, without the corpus.
  const intervalChange = () => ({ [KYVERNO_SYNC]: edited(KYVERNO_SYNC, "interval: 720m0s", "interval: 60m0s") });

  it("passes an owner's change: the author is in the owning team", async () => {
    const { verdict } = await check(fleetRepo(intervalChange()), "--author", "plat-paul", "--teams", "acme/platform");
    expect(verdict.ownership).toEqual({
      source: ".github/CODEOWNERS",
      entries: [{ path: KYVERNO_SYNC, owners: ["@acme/platform"], satisfiedBy: "author @plat-paul (member of @acme/platform)", allowed: true }],
      notices: [],
    });
    expect(ownershipFindings(verdict)).toEqual([]);
    expect(verdict.problems).toEqual([]);
  });

  it("fails a stranger's change with exit 1, naming the owners on line 1 of the file", async () => {
    const { code, verdict } = await check(fleetRepo(intervalChange()), "--author", "dev-dora", "--teams", "acme/dev-team");
    expect(code).toBe(1);
    expect(verdict.conclusion).toBe("failure");
    expect(verdict.ownership.entries).toEqual([{ path: KYVERNO_SYNC, owners: ["@acme/platform"], allowed: false }]);
    expect(ownershipFindings(verdict)).toEqual([
      {
        rule: "tenant-ownership",
        severity: "error",
        path: KYVERNO_SYNC,
        line: 1,
        endLine: 1,
        message: `\`${KYVERNO_SYNC}\` is platform territory; approval needed from @acme/platform (the author is not an owner, and no owner approved the current head commit).`,
      },
    ]);
  });

  it("lets a tenant change its own file, and an owner's approval (--approved-by) allow a stranger's", async () => {
    const repo = fleetRepo({
      [STAGING_PATCH]: edited(STAGING_PATCH, "path: ./staging", "path: ./staging/v2"),
      [POLICY]: `${readFileSync(join(fleet, POLICY), "utf8")}# reviewed\n`,
    });
    const { verdict } = await check(repo, "--author", "dev-dora", "--teams", "acme/dev-team", "--approved-by", "Security-Sam");
    expect(verdict.ownership.entries).toEqual([
      { path: POLICY, owners: ["@acme/platform", "@security-sam"], satisfiedBy: "approval by @Security-Sam", allowed: true },
      { path: STAGING_PATCH, owners: ["@acme/dev-team"], satisfiedBy: "author @dev-dora (member of @acme/dev-team)", allowed: true },
    ]);
    expect(ownershipFindings(verdict)).toEqual([]);
  });

  it("judges a pull request that rewrites CODEOWNERS to grant itself access by the base CODEOWNERS", async () => {
    const repo = fleetRepo({ ".github/CODEOWNERS": "* @acme/dev-team\n", ...intervalChange() });
    const { code, verdict } = await check(repo, "--author", "dev-dora", "--teams", "acme/dev-team");
    expect(code).toBe(1);
    expect(verdict.ownership.entries).toEqual([
      { path: ".github/CODEOWNERS", owners: ["@acme/platform"], allowed: false },
      { path: KYVERNO_SYNC, owners: ["@acme/platform"], allowed: false },
    ]);
    expect(ownershipFindings(verdict).map((finding) => [finding.path, finding.line])).toEqual([
      [".github/CODEOWNERS", 1],
      [KYVERNO_SYNC, 1],
    ]);
  });

  it("says ownership was not checked without --author", async () => {
    const { verdict } = await check(fleetRepo(intervalChange()));
    expect(verdict.ownership).toEqual({
      source: ".github/CODEOWNERS",
      entries: [],
      notices: ["Ownership was not checked: the pull request's author is unknown (run the CLI with --author LOGIN, and --teams for the author's teams)."],
    });
    expect(ownershipFindings(verdict)).toEqual([]);
  });

  it("lists the denied paths in the text report", async () => {
    const result = await runCli(["check", "--repo", fleetRepo(intervalChange()).dir, "--base", "main", "--head", "HEAD", "--author", "dev-dora"]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`\nOwnership:\n  ${KYVERNO_SYNC}: needs @acme/platform\n`);
  });
});
