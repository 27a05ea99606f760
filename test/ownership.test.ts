import { describe, expect, it } from "vitest";
import { configSchema, parseConfig } from "../src/core/config.js";
import { folderFiles } from "../src/core/files.js";
import { approversOfHead, evaluateOwnership } from "../src/core/ownership.js";
import type { ChangedFile, PullRequestFacts, Review, TenantInfo } from "../src/core/types.js";

const HEAD = "a".repeat(40);
const OLDER = "b".repeat(40);

const CODEOWNERS = `# platform owns everything by default
*                  @acme/platform
/apps/dev-team/    @acme/dev-team
/apps/other-team/  @acme/other-team
/tenants/base/dev-team/kustomization.yaml @platform-lead
/docs/
`;

const tenants: TenantInfo[] = [
  { name: "dev-team", paths: ["apps/dev-team/**"], namespaces: ["apps"], origin: "config" },
  { name: "other-team", paths: ["apps/other-team/**"], namespaces: ["other"], origin: "config" },
];

interface FactsOptions {
  author?: string;
  changed?: Array<string | Partial<ChangedFile>>;
  reviews?: Review[];
  codeowners?: string | null;
  /** team -> members */
  teams?: Record<string, string[]>;
  /** The GitHub login of each commit's author (undefined: GitHub maps no account); absent: not known. */
  commitAuthors?: Array<string | undefined>;
}

/** Facts with a team directory that records every membership question it is asked. */
function facts(options: FactsOptions = {}) {
  const questions: string[] = [];
  const teams = options.teams ?? { "acme/dev-team": ["dev-alice"], "acme/platform": ["plat-bob"], "acme/other-team": ["other-olga"] };
  const changedFiles: ChangedFile[] = (options.changed ?? ["apps/dev-team/base/deployment.yaml"]).map((file) =>
    typeof file === "string" ? { path: file, status: "modified", addedLines: [1], hunks: [{ start: 1, end: 1 }] } : { status: "modified", addedLines: [], hunks: [], path: "", ...file },
  );
  const codeowners = options.codeowners === undefined ? CODEOWNERS : options.codeowners;
  const value: PullRequestFacts = {
    repository: { owner: "acme", name: "fleet" },
    baseSha: OLDER,
    headSha: HEAD,
    baseFiles: folderFiles("/nonexistent/base"),
    headFiles: folderFiles("/nonexistent/head"),
    changedFiles,
    author: options.author ?? "dev-alice",
    ...(options.commitAuthors ? { commitAuthors: async () => options.commitAuthors! } : {}),
    reviews: options.reviews ?? [],
    policy: codeowners === null ? {} : { codeowners: { path: ".github/CODEOWNERS", text: codeowners } },
    isTeamMember: async (team, login) => {
      questions.push(`${team} ${login}`);
      return (teams[team] ?? []).includes(login);
    },
  };
  return { facts: value, questions };
}

const config = (raw: unknown = {}) => configSchema.parse(raw);

const approved = (user: string, commitId = HEAD, submittedAt?: string): Review => ({ user, state: "APPROVED", commitId, ...(submittedAt ? { submittedAt } : {}) });

