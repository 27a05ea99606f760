// `npm run demo`: the CLI evaluates a sample fleet pull request (fixtures/sample-fleet) and prints the verdict.
import { fileURLToPath } from "node:url";
import { runCli } from "../src/cli.js";
import { createFixtureRepo } from "./fixture-repo.js";

const fixtures = fileURLToPath(new URL("../../fixtures/sample-fleet/", import.meta.url));
const repo = createFixtureRepo({
  base: `${fixtures}base`,
  changes: [`${fixtures}change`],
  headBranch: "dev-alice/debug-sidecar",
  remote: "git@github.com:acme/fleet.git",
});
try {
  const args = ["check", "--repo", repo.dir, "--base", "main", "--head", "HEAD", "--author", "dev-alice", "--teams", "acme/dev-team"];
  console.log(`$ fleet-warden ${args.join(" ").replace(repo.dir, "<sample fleet repository>")}\n`);
  const result = await runCli(args);
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  console.log(`\n(exit code ${result.code}: ${["pass", "policy failure", "could not evaluate"][result.code]}; the demo itself succeeded)`);
} finally {
  repo.remove();
}
