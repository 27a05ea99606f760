// The App evaluates in a worker thread, which runs compiled JavaScript (see src/app/isolation.ts): compile it
// once, before any test, so that the worker runs the code under test.
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

export default function setup(): void {
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: fileURLToPath(new URL("..", import.meta.url)), stdio: "inherit" });
}
