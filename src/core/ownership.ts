// CODEOWNERS-style ownership of every changed path, judged by the base branch's CODEOWNERS.
// A path is allowed when the author (and the author of every commit it carries) is one of its owners, or when an
// owner approved the current head commit.
// A path no CODEOWNERS line owns belongs to the platform: `platform.owners` in the config, else the owners of
// the CODEOWNERS catch-all line (`*`), must allow it.
import { parseCodeowners, ownerKind, ruleFor, type Codeowners } from "./codeowners.js";
import type { Config } from "./config.js";
import { territoryResolver } from "./tenants.js";
import type { ChangedFile, OwnershipEntry, OwnershipReport, PullRequestFacts, Review, TenantInfo } from "./types.js";
import { errorMessage } from "./yaml.js";

const CATCH_ALL_PATTERNS = new Set(["*", "**", "/**"]);

export async function evaluateOwnership(facts: PullRequestFacts, config: Config, tenants: TenantInfo[]): Promise<OwnershipReport> {
  const file = facts.policy.codeowners;
  if (!file) {
    // platform.owners names who approves what CODEOWNERS leaves unowned: without the file, it approves exceptions only.
    const ignored = config.platform.owners ? " platform.owners in .github/fleet-warden.yml only approves exceptions without one." : "";
    return { entries: [], notices: [`No CODEOWNERS on the base branch (.github/CODEOWNERS, CODEOWNERS or docs/CODEOWNERS): ownership is not enforced.${ignored}`] };
  }
  const codeowners = parseCodeowners(file.text);
  const notices = codeowners.notices.map((notice) => `${file.path}:${notice.line}: ${notice.message}`);
  const report = (entries: OwnershipEntry[]): OwnershipReport => ({ source: file.path, entries, notices: [...new Set(notices)] });
  if (facts.author === "") {
    notices.push("Ownership was not checked: the pull request's author is unknown (run the CLI with --author LOGIN, and --teams for the author's teams).");
    return report([]);
  }

  const platform = platformOwners(config, codeowners);
  const judge = ownershipJudge(facts, notices);
  const territory = territoryResolver(tenants);
  const entries: OwnershipEntry[] = [];
  const unowned: string[] = [];
  for (const path of pathsToJudge(facts.changedFiles)) {
    const rule = ruleFor(codeowners, path);
    const owned = rule !== undefined && rule.owners.length > 0;
    const owners = owned ? rule.owners : platform.owners;
    if (owned) notices.push(...emailOwnerNotices(owners, `${file.path}:${rule.line}`));
    else unowned.push(path);
    const satisfiedBy = await judge(owners);
    entries.push({ path, owners, ...(satisfiedBy ? { satisfiedBy } : {}), allowed: satisfiedBy !== undefined });
  }
  if (unowned.length > 0) notices.push(unownedNotice(unowned, platform, territory));
  return report(entries);
}

/**
 * Who on the platform side approved the pull request's head commit (or authored it), if anybody: a new
 * `fleet-warden.io/ignore` exception takes effect only with the platform's consent, never the tenant's own.
 */
export async function platformApproval(facts: PullRequestFacts, config: Config): Promise<{ approvedBy?: string; owners: string[] }> {
  const codeowners = facts.policy.codeowners ? parseCodeowners(facts.policy.codeowners.text) : { rules: [], notices: [] };
  const { owners } = platformOwners(config, codeowners);
  if (owners.length === 0 || facts.author === "") return { owners };
  const approvedBy = await ownershipJudge(facts, [])(owners);
  return { ...(approvedBy ? { approvedBy } : {}), owners };
}

/**
 * Every path the pull request touches, once: both sides of a rename, deleted files too. `exclude` does not apply:
 * it silences findings on files, not who may change them (Flux may deploy an excluded file all the same).
 */
function pathsToJudge(changedFiles: ChangedFile[]): string[] {
  const paths = new Set<string>();
  for (const file of changedFiles) {
    if (file.previousPath !== undefined) paths.add(file.previousPath);
    paths.add(file.path);
  }
  return [...paths];
}

interface PlatformOwners {
  owners: string[];
  /** Where they come from, for the notice. */
  origin?: string;
}

function platformOwners(config: Config, codeowners: Codeowners): PlatformOwners {
  if (config.platform.owners) return { owners: config.platform.owners, origin: "platform.owners in .github/fleet-warden.yml" };
  const catchAll = codeowners.rules.findLast((rule) => CATCH_ALL_PATTERNS.has(rule.pattern) && rule.owners.length > 0);
  return catchAll ? { owners: catchAll.owners, origin: `the CODEOWNERS catch-all line ${catchAll.line} (\`${catchAll.pattern}\`)` } : { owners: [] };
}

function unownedNotice(paths: string[], platform: PlatformOwners, territory: ReturnType<typeof territoryResolver>): string {
  const listed = paths.map((path) => {
    const place = territory(path);
    return place.kind === "tenant" ? `\`${path}\` (territory of tenant ${place.tenant.name})` : `\`${path}\``;
  });
  if (platform.origin) return `No CODEOWNERS line owns ${listed.join(", ")}: the platform decides (${platform.owners.join(", ")}, from ${platform.origin}).`;
  return `No CODEOWNERS line owns ${listed.join(", ")} and no platform owner is known, so nobody can approve ${paths.length === 1 ? "it" : "them"}: add an owner line to CODEOWNERS, or set platform.owners in .github/fleet-warden.yml.`;
}