describe("evaluateOwnership: who is allowed", () => {
  it("allows a tenant's member in the tenant's folder, asking about the team once for all its paths", async () => {
    const { facts: prFacts, questions } = facts({ changed: ["apps/dev-team/base/deployment.yaml", "apps/dev-team/base/service.yaml", "apps/dev-team/staging/replicas.yaml"] });
    const report = await evaluateOwnership(prFacts, config(), tenants);
    expect(report).toEqual({
      source: ".github/CODEOWNERS",
      entries: ["apps/dev-team/base/deployment.yaml", "apps/dev-team/base/service.yaml", "apps/dev-team/staging/replicas.yaml"].map((path) => ({
        path,
        owners: ["@acme/dev-team"],
        satisfiedBy: "author @dev-alice (member of @acme/dev-team)",
        allowed: true,
      })),
      notices: [],
    });
    expect(questions).toEqual(["acme/dev-team dev-alice"]);
  });

  it("denies a tenant's member outside its folder and names the owners", async () => {
    const { facts: prFacts, questions } = facts({ changed: ["apps/other-team/app.yaml", "clusters/production/tenants.yaml", "apps/dev-team/x.yaml"] });
    const report = await evaluateOwnership(prFacts, config(), tenants);
    expect(report.entries).toEqual([
      { path: "apps/other-team/app.yaml", owners: ["@acme/other-team"], allowed: false },
      { path: "clusters/production/tenants.yaml", owners: ["@acme/platform"], allowed: false },
      { path: "apps/dev-team/x.yaml", owners: ["@acme/dev-team"], satisfiedBy: "author @dev-alice (member of @acme/dev-team)", allowed: true },
    ]);
    expect(questions).toEqual(["acme/other-team dev-alice", "acme/platform dev-alice", "acme/dev-team dev-alice"]);
  });

  it("matches a user owner without asking anything, whatever the login's case", async () => {
    const { facts: prFacts, questions } = facts({ author: "Platform-Lead", changed: ["tenants/base/dev-team/kustomization.yaml"] });
    const report = await evaluateOwnership(prFacts, config(), tenants);
    expect(report.entries).toEqual([{ path: "tenants/base/dev-team/kustomization.yaml", owners: ["@platform-lead"], satisfiedBy: "author @Platform-Lead", allowed: true }]);
    expect(questions).toEqual([]);
  });

  it("allows a change an owner approved at the head commit: a user owner, or a member of an owner team", async () => {
    const { facts: prFacts, questions } = facts({
      changed: ["tenants/base/dev-team/kustomization.yaml", "clusters/production/tenants.yaml", "clusters/staging/tenants.yaml"],
      reviews: [approved("PLATFORM-LEAD"), approved("plat-bob")],
    });
    const report = await evaluateOwnership(prFacts, config(), tenants);
    expect(report.entries.map((entry) => [entry.path, entry.satisfiedBy, entry.allowed])).toEqual([
      ["tenants/base/dev-team/kustomization.yaml", "approval by @PLATFORM-LEAD", true],
      ["clusters/production/tenants.yaml", "approval by @plat-bob (member of @acme/platform)", true],
      ["clusters/staging/tenants.yaml", "approval by @plat-bob (member of @acme/platform)", true],
    ]);
    // The author first, then the approvers in order; every answer is reused for the next path.
    expect(questions).toEqual(["acme/platform dev-alice", "acme/platform PLATFORM-LEAD", "acme/platform plat-bob"]);
  });

  it("does not count an approval of an older commit", async () => {
    const { facts: prFacts } = facts({ changed: ["clusters/production/tenants.yaml"], reviews: [approved("plat-bob", OLDER)] });
    const report = await evaluateOwnership(prFacts, config(), tenants);
    expect(report.entries).toEqual([{ path: "clusters/production/tenants.yaml", owners: ["@acme/platform"], allowed: false }]);
  });

  it("judges both sides of a rename and deleted files", async () => {
    const { facts: prFacts } = facts({
      changed: [
        { path: "clusters/production/dev-team.yaml", previousPath: "apps/dev-team/base/dev-team.yaml", status: "renamed" },
        { path: "apps/dev-team/old.yaml", status: "removed" },
        { path: "apps/other-team/gone.yaml", status: "removed" },
      ],
    });
    const report = await evaluateOwnership(prFacts, config(), tenants);
    expect(report.entries.map((entry) => [entry.path, entry.allowed])).toEqual([
      ["apps/dev-team/base/dev-team.yaml", true],
      ["clusters/production/dev-team.yaml", false],
      ["apps/dev-team/old.yaml", true],
      ["apps/other-team/gone.yaml", false],
    ]);
  });

  it("judges a change to CODEOWNERS itself by the base CODEOWNERS it was given", async () => {
    const { facts: prFacts } = facts({ changed: [".github/CODEOWNERS", ".github/fleet-warden.yml"] });
    const report = await evaluateOwnership(prFacts, config(), tenants);
    expect(report.entries).toEqual([
      { path: ".github/CODEOWNERS", owners: ["@acme/platform"], allowed: false },
      { path: ".github/fleet-warden.yml", owners: ["@acme/platform"], allowed: false },
    ]);
  });

  it("judges excluded paths too: exclude silences findings on files, not who may change them", async () => {
    const { facts: prFacts } = facts({ changed: ["docs/guide.md", "docs/CODEOWNERS", ".github/fleet-warden.yml", "apps/dev-team/x.yaml"] });
    const report = await evaluateOwnership(prFacts, config({ exclude: ["docs/**", ".github/**", "apps/**"] }), tenants);
    expect(report.entries.map((entry) => [entry.path, entry.allowed])).toEqual([
      ["docs/guide.md", false],
      ["docs/CODEOWNERS", false],
      [".github/fleet-warden.yml", false],
      ["apps/dev-team/x.yaml", true],
    ]);
  });
});

