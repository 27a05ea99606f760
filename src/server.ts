// The production entry (`npm start`, the container's command): Probot's server running fleet-warden with its own
// Octokit (GitHub's rate-limit rules obeyed, a token refresh on 401, request timeouts) and a graceful SIGTERM.
// `probot run ./dist/src/index.js` still works, with Probot's default Octokit and no graceful shutdown.
import { pathToFileURL } from "node:url";
import { run, type Logger, type Probot } from "probot";
import { createApp, positiveSetting, type EvaluationJob } from "./app/index.js";
import type { Scheduler } from "./app/scheduler.js";
import { DEFAULT_SHUTDOWN_GRACE_MS, exitGracefullyOnSigterm } from "./app/shutdown.js";
import { fleetWardenOctokit } from "./github/octokit.js";

export async function start(): Promise<void> {
  const abort = new AbortController();
  let scheduler: Scheduler<EvaluationJob> | undefined;
  let log: Logger | undefined;
  const app = createApp({ signal: abort.signal, onScheduler: (created) => (scheduler = created) });
  const server = await run(
    (probot: Probot) => {
      log = probot.log;
      app(probot);
    },
    { Octokit: fleetWardenOctokit() },
  );
  // Without APP_ID Probot starts its setup page instead of the App: nothing to drain.
  if (!scheduler || !log) return;
  exitGracefullyOnSigterm({
    scheduler,
    abort,
    graceMs: positiveSetting("SHUTDOWN_GRACE_MS", DEFAULT_SHUTDOWN_GRACE_MS, (message) => log!.warn(message)),
    log,
    stop: () => server.stop(),
    exit: (code) => process.exit(code),
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await start();
