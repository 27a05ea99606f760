// The production entry (`npm start`, the container's command): Probot's server running fleet-warden with its own
// Octokit (GitHub's rate-limit rules obeyed, a token refresh on 401, request timeouts) and a graceful SIGTERM.
// `probot run ./dist/src/index.js` still works, with Probot's default Octokit, no graceful shutdown and no refusal
// of a missing webhook secret.
import { pathToFileURL } from "node:url";
import { run, type Logger, type Probot, type Server } from "probot";
import { createApp, positiveSetting, type EvaluationJob } from "./app/index.js";
import type { Scheduler } from "./app/scheduler.js";
import { DEFAULT_SHUTDOWN_GRACE_MS, exitGracefullyOnSigterm } from "./app/shutdown.js";
import { fleetWardenOctokit } from "./github/octokit.js";

/** The secret Probot checks webhook signatures with when WEBHOOK_SECRET is empty: public, so anyone can sign. */
const PROBOT_DEFAULT_SECRET = "development";

/** The App cannot run safely with this environment. */
export class StartRefused extends Error {}

/** Why the App must not take webhooks with this environment, or undefined when it may. */
export function webhookSecretProblem(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (!env.APP_ID) return undefined;
  const secret = env.WEBHOOK_SECRET ?? "";
  if (secret !== "" && secret !== PROBOT_DEFAULT_SECRET) return undefined;
  const what = secret === "" ? "not set" : `Probot's public default "${PROBOT_DEFAULT_SECRET}"`;
  return `WEBHOOK_SECRET is ${what}: anyone could send fleet-warden webhooks signed with "${PROBOT_DEFAULT_SECRET}". Set WEBHOOK_SECRET to the App's webhook secret (GitHub: the App's settings, "Webhook secret").`;
}

/** Starts the server; rejects with StartRefused (after logging why) when the webhook secret is missing. */
export async function start(): Promise<Server> {
  const abort = new AbortController();
  let scheduler: Scheduler<EvaluationJob> | undefined;
  let log: Logger | undefined;
  const app = createApp({ signal: abort.signal, onScheduler: (created) => (scheduler = created) });
  const server = await run(
    (probot: Probot) => {
      // Probot calls this before it listens, with `.env` applied, and only when it runs the App (not its setup page).
      const problem = webhookSecretProblem();
      if (problem) {
        probot.log.fatal(problem);
        throw new StartRefused(problem);
      }
      log = probot.log;
      app(probot);
    },
    { Octokit: fleetWardenOctokit() },
  );
  // Without APP_ID Probot starts its setup page instead of the App: nothing to drain.
  if (!scheduler || !log) return server;
  exitGracefullyOnSigterm({
    scheduler,
    abort,
    graceMs: positiveSetting("SHUTDOWN_GRACE_MS", DEFAULT_SHUTDOWN_GRACE_MS, (message) => log!.warn(message)),
    log,
    stop: () => server.stop(),
    exit: (code) => process.exit(code),
  });
  return server;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await start().catch((error: unknown) => {
    // Already logged; a plain exit without a stack trace.
    if (error instanceof StartRefused) process.exit(1);
    throw error;
  });
}