describe("evaluateOwnership: reviews", () => {
  const judge = async (reviews: Review[]) => {
    const { facts: prFacts } = facts({ changed: ["clusters/a.yaml"], reviews });
    return (await evaluateOwnership(prFacts, config(), tenants)).entries[0];
  };

  it("a later 'changes requested' or a dismissal revokes an approval; a later comment does not", async () => {
    expect(await judge([approved("plat-bob"), { user: "plat-bob", state: "CHANGES_REQUESTED", commitId: HEAD }])).toMatchObject({ allowed: false });
    expect(await judge([{ user: "plat-bob", state: "DISMISSED", commitId: HEAD }])).toMatchObject({ allowed: false });
    expect(await judge([approved("plat-bob"), { user: "plat-bob", state: "COMMENTED", commitId: HEAD }])).toMatchObject({ allowed: true });
    expect(await judge([{ user: "plat-bob", state: "CHANGES_REQUESTED", commitId: OLDER }, approved("plat-bob")])).toMatchObject({ allowed: true });
  });

  it("orders reviews by submission time when GitHub gives it", () => {
    const reviews: Review[] = [
      { user: "plat-bob", state: "CHANGES_REQUESTED", commitId: HEAD, submittedAt: "2026-01-02T00:00:00Z" },
      approved("plat-bob", HEAD, "2026-01-01T00:00:00Z"),
      approved("carol", HEAD, "2026-01-01T00:00:00Z"),
      { user: "carol", state: "PENDING", commitId: HEAD },
    ];
    expect(approversOfHead(reviews, HEAD)).toEqual(["carol"]);
  });
});

describe("evaluateOwnership: paths without an owner belong to the platform", () => {
  it("takes the platform from the CODEOWNERS catch-all line when the config names nobody", async () => {
    const { facts: prFacts } = facts({ changed: ["docs/guide.md"] });
    const report = await evaluateOwnership(prFacts, config(), tenants);
    expect(report.entries).toEqual([{ path: "docs/guide.md", owners: ["@acme/platform"], allowed: false }]);
    expect(report.notices).toEqual(["No CODEOWNERS line owns `docs/guide.md`: the platform decides (@acme/platform, from the CODEOWNERS catch-all line 2 (`*`))."]);
  });

  it("takes platform.owners from the config first", async () => {
    const { facts: prFacts } = facts({ author: "root-rita", changed: ["docs/guide.md"] });
    const report = await evaluateOwnership(prFacts, config({ platform: { owners: ["@root-rita", "@acme/sre"] } }), tenants);
    expect(report.entries).toEqual([{ path: "docs/guide.md", owners: ["@root-rita", "@acme/sre"], satisfiedBy: "author @root-rita", allowed: true }]);
    expect(report.notices).toEqual([
      "No CODEOWNERS line owns `docs/guide.md`: the platform decides (@root-rita, @acme/sre, from platform.owners in .github/fleet-warden.yml).",
    ]);
  });

  it("denies an unowned path when there is no platform owner at all, and says how to fix it", async () => {
    const { facts: prFacts } = facts({ codeowners: "/apps/other-team/ @acme/other-team\n", changed: ["apps/dev-team/x.yaml", "clusters/a.yaml"] });
    const report = await evaluateOwnership(prFacts, config(), tenants);
    expect(report.entries).toEqual([
      { path: "apps/dev-team/x.yaml", owners: [], allowed: false },
      { path: "clusters/a.yaml", owners: [], allowed: false },
    ]);
    expect(report.notices).toEqual([
      "No CODEOWNERS line owns `apps/dev-team/x.yaml` (territory of tenant dev-team), `clusters/a.yaml` and no platform owner is known, so nobody can approve them: add an owner line to CODEOWNERS, or set platform.owners in .github/fleet-warden.yml.",
    ]);
  });
});