function emailOwnerNotices(owners: string[], where: string): string[] {
  return owners
    .filter((owner) => ownerKind(owner) === "email")
    .map((owner) => `${where}: owner ${owner} is an email address; fleet-warden cannot tell which GitHub account that is, so it never satisfies ownership (name the @user instead).`);
}

/**
 * Decides who satisfies a list of owners. Cheap answers first (the author or an approver named as a user), team
 * membership last and lazily: each (team, login) question is asked at most once per evaluation, since the App
 * answers it with a GitHub call.
 */
function ownershipJudge(facts: PullRequestFacts, notices: string[]): (owners: string[]) => Promise<string | undefined> {
  const author = facts.author;
  const approvers = approversOfHead(facts.reviews, facts.headSha);
  const answers = new Map<string, Promise<boolean>>();
  let coAuthors: Promise<Array<string | undefined>> | undefined;
  // The pull request's opener is not the only one whose work it carries: anyone with write access can push
  // commits onto it. Authorship is credited only when every commit's author could have authored it alone.
  const otherCommitAuthors = () =>
    (coAuthors ??= (facts.commitAuthors?.() ?? Promise.resolve([])).then(
      (logins) => [...new Set(logins.map((login) => login?.toLowerCase()))].filter((login) => login !== author.toLowerCase()),
      (error: unknown) => {
        notices.push(`Could not list the pull request's commits (${errorMessage(error)}): the author's ownership is not credited; an owner's approval is needed.`);
        return [undefined];
      },
    ));
  const reported = new Set<string>();
  /** Whether every other commit author is an owner too (`owns`); says once who is not. */
  const othersOwn = async (owns: (login: string) => Promise<string | undefined>): Promise<boolean> => {
    for (const login of await otherCommitAuthors()) {
      if (login !== undefined && (await owns(login)) !== undefined) continue;
      const who = login === undefined ? "an author GitHub maps to no account" : `@${login}`;
      if (!reported.has(who)) {
        reported.add(who);
        notices.push(`The pull request carries commits by ${who}, not only by @${author}: the author's ownership counts only where every commit's author is an owner; elsewhere an owner's approval is needed.`);
      }
      return false;
    }
    return true;
  };
  const isMember = (team: string, login: string): Promise<boolean> => {
    const key = `${team}|${login.toLowerCase()}`;
    let answer = answers.get(key);
    if (!answer) {
      answer = facts.isTeamMember(team, login).catch((error: unknown) => {
        notices.push(`Could not tell whether @${login} is a member of @${team} (${errorMessage(error)}): counted as not a member.`);
        return false;
      });
      answers.set(key, answer);
    }
    return answer;
  };

  return async (owners) => {
    const users = new Set(owners.filter((owner) => ownerKind(owner) === "user").map((owner) => owner.slice(1).toLowerCase()));
    const teams = owners.filter((owner) => ownerKind(owner) === "team").map((owner) => owner.slice(1).toLowerCase());
    const owns = async (login: string): Promise<string | undefined> => {
      if (users.has(login.toLowerCase())) return "";
      for (const team of teams) if (await isMember(team, login)) return ` (member of @${team})`;
      return undefined;
    };
    const credit = async (membership: string | undefined) => (membership !== undefined && (await othersOwn(owns)) ? `author @${author}${membership}` : undefined);
    const authorIsUser = users.has(author.toLowerCase());
    const asUser = authorIsUser ? await credit("") : undefined;
    if (asUser) return asUser;
    const approvingUser = approvers.find((login) => users.has(login.toLowerCase()));
    if (approvingUser) return `approval by @${approvingUser}`;
    const asMember = authorIsUser ? undefined : await credit(await owns(author));
    if (asMember) return asMember;
    for (const team of teams) {
      for (const login of approvers) {
        if (await isMember(team, login)) return `approval by @${login} (member of @${team})`;
      }
    }
    return undefined;
  };
}

const DECISIVE_STATES = new Set<Review["state"]>(["APPROVED", "CHANGES_REQUESTED", "DISMISSED"]);

/**
 * Logins whose latest decisive review approves the head commit. A comment does not change a reviewer's
 * decision; a later "changes requested" or a dismissal revokes an approval; an approval of an older commit
 * does not count.
 */
export function approversOfHead(reviews: Review[], headSha: string): string[] {
  const latest = new Map<string, Review>();
  const chronological = reviews
    .map((review, order) => ({ review, order }))
    .sort((a, b) => (a.review.submittedAt ?? "").localeCompare(b.review.submittedAt ?? "") || a.order - b.order);
  for (const { review } of chronological) {
    if (DECISIVE_STATES.has(review.state)) latest.set(review.user.toLowerCase(), review);
  }
  return [...latest.values()].filter((review) => review.state === "APPROVED" && review.commitId === headSha).map((review) => review.user);
}
