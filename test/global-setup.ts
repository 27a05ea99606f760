// The App evaluates in a worker thread, which runs compiled JavaScript (see src/app/isolation.ts): compile it
// once, before any test, so that the worker runs the code under test. Incrementally (unchanged sources cost
// little), and type errors do not stop the tests: tsc still writes the output, and `npm run lint` reports them.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const TYPE_ERRORS = 2;

export default function setup(): void {
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  const root = fileURLToPath(new URL("..", import.meta.url));
  const result = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json", "--incremental"], { cwd: root, encoding: "utf8" });
  if (result.status === 0) return;
  if (result.status === TYPE_ERRORS) {
    process.stderr.write(`test setup: dist/ compiled with type errors (npm run lint lists them)\n`);
    return;
  }
  throw new Error(`test setup: compiling dist/ failed (${result.error?.message ?? `exit ${result.status}`}): ${result.stdout}${result.stderr}`);
}