describe("evaluateOwnership: what it cannot judge", () => {
  it("does not enforce anything without a CODEOWNERS, and says so", async () => {
    const { facts: prFacts, questions } = facts({ codeowners: null });
    expect(await evaluateOwnership(prFacts, config(), tenants)).toEqual({
      entries: [],
      notices: ["No CODEOWNERS on the base branch (.github/CODEOWNERS, CODEOWNERS or docs/CODEOWNERS): ownership is not enforced."],
    });
    expect(questions).toEqual([]);
  });

  it("says that platform.owners, without a CODEOWNERS, only approves exceptions", async () => {
    const { facts: prFacts } = facts({ codeowners: null });
    expect((await evaluateOwnership(prFacts, config({ platform: { owners: ["@acme/platform"] } }), tenants)).notices).toEqual([
      "No CODEOWNERS on the base branch (.github/CODEOWNERS, CODEOWNERS or docs/CODEOWNERS): ownership is not enforced. platform.owners in .github/fleet-warden.yml only approves exceptions without one.",
    ]);
  });

  it("says ownership was not checked when the author is unknown (the CLI without --author)", async () => {
    const { facts: prFacts, questions } = facts({ author: "" });
    expect(await evaluateOwnership(prFacts, config(), tenants)).toEqual({
      source: ".github/CODEOWNERS",
      entries: [],
      notices: ["Ownership was not checked: the pull request's author is unknown (run the CLI with --author LOGIN, and --teams for the author's teams)."],
    });
    expect(questions).toEqual([]);
  });

  it("lists CODEOWNERS lines GitHub skips as notices, with file and line", async () => {
    const { facts: prFacts } = facts({ codeowners: "* @acme/platform\n!/apps/dev-team/ @acme/dev-team\n/apps/ dev-team\n", changed: ["apps/dev-team/x.yaml"] });
    const report = await evaluateOwnership(prFacts, config(), tenants);
    expect(report.notices).toEqual([
      ".github/CODEOWNERS:2: `!/apps/dev-team/`: `!` negation is not supported in CODEOWNERS; GitHub ignores this line, and so does fleet-warden",
      ".github/CODEOWNERS:3: `dev-team` is not an owner (owners are @user, @org/team or an email address); GitHub ignores this line, and so does fleet-warden",
    ]);
    expect(report.entries).toEqual([{ path: "apps/dev-team/x.yaml", owners: ["@acme/platform"], allowed: false }]);
  });

  it("never lets an email owner satisfy ownership, and says why once", async () => {
    const { facts: prFacts } = facts({ author: "docs", codeowners: "* @acme/platform\n/docs/ docs@example.com\n", changed: ["docs/a.md", "docs/b.md"] });
    const report = await evaluateOwnership(prFacts, config(), tenants);
    expect(report.entries.map((entry) => [entry.path, entry.owners, entry.allowed])).toEqual([
      ["docs/a.md", ["docs@example.com"], false],
      ["docs/b.md", ["docs@example.com"], false],
    ]);
    expect(report.notices).toEqual([
      ".github/CODEOWNERS:2: owner docs@example.com is an email address; fleet-warden cannot tell which GitHub account that is, so it never satisfies ownership (name the @user instead).",
    ]);
  });

  it("counts a team question that fails as 'not a member', says so, and does not ask again", async () => {
    const { facts: prFacts } = facts({ changed: ["clusters/a.yaml", "clusters/b.yaml"] });
    let calls = 0;
    prFacts.isTeamMember = async () => {
      calls++;
      throw new Error("HTTP 502");
    };
    const report = await evaluateOwnership(prFacts, config(), tenants);
    expect(report.entries.map((entry) => entry.allowed)).toEqual([false, false]);
    expect(report.notices).toEqual(["Could not tell whether @dev-alice is a member of @acme/platform (HTTP 502): counted as not a member."]);
    expect(calls).toBe(1);
  });
});

