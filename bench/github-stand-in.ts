// A local stand-in for the GitHub REST API on 127.0.0.1, backed by a real git repository: enough of it for the
// App to evaluate one pull request at a time, every request counted. Octokit reaches it through `baseUrl`.
import { execFile, execFileSync } from "node:child_process";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface StandInPullRequest {
  number: number;
  baseSha: string;
  headSha: string;
  headBranch: string;
  author: string;
}

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** Only the fields of a check run that GitHub's listing filters on. */
interface ListedCheckRun {
  id: number;
  head_sha: string;
  name: string;
  app?: { id: number };
  check_suite?: { id: number };
}

/**
 * `GET /commits/{sha}/check-runs` as GitHub answers it: `check_name` keeps that name, and `filter=latest` (the
 * default) keeps only the most recent run of a name in each check suite (a run created without one joins its app's
 * suite for the sha), so a re-run hides the run it replaced, but not a same-named run of another suite.
 */
export function checkRunsListed<T extends ListedCheckRun>(runs: readonly T[], sha: string, query: URLSearchParams): T[] {
  const name = query.get("check_name");
  const matching = runs.filter((run) => run.head_sha === sha && (name === null || run.name === name));
  if (query.get("filter") === "all") return matching;
  const latest = new Map<string, T>();
  const key = (run: T) => `${run.check_suite?.id ?? `app ${run.app?.id ?? ""}`}/${run.name}`;
  for (const run of matching) if ((latest.get(key(run))?.id ?? -1) < run.id) latest.set(key(run), run);
  return matching.filter((run) => latest.get(key(run)) === run);
}

export class GitHubStandIn {
  /** "METHOD /path" of every request since the last reset. */
  readonly requests: string[] = [];
  readonly unmatched: string[] = [];
  private server?: Server;
  private pull?: StandInPullRequest;
  private files: unknown[] = [];
  private checkRuns: Array<Record<string, unknown> & ListedCheckRun> = [];
  private nextId = 1;
  private readonly tarballs = new Map<string, Buffer>();

  constructor(
    private readonly repoDir: string,
    readonly owner: string,
    readonly repo: string,
  ) {}

  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((request, response) => void this.handle(request, response));
    this.server.listen(0, "127.0.0.1");
    await once(this.server, "listening");
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  /** Serves this pull request from now on, with no check runs yet; the request log starts empty. */
  async open(pull: StandInPullRequest): Promise<void> {
    this.pull = pull;
    this.checkRuns = [];
    this.requests.length = 0;
    this.files = await pullRequestFiles(this.repoDir, pull.baseSha, pull.headSha);
    // GitHub prepares archives on its side: build them before the clock starts.
    for (const sha of [pull.baseSha, pull.headSha]) await this.tarball(sha);
  }

  /** The conclusion of the last check run, once completed. */
  conclusion(): unknown {
    return this.checkRuns.at(-1)?.conclusion;
  }

  /** Requests for the pull request: the installation token (fetched once an hour, not per evaluation) left out. */
  calls(): string[] {
    return this.requests.filter((line) => !/^POST \/app\/installations\/\d+\/access_tokens$/.test(line));
  }

  writes(): number {
    return this.calls().filter((line) => !line.startsWith("GET ")).length;
  }

  private async tarball(sha: string): Promise<Buffer> {
    let archive = this.tarballs.get(sha);
    if (!archive) {
      const prefix = `${this.owner}-${this.repo}-${sha.slice(0, 7)}/`;
      archive = execFileSync("git", ["-C", this.repoDir, "archive", "--format=tar.gz", `--prefix=${prefix}`, sha], { maxBuffer: 1 << 30 });
      this.tarballs.set(sha, archive);
    }
    return archive;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const line = `${request.method} ${url.pathname}`;
    this.requests.push(line);
    let reply: Reply;
    try {
      reply = await this.route(request.method ?? "GET", url, body);
    } catch (error) {
      reply = { status: 500, body: { message: error instanceof Error ? error.message : String(error) } };
    }
    if (reply.status === 404) this.unmatched.push(line);
    const payload = Buffer.isBuffer(reply.body) ? reply.body : Buffer.from(reply.body === undefined ? "" : JSON.stringify(reply.body));
    response.writeHead(reply.status, { "content-type": Buffer.isBuffer(reply.body) ? "application/x-gzip" : "application/json; charset=utf-8", "content-length": String(payload.length), ...reply.headers });
    response.end(payload);
  }

