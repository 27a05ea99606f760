// The one Octokit type every GitHub call goes through, and fleet-warden's production Octokit class: Probot's
// with GitHub's rate-limit rules obeyed (bounded), a token refresh on 401 and a timeout on every request.
import { AsyncLocalStorage } from "node:async_hooks";
import type { Octokit as CoreOctokit } from "@octokit/core";
import { ProbotOctokit } from "probot";

export type Octokit = InstanceType<typeof ProbotOctokit>;

export interface RepoRef {
  owner: string;
  repo: string;
}

/** The HTTP status of an Octokit error, if it has one. */
export function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === "number" ? status : undefined;
}

/** GitHub refused the request (a 4xx): asked again, it answers the same. A 5xx, a timeout or a lost connection may pass. */
export function isRefusal(error: unknown): boolean {
  const status = statusOf(error);
  return status !== undefined && status >= 400 && status < 500;
}

/**
 * `call`, and once more if it failed in a way that may pass. For the writes that end an evaluation: the retry
 * plugin has given up after about 15 s of 5xx answers, and one more round is worth it before a fallback.
 */
export async function withOneMoreRound<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (isRefusal(error)) throw error;
    return call();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How often createOnce sends a creation again, after looking for it. */
const CREATE_RETRIES = 3;

/**
 * A creation that GitHub may have carried out although the request failed (a 5xx, a timeout): repeating it
 * blindly, as the retry plugin does, creates it twice. `create` passes `request: { retries: 0 }`; after a
 * failure that may pass, `find` looks for what it created (after 1, 4, 9 s as the plugin waits, and at least
 * as long as an unanswered request was waited for) before it is sent again.
 */
export async function createOnce<T>(create: () => Promise<T>, find: () => Promise<T | undefined>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await create();
    } catch (error) {
      if (isRefusal(error) || attempt > CREATE_RETRIES) throw error;
      const cause = (error as { cause?: unknown }).cause;
      const unansweredMs = cause instanceof GitHubTimeout ? cause.timeoutMs : 0;
      await sleep(Math.max(attempt ** 2 * 1000, unansweredMs));
      const found = await find();
      if (found !== undefined) return found;
    }
  }
}

/** A secondary rate limit is retried this many times, each wait doubling the one GitHub prescribes. */
export const SECONDARY_LIMIT_RETRIES = 3;
/** A secondary rate limit without `retry-after` is waited out this long, as GitHub prescribes (seconds). */
export const SECONDARY_LIMIT_FALLBACK_S = 60;
/**
 * A rate limit asking for a longer wait fails the request at once (seconds): the default evaluation deadline
 * (EVALUATION_DEADLINE_MS) would stop the evaluation first, and a shorter wait would only meet the limit again.
 */
export const MAX_LIMIT_WAIT_S = 5 * 60;
/** An exhausted primary rate limit is waited out once, and only when it resets this soon (seconds). */
export const PRIMARY_LIMIT_MAX_WAIT_S = 60;
/** A request whose response has not started by then is aborted and retried as a 5xx (GITHUB_REQUEST_TIMEOUT_MS). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

interface LimitedRequest {
  method: string;
  url: string;
  request?: object;
}

type LimitHandler = (retryAfter: number, options: LimitedRequest, octokit: Octokit, retryCount: number) => Promise<boolean>;

/**
 * GitHub: on a secondary rate limit wait `retry-after` seconds (a minute without it), longer at each repeat, and
 * give up after a few. The wait before retry `retryCount` + 1, or undefined to give up.
 */
function secondaryLimitWaitS(retryAfter: number, retryCount: number, log: Octokit["log"], request: string): number | undefined {
  const wait = retryAfter * 2 ** retryCount;
  // What this request has waited so far plus this wait: the cap bounds the whole, not each wait.
  const total = retryAfter * (2 ** (retryCount + 1) - 1);
  if (retryCount >= SECONDARY_LIMIT_RETRIES) {
    log.error(`secondary rate limit on ${request}: giving up after ${retryCount} retries`);
    return undefined;
  }
  if (total > MAX_LIMIT_WAIT_S) {
    log.error(`secondary rate limit on ${request}: giving up, GitHub asks for ${wait} s more (${total} s in all, more than ${MAX_LIMIT_WAIT_S} s)`);
    return undefined;
  }
  log.warn(`secondary rate limit on ${request}: retrying in ${wait} s`);
  return wait;
}