describe("platform.owners in .github/fleet-warden.yml", () => {
  it("accepts @user and @org/team, and names the key of anything else", () => {
    expect(parseConfig("platform:\n  owners: ['@acme/platform', '@root-rita']\n")).toMatchObject({ ok: true, config: { platform: { owners: ["@acme/platform", "@root-rita"] } } });
    expect(parseConfig("platform:\n  owners: ['acme/platform', 'ops@example.com']\n")).toMatchObject({
      ok: false,
      errors: [".github/fleet-warden.yml: `platform.owners.0`: must be @user or @org/team", ".github/fleet-warden.yml: `platform.owners.1`: must be @user or @org/team"],
    });
  });
});

describe("ownership of a pull request that carries other people's commits", () => {
  const platformPath = ["infrastructure/rbac/admin.yaml"];

  it("credits the author only where every commit's author is an owner too", async () => {
    const pushedOnto = facts({ author: "plat-bob", changed: platformPath, commitAuthors: ["plat-bob", "dev-alice"] });
    const report = await evaluateOwnership(pushedOnto.facts, config(), tenants);
    expect(report.entries).toEqual([{ path: "infrastructure/rbac/admin.yaml", owners: ["@acme/platform"], allowed: false }]);
    expect(report.notices).toContain(
      "The pull request carries commits by @dev-alice, not only by @plat-bob: the author's ownership counts only where every commit's author is an owner; elsewhere an owner's approval is needed.",
    );
    // A co-author who is an owner too, or an owner's approval of the head, is enough.
    const colleagues = facts({ author: "plat-bob", changed: platformPath, commitAuthors: ["plat-bob", "plat-carol"], teams: { "acme/platform": ["plat-bob", "plat-carol"] } });
    expect((await evaluateOwnership(colleagues.facts, config(), tenants)).entries[0]).toMatchObject({ allowed: true, satisfiedBy: "author @plat-bob (member of @acme/platform)" });
    const approvedToo = facts({ author: "plat-bob", changed: platformPath, commitAuthors: ["plat-bob", "dev-alice"], reviews: [approved("plat-carol")], teams: { "acme/platform": ["plat-bob", "plat-carol"] } });
    expect((await evaluateOwnership(approvedToo.facts, config(), tenants)).entries[0]).toMatchObject({ allowed: true, satisfiedBy: "approval by @plat-carol (member of @acme/platform)" });
  });

  it("does not credit the author when GitHub maps a commit's author to no account", async () => {
    const unknown = facts({ changed: ["apps/dev-team/base/deployment.yaml"], commitAuthors: ["dev-alice", undefined] });
    const report = await evaluateOwnership(unknown.facts, config(), tenants);
    expect(report.entries[0]).toMatchObject({ allowed: false });
    expect(report.notices).toContain(
      "The pull request carries commits by an author GitHub maps to no account, not only by @dev-alice: the author's ownership counts only where every commit's author is an owner; elsewhere an owner's approval is needed.",
    );
    // The author's own commits only: credited as before.
    const own = facts({ changed: ["apps/dev-team/base/deployment.yaml"], commitAuthors: ["dev-alice", "Dev-Alice"] });
    expect((await evaluateOwnership(own.facts, config(), tenants)).entries[0]).toMatchObject({ allowed: true, satisfiedBy: "author @dev-alice (member of @acme/dev-team)" });
  });
});
