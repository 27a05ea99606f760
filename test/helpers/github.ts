// A stand-in for GitHub's REST API, built on nock: a real git repository behind it, responses shaped like
// GitHub's, every call recorded, and the resulting state (check runs, review comments, merges) kept for assertions.
import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import nock from "nock";
import { Probot, ProbotOctokit, type Logger } from "probot";
import { checkRunsListed } from "../../bench/github-stand-in.js";
import { createApp, type AppOptions, type EvaluationJob } from "../../src/app/index.js";
import type { Scheduler } from "../../src/app/scheduler.js";
import { repoWithChange, writeTree, type ChangeRepo, type Tree } from "./fleet.js";

export const API = "https://api.github.com";
const CODELOAD = "https://codeload.github.com";

export const APP_ID = 4242;
export const APP_SLUG = "fleet-warden";
export const BOT_LOGIN = `${APP_SLUG}[bot]`;
export const INSTALLATION_ID = 99;

// ---------------------------------------------------------------------------------------------------------
// Webhook payloads from @octokit/webhooks-examples.

interface ExampleGroup {
  name: string;
  examples: Array<Record<string, unknown> & { action?: string }>;
}

const require = createRequire(import.meta.url);
const examples: ExampleGroup[] = JSON.parse(readFileSync(require.resolve("@octokit/webhooks-examples/api.github.com/index.json"), "utf8"));

