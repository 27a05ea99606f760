// One kustomize run in the wall, in a process of its own (the compiled engine): what tests cannot do in theirs
// (inherit a file, live on a tmpfs TMPDIR, die mid-run).
// node walled-run.mjs BINARY [MODE ARG...]: BINARY "kustomize" is the one found here; prints the isolation as JSON,
// then, given a MODE, the sandbox and the run's result as JSON. The build runs BINARY MODE ARG... SANDBOX.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { URL } from "node:url";

const { findKustomize, kustomizeIsolation, runKustomize } = await import(new URL("../../dist/src/core/build/engine.js", import.meta.url).href);
const [binary, mode, ...rest] = process.argv.slice(2);
const sandbox = mkdtempSync(join(tmpdir(), "fleet-warden-walled-"));
const folder = join(sandbox, "build");
mkdirSync(folder);
const engine = binary === "kustomize" ? findKustomize() : { description: "prober", command: binary, args: (at) => (at === folder ? [mode, ...rest, sandbox] : ["probe"]) };
process.stdout.write(`${JSON.stringify(kustomizeIsolation(engine))}\n`);
if (mode) {
  process.stdout.write(`sandbox ${sandbox}\n`);
  process.stdout.write(`${JSON.stringify(await runKustomize(engine, { sandbox, folder }))}\n`);
}
rmSync(sandbox, { recursive: true, force: true });