/** plugin-throttling waits `retryAfter` when the handler says yes; the doubling is waited here. */
const onSecondaryRateLimit: LimitHandler = async (retryAfter, options, octokit, retryCount) => {
  const request = `${options.method} ${options.url}`;
  const wait = secondaryLimitWaitS(retryAfter, retryCount, octokit.log, request);
  if (wait === undefined) return false;
  noteLimitWait(options, wait);
  if (wait > retryAfter) await sleep((wait - retryAfter) * 1000);
  return true;
};

const onRateLimit: LimitHandler = async (retryAfter, options, octokit, retryCount) => {
  const request = `${options.method} ${options.url}`;
  const wait = retryCount === 0 && retryAfter <= PRIMARY_LIMIT_MAX_WAIT_S;
  octokit.log.warn(`rate limit exhausted on ${request}: resets in ${retryAfter} s, ${wait ? "waiting" : "giving up"}`);
  if (wait) noteLimitWait(options, retryAfter);
  return wait;
};

/**
 * The `retry-after` (seconds) of a rate limit plugin-throttling does not recognise, or undefined. The plugin knows
 * a secondary limit only by "secondary rate" in the message: a 403 with `retry-after` in other words (GitHub's
 * older "abuse detection" wording) would fail, and a bare 429 be repeated by plugin-retry after a second.
 */
function unrecognisedLimitRetryAfter(error: unknown): number | undefined {
  const status = statusOf(error);
  if (status !== 403 && status !== 429) return undefined;
  const { message, response } = error as { message?: string; response?: { headers?: Record<string, string | number | undefined> } };
  const headers = response?.headers ?? {};
  // The plugin's own cases, waited out (or given up on) there already.
  if (/\bsecondary rate\b/i.test(message ?? "") || String(headers["x-ratelimit-remaining"]) === "0") return undefined;
  if (headers["retry-after"] !== undefined) return Number(headers["retry-after"]) || SECONDARY_LIMIT_FALLBACK_S;
  // Any 429 is a rate limit; a 403 without retry-after is a refusal (a missing permission) and fails at once.
  return status === 429 ? SECONDARY_LIMIT_FALLBACK_S : undefined;
}

/** Rate limits plugin-throttling does not recognise are waited out by the same rule as those it does. */
function waitOutUnrecognisedLimits(octokit: CoreOctokit) {
  octokit.hook.wrap("request", async (request, options) => {
    // The plugins below note their retries in `options.request`: each round starts from the caller's.
    const callerRequest = { ...options.request };
    for (let retryCount = 0; ; retryCount++) {
      try {
        return await request({ ...options, request: { ...callerRequest } });
      } catch (error) {
        const retryAfter = unrecognisedLimitRetryAfter(error);
        const request = `${options.method} ${options.url}`;
        const wait = retryAfter === undefined ? undefined : secondaryLimitWaitS(retryAfter, retryCount, octokit.log, request);
        if (wait === undefined) throw error;
        noteLimitWait(options, wait);
        await sleep(wait * 1000);
      }
    }
  });
  return {};
}

class GitHubTimeout extends Error {
  override readonly name = "GitHubTimeout";
  constructor(readonly timeoutMs: number) {
    super(`GitHub did not answer within ${timeoutMs / 1000} s`);
  }
}

/** GITHUB_REQUEST_TIMEOUT_MS, or the default. */
export function requestTimeoutMs(): number {
  return Number(process.env.GITHUB_REQUEST_TIMEOUT_MS) || DEFAULT_REQUEST_TIMEOUT_MS;
}

/** fetch, aborted when no response has started within `timeoutMs`; reading a started body (a tarball) is not limited. */
export function fetchWithTimeout(timeoutMs: number): typeof fetch {
  return async (input, init) => {
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new GitHubTimeout(timeoutMs)), timeoutMs);
    const signal = init?.signal ? AbortSignal.any([init.signal, timeout.signal]) : timeout.signal;
    try {
      return await fetch(input, { ...init, signal });
    } finally {
      clearTimeout(timer);
    }
  };
}

const TOKEN_REQUEST = /^\/app\/installations\/[^/]+\/access_tokens$/;

/**
 * An installation token is asked for inside the request that needs it, through this same client: retried by
 * plugin-retry as well, a GitHub that does not answer took 4 token attempts for each of the request's 4 (16 for one
 * read). The token request is tried once; the request around it is retried, and asks again.
 */
function tokenRequestsTriedOnce(octokit: CoreOctokit) {
  octokit.hook.before("request", (options) => {
    if (TOKEN_REQUEST.test(String(options.url))) options.request = { ...options.request, retries: 0 };
  });
  return {};
}

/**
 * An installation token GitHub no longer accepts (revoked, or expired early) is refreshed once and the request
 * repeated. @octokit/auth-app itself retries a 401 only in the first seconds of a token's life.
 */