/** A deep copy of the first example of `name.action` that has an installation (one is added when none has). */
export function webhookExample(name: string, action?: string): Record<string, any> {
  const group = examples.find((candidate) => candidate.name === name);
  const matching = (group?.examples ?? []).filter((example) => example.action === action);
  const example = matching.find((candidate) => candidate.installation) ?? matching[0];
  if (!example) throw new Error(`no webhook example for ${name}.${action}`);
  const copy = structuredClone(example) as Record<string, any>;
  copy.installation = { id: INSTALLATION_ID, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uOTk=" };
  return copy;
}

// ---------------------------------------------------------------------------------------------------------
// The stand-in.

export interface RecordedCall {
  method: string;
  path: string;
  body?: any;
}

export interface CheckRunState {
  id: number;
  head_sha: string;
  name: string;
  status: string;
  conclusion: string | null;
  output: { title?: string; summary?: string };
  annotations: any[];
  app: { id: number; slug: string };
  external_id?: string;
  check_suite?: { id: number };
}

/** An injected fault: the next `times` calls matching `method` and `path` wait (`until`, `delayMs`), then get `status` (or their normal answer when none). */
export interface Fault {
  method: string;
  path: RegExp;
  times: number;
  status?: number;
  /** GitHub's error message (plugin-throttling recognises a secondary rate limit by it). */
  message?: string;
  headers?: Record<string, string>;
  until?: Promise<void>;
  delayMs?: number;
}

export interface ReviewCommentState {
  id: number;
  path: string;
  line: number;
  body: string;
  commit_id: string;
  user: { login: string; type: string };
}

export interface FakeGitHubOptions {
  owner?: string;
  repo?: string;
  number?: number;
  base: Tree;
  head: Tree;
  author?: string;
  headBranch?: string;
  draft?: boolean;
  fromFork?: boolean;
  /** Reviews on the pull request, as GitHub lists them. */
  reviews?: Array<{ user: string; state: string; commit: "head" | string }>;
  /** Team members: "org/team" -> logins. */
  teams?: Record<string, string[]>;
  /** Review comments that already exist on the pull request (someone else's, or ours from a previous run). */
  comments?: Array<Omit<ReviewCommentState, "id" | "commit_id">>;
  /** The GitHub login of each commit's author, as `pulls.listCommits` maps it (null: no account); default: the author. */
  commitAuthors?: Array<string | null>;
}

export class FakeGitHub {
  readonly owner: string;
  readonly repo: string;
  readonly number: number;
  readonly git: ChangeRepo;
  readonly calls: RecordedCall[] = [];
  readonly checkRuns: CheckRunState[] = [];
  readonly comments: ReviewCommentState[] = [];
  readonly reviewsPosted: any[] = [];
  /** Commit statuses (other CI), as `repos.getCombinedStatusForRef` lists them. */
  readonly statuses: Array<{ sha: string; context: string; state: "pending" | "success" | "failure" | "error" }> = [];
  /** Other apps' check suites, as `checks.listSuitesForRef` lists them. */
  readonly checkSuites: Array<{ id: number; head_sha: string; status: string; conclusion: string | null; latest_check_runs_count: number; app: { id: number; slug: string } }> = [];
  /** Merges GitHub performed: the body of each successful `pulls.merge`. */
  readonly merges: any[] = [];
  /** Requests that matched no route: the App called something GitHub was not expected to be asked. */
  readonly unmatched: string[] = [];
  private readonly onNoMatch = (request: { method?: string; path?: string; href?: string }) => {
    this.unmatched.push(`${request.method} ${request.href ?? request.path}`);
  };
  baseSha: string;
  headSha: string;
  pull: Record<string, any>;
  reviews: Array<Record<string, any>>;
  /** Faults to inject: the next `times` calls matching `method` and `path` get `status`. */
  readonly faults: Fault[] = [];
  /** Date.now() at each recorded call (fake clocks included), index for index with `calls`. */
  readonly callTimes: number[] = [];
  /** Installation tokens issued, in order; a revoked one is answered 401 "Bad credentials". */
  readonly tokens: Array<{ token: string; revoked: boolean }> = [];
  /** Runs after each recorded call, before the reply is built (e.g. to push a commit mid-evaluation). */
  afterCall?: (call: RecordedCall) => void;
  private nextId = 1000;

  constructor(readonly options: FakeGitHubOptions) {
    this.owner = options.owner ?? "acme";
    this.repo = options.repo ?? "fleet";
    this.number = options.number ?? 7;
    this.git = repoWithChange(options.base, options.head);
    this.baseSha = this.git.git("rev-parse", "main").trim();
    this.headSha = this.git.git("rev-parse", "change").trim();
    const baseRepo = { id: 1001, name: this.repo, full_name: `${this.owner}/${this.repo}`, owner: { login: this.owner } };
    const headRepo = options.fromFork ? { id: 2002, name: this.repo, full_name: `someone/${this.repo}`, owner: { login: "someone" } } : baseRepo;
    this.pull = {
      number: this.number,
      state: "open",
      draft: options.draft ?? false,
      user: { login: options.author ?? "dev-alice", type: "User" },
      head: { sha: this.headSha, ref: options.headBranch ?? "change", repo: headRepo },
      base: { sha: this.baseSha, ref: "main", repo: baseRepo },
      changed_files: 0,
      mergeable: true,
      mergeable_state: "clean",
    };
    this.reviews = (options.reviews ?? []).map((review, i) => ({
      id: 500 + i,
      user: { login: review.user },
      state: review.state,
      commit_id: review.commit === "head" ? this.headSha : review.commit,
      submitted_at: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
    }));
    for (const comment of options.comments ?? []) this.comments.push({ ...comment, id: this.nextId++, commit_id: this.headSha });
    this.pull.changed_files = this.files().length;
    this.intercept();
    nock.emitter.on("no match", this.onNoMatch);
  }

  /** A payload for `name.action` pointing at this pull request. */
  payload(name: string, action: string): Record<string, any> {
    const payload = webhookExample(name, action);
    payload.repository = { ...payload.repository, name: this.repo, full_name: `${this.owner}/${this.repo}`, owner: { ...payload.repository.owner, login: this.owner } };
    if (payload.pull_request) payload.pull_request = { ...payload.pull_request, ...structuredClone(this.pull) };
    return payload;
  }

  /** Pushes a new commit on the head branch (the pull request's head moves). */
  push(tree: Tree): string {
    this.git.git("checkout", "--quiet", "change");
    writeTree(this.git.dir, tree);
    this.git.git("add", "--all");
    this.git.git("commit", "--quiet", "--allow-empty", "-m", "push");
    this.headSha = this.git.git("rev-parse", "change").trim();
    this.pull.head.sha = this.headSha;
    this.pull.changed_files = this.files().length;
    return this.headSha;
  }

  /** "METHOD /path" of every call, in order. */
  get callLines(): string[] {
    return this.calls.map((call) => `${call.method} ${call.path}`);
  }

  runsFor(sha = this.headSha): CheckRunState[] {
    return this.checkRuns.filter((run) => run.head_sha === sha);
  }

  done(): void {
    nock.emitter.removeListener("no match", this.onNoMatch);
    nock.cleanAll();
  }

  files(): Array<Record<string, any>> {
    const diff = this.git.git("-c", "core.quotePath=false", "diff", "--no-color", "-M", "--src-prefix=a/", "--dst-prefix=b/", this.baseSha, this.headSha);
    return diff
      .split(/^diff --git /m)
      .slice(1)
      .map((block) => {
        const meta = block.slice(0, block.search(/^@@ /m) === -1 ? undefined : block.search(/^@@ /m));
        const hunks = block.search(/^@@ /m) === -1 ? undefined : block.slice(block.search(/^@@ /m)).replace(/\n$/, "");
        const line = (prefix: string) => meta.split("\n").find((candidate) => candidate.startsWith(prefix))?.slice(prefix.length);
        const renameFrom = line("rename from ");
        const added = /^new file mode/m.test(meta);
        const removed = /^deleted file mode/m.test(meta);
        const filename = line("rename to ") ?? (removed ? line("--- ")!.replace(/^a\//, "") : (line("+++ ") ?? "").replace(/^b\//, ""));
        return {
          sha: "0".repeat(40),
          filename,
          status: added ? "added" : removed ? "removed" : renameFrom ? "renamed" : "modified",
          ...(renameFrom ? { previous_filename: renameFrom } : {}),
          ...(hunks ? { patch: hunks } : {}),
        };
      });
  }

  private record(method: string, path: string, body?: unknown): void {
    this.calls.push({ method, path: path.split("?")[0]!, ...(body === undefined || body === "" ? {} : { body }) });
    this.callTimes.push(Date.now());
  }

  private intercept(): void {
    const prefix = `/repos/${this.owner}/${this.repo}`;
    const api = nock(API).persist();
    const route = (method: "get" | "post" | "patch" | "delete" | "put", path: RegExp, reply: (uri: string, body: any) => [number, unknown] | [number, unknown, Record<string, string>]) => {
      const answer = async (uri: string, body: any, authorization: unknown): Promise<[number, unknown] | [number, unknown, Record<string, string>]> => {
        this.record(method.toUpperCase(), uri, body);
        const token = /^token (.+)$/.exec(String(authorization ?? ""))?.[1];
        if (this.tokens.find((issued) => issued.token === token)?.revoked) return [401, { message: "Bad credentials" }];
        const fault = this.faults.find((candidate) => candidate.times > 0 && candidate.method === method.toUpperCase() && candidate.path.test(uri));
        if (fault) {
          fault.times--;
          if (fault.until) await fault.until;
          if (fault.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
          if (fault.status) return [fault.status, { message: fault.message ?? `injected ${fault.status}` }, fault.headers ?? {}];
        }
        this.afterCall?.(this.calls.at(-1)!);
        return reply(uri, body);
      };
      api[method](path).reply(function (uri, body) {
        return answer(uri, body, this.req.headers.authorization);
      });
    };
    route("post", /^\/app\/installations\/\d+\/access_tokens$/, () => {
      const token = `ghs_test_${this.tokens.length + 1}`;
      this.tokens.push({ token, revoked: false });
      return [201, { token, expires_at: "2099-01-01T00:00:00Z", permissions: {}, repository_selection: "all" }];
    });
    route("get", new RegExp(`^${prefix}/pulls/${this.number}$`), () => [200, this.pull]);
    route("get", new RegExp(`^${prefix}/commits/[0-9a-f]+/check-runs`), (uri) => {
      const sha = /commits\/([0-9a-f]+)\//.exec(uri)![1]!;
      const runs = checkRunsListed(this.checkRuns, sha, new URL(uri, "https://api.github.com").searchParams);
      return [200, { total_count: runs.length, check_runs: runs }];
    });
    route("get", new RegExp(`^${prefix}/commits/[0-9a-f]+/check-suites`), (uri) => {
      const sha = /commits\/([0-9a-f]+)\//.exec(uri)![1];
      const suites = this.checkSuites.filter((suite) => suite.head_sha === sha);
      return [200, { total_count: suites.length, check_suites: suites }];
    });
    route("post", new RegExp(`^${prefix}/check-runs$`), (_uri, body) => {
      const run: CheckRunState = {
        id: this.nextId++,
        head_sha: body.head_sha,
        name: body.name,
        status: body.status ?? "queued",
        // GitHub takes a conclusion with the creation of a completed run.
        conclusion: body.conclusion ?? null,
        output: body.output ?? {},
        annotations: body.output?.annotations ?? [],
        app: { id: APP_ID, slug: APP_SLUG },
        ...(body.external_id ? { external_id: body.external_id } : {}),
      };
      this.checkRuns.push(run);
      return [201, run];
    });
    route("patch", new RegExp(`^${prefix}/check-runs/\\d+$`), (uri, body) => {
      const run = this.checkRuns.find((candidate) => uri.endsWith(`/${candidate.id}`));
      if (!run) return [404, { message: "Not Found" }];
      if (body.status) run.status = body.status;
      if (body.conclusion) run.conclusion = body.conclusion;
      if (body.external_id) run.external_id = body.external_id;
      if (body.output) {
        run.output = { title: body.output.title, summary: body.output.summary };
        run.annotations.push(...(body.output.annotations ?? []));
      }
      return [200, run];
    });
    route("get", new RegExp(`^${prefix}/compare/`), () => [200, { merge_base_commit: { sha: this.mergeBase() }, files: [], commits: [] }]);
    route("get", new RegExp(`^${prefix}/pulls/${this.number}/files`), (uri) => {
      const page = Number(new URL(uri, API).searchParams.get("page") ?? "1");
      const all = this.files();
      const slice = all.slice((page - 1) * 100, page * 100);
      const last = Math.max(1, Math.ceil(all.length / 100));
      const headers: Record<string, string> = page < last ? { link: `<${API}${prefix}/pulls/${this.number}/files?per_page=100&page=${page + 1}>; rel="next"` } : {};
      return [200, slice, headers];
    });
    route("get", new RegExp(`^${prefix}/pulls/${this.number}/reviews`), () => [200, this.reviews]);
    route("get", new RegExp(`^${prefix}/pulls/${this.number}/commits`), () => {
      const authors = this.options.commitAuthors ?? [this.pull.user.login as string];
      return [200, authors.map((login, i) => ({ sha: i === authors.length - 1 ? this.headSha : `${i}`.repeat(40).slice(0, 40), author: login === null ? null : { login, type: "User" }, committer: null, commit: { message: `commit ${i}` } }))];
    });
    route("get", new RegExp(`^${prefix}/tarball/[0-9a-f]+$`), (uri) => {
      const sha = uri.split("/").pop()!;
      return [302, "", { location: `${CODELOAD}/${this.owner}/${this.repo}/legacy.tar.gz/${sha}` }];
    });
    route("get", new RegExp(`^${prefix}/contents/`), (uri) => {
      const url = new URL(uri, API);
      const path = decodeURIComponent(url.pathname.slice(`${prefix}/contents/`.length));
      try {
        return [200, this.git.git("show", `${url.searchParams.get("ref")}:${path}`)];
      } catch {
        return [404, { message: "Not Found" }];
      }
    });
    route("get", /^\/orgs\/[^/]+\/teams\/[^/]+\/memberships\/[^/]+$/, (uri) => {
      const [, , org, , team, , user] = uri.split("/");
      const members = this.options.teams?.[`${org}/${team}`] ?? [];
      return members.includes(user!) ? [200, { state: "active", role: "member" }] : [404, { message: "Not Found" }];
    });
    route("get", new RegExp(`^${prefix}/pulls/${this.number}/comments`), () => [200, this.comments]);
    route("get", new RegExp(`^${prefix}/commits/[0-9a-f]+/status`), (uri) => {
      const sha = /commits\/([0-9a-f]+)\//.exec(uri)![1];
      const statuses = this.statuses.filter((status) => status.sha === sha).map(({ context, state }) => ({ context, state }));
      const state = statuses.some((status) => status.state === "failure" || status.state === "error") ? "failure" : statuses.every((status) => status.state === "success") && statuses.length > 0 ? "success" : "pending";
      return [200, { state, sha, total_count: statuses.length, statuses }];
    });
    route("put", new RegExp(`^${prefix}/pulls/${this.number}/merge$`), (_uri, body) => {
      // GitHub refuses a merge pinned to a sha that is no longer the head.
      if (body.sha !== this.headSha) return [409, { message: "Head branch was modified. Review and try the merge again." }];
      this.merges.push(body);
      Object.assign(this.pull, { state: "closed", merged: true });
      return [200, { sha: "f".repeat(40), merged: true, message: "Pull Request successfully merged" }];
    });
    route("post", new RegExp(`^${prefix}/pulls/${this.number}/reviews$`), (_uri, body) => {
      this.reviewsPosted.push(body);
      for (const comment of body.comments ?? []) {
        this.comments.push({ id: this.nextId++, path: comment.path, line: comment.line, body: comment.body, commit_id: body.commit_id, user: { login: BOT_LOGIN, type: "Bot" } });
      }
      return [200, { id: this.nextId++, state: "COMMENTED", commit_id: body.commit_id }];
    });
    route("patch", new RegExp(`^${prefix}/pulls/comments/\\d+$`), (uri, body) => {
      const comment = this.comments.find((candidate) => uri.endsWith(`/${candidate.id}`));
      if (!comment) return [404, { message: "Not Found" }];
      comment.body = body.body;
      return [200, comment];
    });
    route("delete", new RegExp(`^${prefix}/pulls/comments/\\d+$`), (uri) => {
      const index = this.comments.findIndex((candidate) => uri.endsWith(`/${candidate.id}`));
      if (index === -1) return [404, { message: "Not Found" }];
      this.comments.splice(index, 1);
      return [204, ""];
    });
    nock(CODELOAD)
      .persist()
      .get(new RegExp(`^/${this.owner}/${this.repo}/legacy\\.tar\\.gz/[0-9a-f]+$`))
      .reply((uri) => {
        const sha = uri.split("/").pop()!;
        this.record("GET", `codeload:${uri}`);
        try {
          const archive = execFileSync("git", ["-C", this.git.dir, "archive", "--format=tar.gz", `--prefix=${this.owner}-${this.repo}-${sha.slice(0, 7)}/`, sha], { stdio: ["ignore", "pipe", "ignore"] });
          return [200, archive, { "content-type": "application/x-gzip" }];
        } catch {
          return [404, "Not Found"];
        }
      });
  }

  private mergeBase(): string {
    return this.git.git("merge-base", this.baseSha, this.headSha).trim();
  }
}

// ---------------------------------------------------------------------------------------------------------
// A Probot instance wired to the stand-in.

const privateKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString();

export interface TestApp {
  probot: Probot;
  scheduler: Scheduler<EvaluationJob>;
  /** Delivers a webhook and waits until the evaluations it started are finished. */
  deliver(name: string, payload: Record<string, any>, id?: string): Promise<void>;
}

export interface TestAppOptions extends AppOptions {
  /** The Octokit class (default: Probot's with retry and throttling off). */
  Octokit?: typeof ProbotOctokit;
  log?: Logger;
}

export function testApp(options: TestAppOptions = {}): TestApp {
  nock.disableNetConnect();
  process.env.APP_ID = String(APP_ID);
  const { Octokit, log, ...appOptions } = options;
  const probot = new Probot({
    appId: APP_ID,
    privateKey,
    // Retry and throttling off in unit tests (function form: Probot's own defaults would win otherwise).
    Octokit:
      Octokit ??
      ProbotOctokit.defaults((instanceOptions: Record<string, unknown>) => ({
        ...instanceOptions,
        retry: { enabled: false },
        throttle: { enabled: false },
      })),
    ...(log ? { log } : { logLevel: "fatal" as const }),
  });
  let scheduler: Scheduler<EvaluationJob> | undefined;
  probot.load(createApp({ ...appOptions, onScheduler: (created) => (scheduler = created) }));
  return {
    probot,
    // Probot loads the App asynchronously: the scheduler exists once it has.
    get scheduler() {
      return scheduler!;
    },
    async deliver(name, payload, id = `delivery-${Math.random().toString(16).slice(2)}`) {
      await probot.receive({ id, name, payload } as Parameters<Probot["receive"]>[0]);
      await scheduler!.idle();
    },
  };
}