  private async route(method: string, url: URL, body: Record<string, unknown>): Promise<Reply> {
    const pull = this.pull!;
    const path = url.pathname;
    const prefix = `/repos/${this.owner}/${this.repo}`;
    const pullPath = `${prefix}/pulls/${pull.number}`;
    const is = (verb: string, pattern: RegExp) => method === verb && pattern.test(path);
    if (is("POST", /^\/app\/installations\/\d+\/access_tokens$/)) return { status: 201, body: { token: "ghs_bench", expires_at: "2099-01-01T00:00:00Z", permissions: {}, repository_selection: "all" } };
    if (is("GET", new RegExp(`^${pullPath}$`))) return { status: 200, body: this.pullBody() };
    if (is("GET", new RegExp(`^${prefix}/commits/[0-9a-f]+/check-runs$`))) {
      const sha = path.split("/")[5];
      const runs = checkRunsListed(this.checkRuns, sha!, url.searchParams);
      return { status: 200, body: { total_count: runs.length, check_runs: runs } };
    }
    if (is("POST", new RegExp(`^${prefix}/check-runs$`))) {
      const checkRun = { id: this.nextId++, head_sha: String(body.head_sha), name: String(body.name), status: body.status ?? "queued", conclusion: null, output: body.output ?? {}, app: { id: 1, slug: "fleet-warden" } };
      this.checkRuns.push(checkRun);
      return { status: 201, body: checkRun };
    }
    if (is("PATCH", new RegExp(`^${prefix}/check-runs/\\d+$`))) {
      const checkRun = this.checkRuns.find((candidate) => path.endsWith(`/${String(candidate.id)}`));
      if (!checkRun) return { status: 404, body: { message: "Not Found" } };
      Object.assign(checkRun, body.status ? { status: body.status } : {}, body.conclusion ? { conclusion: body.conclusion } : {}, body.output ? { output: body.output } : {});
      return { status: 200, body: checkRun };
    }
    if (is("GET", new RegExp(`^${prefix}/compare/`))) return { status: 200, body: { merge_base_commit: { sha: pull.baseSha }, files: [], commits: [] } };
    if (is("GET", new RegExp(`^${pullPath}/files$`))) {
      const page = Number(url.searchParams.get("page") ?? "1");
      const perPage = Number(url.searchParams.get("per_page") ?? "30");
      const last = Math.max(1, Math.ceil(this.files.length / perPage));
      const headers: Record<string, string> = page < last ? { link: `<${this.baseUrl}${pullPath}/files?per_page=${perPage}&page=${page + 1}>; rel="next"` } : {};
      return { status: 200, body: this.files.slice((page - 1) * perPage, page * perPage), headers };
    }
    if (is("GET", new RegExp(`^${pullPath}/(reviews|comments)$`))) return { status: 200, body: [] };
    if (is("GET", new RegExp(`^${pullPath}/commits$`))) return { status: 200, body: [{ sha: pull.headSha, author: { login: pull.author, type: "User" }, committer: null }] };
    if (is("POST", new RegExp(`^${pullPath}/reviews$`))) return { status: 200, body: { id: this.nextId++, state: "COMMENTED" } };
    if (is("GET", new RegExp(`^${prefix}/tarball/[0-9a-f]+$`))) return { status: 200, body: await this.tarball(path.split("/").pop()!) };
    if (is("GET", new RegExp(`^${prefix}/commits/[0-9a-f]+/status$`))) return { status: 200, body: { state: "success", total_count: 0, statuses: [] } };
    if (is("GET", new RegExp(`^${prefix}/commits/[0-9a-f]+/check-suites$`))) return { status: 200, body: { total_count: 0, check_suites: [] } };
    if (is("PUT", new RegExp(`^${pullPath}/merge$`))) return { status: 200, body: { sha: "f".repeat(40), merged: true, message: "Pull Request successfully merged" } };
    return { status: 404, body: { message: "Not Found" } };
  }

  private pullBody() {
    const pull = this.pull!;
    const repository = { id: 1001, name: this.repo, full_name: `${this.owner}/${this.repo}`, owner: { login: this.owner } };
    return {
      number: pull.number,
      state: "open",
      draft: false,
      user: { login: pull.author, type: "User" },
      head: { sha: pull.headSha, ref: pull.headBranch, repo: repository },
      base: { sha: pull.baseSha, ref: "main", repo: repository },
      changed_files: this.files.length,
      mergeable: true,
      mergeable_state: "clean",
    };
  }
}

/** The pull request's files as GitHub lists them: status, previous name, and the patch (hunks only). */
async function pullRequestFiles(repoDir: string, base: string, head: string): Promise<unknown[]> {
  const { stdout } = await run("git", ["-C", repoDir, "-c", "core.quotePath=false", "diff", "--no-color", "-M", "--src-prefix=a/", "--dst-prefix=b/", base, head], { maxBuffer: 1 << 30 });
  return stdout
    .split(/^diff --git /m)
    .slice(1)
    .map((block) => {
      const hunkAt = block.search(/^@@ /m);
      const meta = hunkAt === -1 ? block : block.slice(0, hunkAt);
      const field = (prefix: string) => meta.split("\n").find((candidate) => candidate.startsWith(prefix))?.slice(prefix.length);
      const removed = /^deleted file mode/m.test(meta);
      const renamedFrom = field("rename from ");
      const filename = field("rename to ") ?? (removed ? field("--- ")!.slice(2) : field("+++ ")!.slice(2));
      const status = /^new file mode/m.test(meta) ? "added" : removed ? "removed" : renamedFrom ? "renamed" : "modified";
      return { sha: "0".repeat(40), filename, status, ...(renamedFrom ? { previous_filename: renamedFrom } : {}), ...(hunkAt === -1 ? {} : { patch: block.slice(hunkAt).replace(/\n$/, "") }) };
    });
}