function refreshTokenOnUnauthorized(octokit: CoreOctokit, options: { auth?: unknown }) {
  const installationId = (options.auth as { installationId?: number } | undefined)?.installationId;
  if (installationId === undefined) return {};
  octokit.hook.error("request", async (error, requestOptions) => {
    const request = requestOptions.request as { tokenRefreshed?: boolean } | undefined;
    if (statusOf(error) !== 401 || request?.tokenRefreshed) throw error;
    octokit.log.warn(`GitHub answered 401 to ${requestOptions.method} ${requestOptions.url}: refreshing the installation token once`);
    // auth-app asks through Probot's plain request here, outside the hook chain (no retries): one more round.
    await withOneMoreRound(() => octokit.auth({ type: "installation", installationId, refresh: true }));
    const again = octokit.request as (options: object) => ReturnType<CoreOctokit["request"]>;
    return again({ ...requestOptions, request: { ...requestOptions.request, tokenRefreshed: true } });
  });
  return {};
}

/**
 * Probot gives auth-app a plain request (no hooks, no timeout) for the tokens it asks for outside the hook chain (a
 * refresh after a 401): it gets the timeout too.
 */
function withTimedRequest(auth: unknown, fetch: typeof globalThis.fetch): unknown {
  const request = (auth as { request?: { defaults?: (options: object) => unknown } }).request;
  return typeof request?.defaults === "function" ? { ...(auth as object), request: request.defaults({ request: { fetch } }) } : auth;
}

/**
 * Probot's Octokit as fleet-warden runs it. Function form: Probot's own instance options (whose secondary-limit
 * handler only logs) are passed in first and overridden here.
 */
export function fleetWardenOctokit(timeoutMs?: number): typeof ProbotOctokit {
  return ProbotOctokit.plugin(tokenRequestsTriedOnce, refreshTokenOnUnauthorized, waitOutUnrecognisedLimits).defaults((options: { request?: object; throttle?: object; retry?: object; auth?: unknown }) => {
    // The setting as it is when a client is made: `npm start` makes this class before Probot applies `.env`.
    const fetch = fetchWithTimeout(timeoutMs ?? requestTimeoutMs());
    return {
      ...options,
      request: { fetch, ...options.request },
      ...(options.auth ? { auth: withTimedRequest(options.auth, fetch) } : {}),
      throttle: { ...options.throttle, onSecondaryRateLimit, onRateLimit },
      // plugin-retry's list plus 429, a rate limit: waited out as GitHub asks (above), never repeated after a second.
      retry: { ...options.retry, doNotRetry: [400, 401, 403, 404, 410, 422, 429, 451] },
    };
  }) as typeof ProbotOctokit;
}

/** The GitHub requests of one piece of work (an evaluation), and the rate-limit wait it last began. */
export interface CallCounter {
  calls: number;
  limitWait?: { request: string; untilMs: number };
}

const callCounter = new AsyncLocalStorage<CallCounter>();
const countedClients = new WeakSet<object>();
/** The counter of the work that made a request, in its `request` options: plugin-throttling's queue loses the async context. */
const COUNTER = Symbol("fleet-warden call counter");

/** Notes on its work's counter that a request waits for a rate limit: a deadline then blames the limit. */
function noteLimitWait(options: LimitedRequest, seconds: number): void {
  const counter = (options.request as { [COUNTER]?: CallCounter } | undefined)?.[COUNTER] ?? callCounter.getStore();
  if (counter) counter.limitWait = { request: `${options.method} ${options.url}`, untilMs: Date.now() + seconds * 1000 };
}

/** The rate-limit wait `counter`'s work is in at this moment, if any. */
export function limitWaitInProgress(counter: CallCounter): CallCounter["limitWait"] {
  return counter.limitWait && counter.limitWait.untilMs > Date.now() ? counter.limitWait : undefined;
}

/**
 * Runs `work` counting the GitHub requests it makes through `octokit` (retries of one request count once).
 * The count follows the async context, so two evaluations sharing one client each count their own.
 */
export function countingCalls<T>(octokit: Octokit, work: (counter: CallCounter) => Promise<T>): Promise<T> {
  if (!countedClients.has(octokit)) {
    countedClients.add(octokit);
    octokit.hook.before("request", (options) => {
      const counter = callCounter.getStore();
      if (!counter) return;
      counter.calls++;
      options.request = { ...options.request, [COUNTER]: counter };
    });
  }
  const counter: CallCounter = { calls: 0 };
  return callCounter.run(counter, () => work(counter));
}
