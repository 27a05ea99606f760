// The CLI on real git repositories built from fixtures/ and from ../shared/corpus.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../src/cli.js";
import { canUnshare } from "../src/core/build/engine.js";
import { createFixtureRepo, type FixtureRepo } from "../scripts/fixture-repo.js";
import { repoWithChange, tempDir, writeTree } from "./helpers/fleet.js";

const fixtures = fileURLToPath(new URL("../fixtures/sample-fleet/", import.meta.url));
const corpus = fileURLToPath(new URL("../../shared/corpus/", import.meta.url));
const repos: FixtureRepo[] = [];
afterAll(() => repos.forEach((repo) => repo.remove()));

function sampleRepo(): FixtureRepo {
  const repo = createFixtureRepo({ base: `${fixtures}base`, changes: [`${fixtures}change`], remote: "git@github.com:acme/fleet.git" });
  repos.push(repo);
  return repo;
}

/** The sample fleet (with its CODEOWNERS) and a change to one file that @acme/dev-team owns. */
function replicaChange(): FixtureRepo {
  const change = tempDir();
  writeTree(change, { "apps/dev-team/staging/replicas.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: podinfo\nspec:\n  replicas: 2\n" });
  const repo = createFixtureRepo({ base: `${fixtures}base`, changes: [change], remote: "git@github.com:acme/fleet.git" });
  repos.push(repo);
  return repo;
}

describe("fleet-warden check", () => {
  it("fails the sample pull request, with the broken file annotated at its line (exit 1)", async () => {
    const repo = sampleRepo();
    const result = await runCli(["check", "--repo", repo.dir, "--base", "main", "--head", "HEAD", "--author", "dev-alice", "--teams", "acme/dev-team", "--format", "json"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(1);
    const verdict = JSON.parse(result.stdout);
    expect(verdict.conclusion).toBe("failure");
    expect(verdict.findings).toContainEqual({
      rule: "yaml-syntax",
      severity: "error",
      path: "apps/dev-team/base/settings.yaml",
      line: 7,
      endLine: 7,
      message: "Invalid YAML: All mapping items must start at the same column",
    });
    expect(Object.keys(verdict)).toEqual(expect.arrayContaining(["conclusion", "findings", "ownership", "builds", "diff", "stats"]));
    expect(verdict.diff.find((file: { path: string }) => file.path === "apps/dev-team/staging/debug-access.yaml")).toMatchObject({
      status: "added",
      objects: [{ change: "added", ref: { kind: "ClusterRoleBinding", name: "dev-team-debug" } }],
    });
  });

  it("prints the same verdict as text, markdown and SARIF", async () => {
    const repo = sampleRepo();
    const args = ["check", "--repo", repo.dir, "--author", "dev-alice", "--teams", "acme/dev-team"];
    const text = await runCli(args);
    expect(text.stdout).toMatch(/^fleet-warden: FAIL — /);
    expect(text.stdout).toContain("apps/dev-team/base/settings.yaml:7 [yaml-syntax]");
    expect(text.stdout).toMatch(/Rendered changes:\n(.*\n)* {2}apps\/dev-team \(clusters\/staging\)\n(.*\n)* {4}added {4}rbac\.authorization\.k8s\.io\/v1 ClusterRoleBinding dev-team-debug/);
    const markdown = await runCli([...args, "--format", "markdown"]);
    expect(markdown.stdout).toContain("#### [`yaml-syntax`]");
    const sarif = JSON.parse((await runCli([...args, "--format", "sarif"])).stdout);
    expect(sarif.version).toBe("2.1.0");
    expect(sarif.runs[0].results).toContainEqual(
      expect.objectContaining({ ruleId: "yaml-syntax", locations: [{ physicalLocation: { artifactLocation: { uri: "apps/dev-team/base/settings.yaml" }, region: { startLine: 7, endLine: 7 } } }] }),
    );
  });

  it("passes a change with nothing to say (exit 0)", async () => {
    const repo = repoWithChange({ "apps/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n" }, { "apps/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: w\n" });
    const result = await runCli(["check", "--repo", repo.dir, "--base", "main", "--head", "change"]);
    expect(result.stdout).toMatch(/^fleet-warden: PASS/);
    expect(result.code).toBe(0);
  });

  it("exits 2 when it cannot evaluate: a bad ref, a broken config, a bad flag", async () => {
    const repo = repoWithChange({ "a.yaml": "a: 1\n" }, { "a.yaml": "a: 2\n" });
    expect(await runCli(["check", "--repo", repo.dir, "--base", "no-such-branch"])).toMatchObject({ code: 2, stderr: expect.stringContaining('"no-such-branch" is not a commit') });
    // Both bad: the base is named, every time (they are resolved at once).
    for (let run = 0; run < 3; run++) {
      expect(await runCli(["check", "--repo", repo.dir, "--base", "no-base", "--head", "no-head"])).toMatchObject({ code: 2, stderr: expect.stringContaining('"no-base" is not a commit') });
    }
    expect(await runCli(["check", "--format", "yaml"])).toMatchObject({ code: 2, stderr: expect.stringContaining("--format must be one of") });
    expect(await runCli(["lint"])).toMatchObject({ code: 2, stderr: expect.stringContaining("unknown command: lint") });
    expect(await runCli(["check", "--repo", tempDir("not-a-repo-")])).toMatchObject({ code: 2 });

    const broken = repoWithChange({ ".github/fleet-warden.yml": "imageUpdates:\n  mergeMethod: fast-forward\n" }, { "a.yaml": "a: 2\n" });
    const result = await runCli(["check", "--repo", broken.dir, "--base", "main", "--head", "change"]);
    expect(result.code).toBe(2);
    expect(result.stdout).toContain("problem: .github/fleet-warden.yml: `imageUpdates.mergeMethod`");
  });

  it("judges a change by the base branch's config, never the one it proposes", async () => {
    const repo = repoWithChange(
      { ".github/fleet-warden.yml": "rules:\n  yaml-syntax: error\n" },
      { ".github/fleet-warden.yml": "rules:\n  yaml-syntax: off\n", "bad.yaml": "a: [\n" },
    );
    const result = JSON.parse((await runCli(["check", "--repo", repo.dir, "--base", "main", "--head", "change", "--format", "json"])).stdout);
    expect(result.findings.map((finding: { rule: string }) => finding.rule)).toContain("yaml-syntax");
  });

  it("says on stderr when kustomize, running someone's change, could not be walled off from this machine", async () => {
    // A kustomize that is a shell script: /bin/sh does not run in a root of its own, so the wall cannot stand.
    const scripted = () => {
      const binary = join(tempDir(), "kustomize");
      writeFileSync(binary, '#!/bin/sh\nshift\nexec kubectl --server=http://127.0.0.1:9 kustomize "$@"\n', { mode: 0o755 });
      return binary;
    };
    const check = async (env: Record<string, string>) => {
      Object.assign(process.env, env);
      try {
        return await runCli(["check", "--repo", replicaChange().dir]);
      } finally {
        for (const name of Object.keys(env)) delete process.env[name];
      }
    };
    const unwalled = await check({ KUSTOMIZE_BIN: scripted() });
    expect(unwalled).toMatchObject({ code: 0, stdout: expect.stringMatching(/^fleet-warden: PASS/) });
    expect(unwalled.stderr).toMatch(canUnshare() ? /^note: kustomize runs without a network but with this machine's files, .*\n$/ : /^note: kustomize runs with this machine's network and files, .*\n$/);
    expect(await check({ KUSTOMIZE_BIN: scripted(), KUSTOMIZE_ISOLATION: "off" })).toMatchObject({ code: 0, stderr: "" });
  });

  it("says in text, as JSON does, that ownership was not checked without --author", async () => {
    const repo = replicaChange();
    const text = await runCli(["check", "--repo", repo.dir]);
    expect(text).toMatchObject({ code: 0, stderr: "" });
    expect(text.stdout.split("\n").slice(0, 2)).toEqual([
      "fleet-warden: PASS — No findings",
      "  note: Ownership was not checked: the pull request's author is unknown (run the CLI with --author LOGIN, and --teams for the author's teams).",
    ]);
  });

  it("takes --author, --teams and --approved-by as CODEOWNERS writes them, with a leading @", async () => {
    const repo = replicaChange();
    const result = await runCli(["check", "--repo", repo.dir, "--author", "@dev-alice", "--teams", "@acme/dev-team", "--format", "json"]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).ownership.entries).toEqual([
      { path: "apps/dev-team/staging/replicas.yaml", owners: ["@acme/dev-team"], allowed: true, satisfiedBy: "author @dev-alice (member of @acme/dev-team)" },
    ]);
    const owned = repoWithChange({ ".github/CODEOWNERS": "* @alice\n", "a.yaml": "a: 1\n" }, { "a.yaml": "a: 2\n" });
    const approved = await runCli(["check", "--repo", owned.dir, "--head", "change", "--author", "bob", "--approved-by", "@alice", "--format", "json"]);
    expect(JSON.parse(approved.stdout).ownership.entries).toEqual([{ path: "a.yaml", owners: ["@alice"], allowed: true, satisfiedBy: "approval by @alice" }]);
  });

  it.each(["dev-team", "acme/dev-team/extra", "acme/", "@/dev-team"])("rejects --teams %s, which is not org/team (exit 2)", async (team) => {
    const repo = replicaChange();
    expect(await runCli(["check", "--repo", repo.dir, "--author", "dev-alice", "--teams", `acme/platform,${team}`])).toEqual({
      code: 2,
      stdout: "",
      stderr: `--teams takes teams as org/team (e.g. acme/dev-team or @acme/dev-team), not "${team.replace(/^@/, "")}"\n`,
    });
  });

  it("says plainly when --repo is missing, not a folder, or not a git repository (exit 2)", async () => {
    const missing = join(tempDir(), "does-not-exist");
    expect(await runCli(["check", "--repo", missing])).toEqual({ code: 2, stdout: "", stderr: `fleet-warden: --repo ${missing} does not exist\n` });
    const file = join(tempDir(), "file.yaml");
    writeFileSync(file, "a: 1\n");
    expect(await runCli(["check", "--repo", file])).toEqual({ code: 2, stdout: "", stderr: `fleet-warden: --repo ${file} is not a directory\n` });
    const plain = tempDir("not-a-repo-");
    expect(await runCli(["check", "--repo", plain])).toEqual({ code: 2, stdout: "", stderr: `fleet-warden: --repo ${plain} is not a git repository\n` });
  });

  it("notes in text that uncommitted changes are not evaluated, and judges the commit", async () => {
    const repo = replicaChange();
    writeFileSync(join(repo.dir, "apps/dev-team/staging/replicas.yaml"), "replicas: [\n");
    const args = ["check", "--repo", repo.dir, "--author", "dev-alice", "--teams", "acme/dev-team"];
    const text = await runCli(args);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^fleet-warden: PASS/);
    expect(text.stderr).toBe(`note: ${repo.dir} has uncommitted changes; they are not evaluated: fleet-warden checks the commit HEAD, not the working tree.\n`);
    // Machine formats keep stderr for errors.
    expect((await runCli([...args, "--format", "json"])).stderr).toBe("");
    repo.git("checkout", "--quiet", "--", ".");
    writeFileSync(join(repo.dir, "new.yaml"), "a: 1\n");
    expect((await runCli(args)).stderr).toContain("has uncommitted changes");
  });

  it("says whether an image update would be auto-merged, for the head branch --head or --head-branch names", async () => {
    const policy = "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: web\n  namespace: flux-system\nspec:\n  imageRepositoryRef:\n    name: web\n  policy:\n    semver:\n      range: 1.x\n";
    const deployment = (tag: string) => `apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n    - name: web\n      image: ghcr.io/acme/web:${tag} # {"$imagepolicy": "flux-system:web"}\n`;
    const repo = repoWithChange({ "infrastructure/policy.yaml": policy, "apps/web.yaml": deployment("1.4.2") }, { "apps/web.yaml": deployment("1.5.0") });
    repo.git("branch", "flux-image-updates", "change");
    const autoMerge = async (...args: string[]) => JSON.parse((await runCli(["check", "--repo", repo.dir, "--author", "fluxcdbot", "--format", "json", ...args])).stdout).autoMerge;
    const eligible = {
      eligible: true,
      mergeMethod: "squash",
      reasons: [
        "same repository, author `fluxcdbot` is in imageUpdates.authors, not a draft; its commit is authored by @fluxcdbot",
        "line 8 of apps/web.yaml: tag of `ghcr.io/acme/web` `1.4.2` → `1.5.0` (ImagePolicy flux-system/web (infrastructure/policy.yaml))",
      ],
    };
    expect(await autoMerge("--head", "flux-image-updates")).toEqual(eligible);
    // A commit names no branch, nor does a branch the configuration does not list.
    expect(await autoMerge("--head", repo.git("rev-parse", "change").trim())).toBeUndefined();
    expect(await autoMerge("--head", "change")).toBeUndefined();
    expect(await autoMerge("--head", "change", "--head-branch", "flux-image-updates")).toEqual(eligible);
    // A remote-tracking branch of another remote than origin may be a fork's.
    repo.git("update-ref", "refs/remotes/fork/flux-image-updates", "change");
    const fork = { eligible: false, reasons: ["the head branch is in a fork, not in this repository"] };
    expect(await autoMerge("--head", "fork/flux-image-updates")).toEqual(fork);
    expect(await autoMerge("--head", "fork/flux-image-updates", "--head-branch", "flux-image-updates")).toEqual(fork);
    repo.git("update-ref", "refs/remotes/origin/flux-image-updates", "change");
    expect(await autoMerge("--head", "origin/flux-image-updates")).toEqual(eligible);
  });

  it("prints usage with --help", async () => {
    expect(await runCli(["--help"])).toMatchObject({ code: 0, stdout: expect.stringContaining("Usage: fleet-warden check") });
  });
});

describe.skipIf(!existsSync(corpus))("the real fleet repositories in ../shared/corpus", () => {
  const folders = ["flux2-multi-tenancy/main", "flux2-multi-tenancy/dev-team", "flux2-kustomize-helm-example/main", "flux2-kustomize-helm-example/pre-2.7"];
  it.each(folders)("%s parses cleanly: no yaml-syntax finding when the whole repository is the change", async (folder) => {
    const empty = tempDir("empty-");
    const repo = createFixtureRepo({ base: empty, changes: [join(corpus, folder)] });
    repos.push(repo);
    const result = await runCli(["check", "--repo", repo.dir, "--base", "main", "--head", "HEAD", "--format", "json"]);
    const verdict = JSON.parse(result.stdout);
    expect(verdict.diff.length).toBeGreaterThan(5);
    expect(verdict.findings.filter((finding: { rule: string }) => finding.rule === "yaml-syntax")).toEqual([]);
  });

  it("flux2-kustomize-helm-example labels Flux's own components with the team that runs Flux: the bootstrap Kustomization stays the platform's", async () => {
    // Bootstrap's gotk-sync.yaml (the snapshot keeps a placeholder); the labels transformer beside it labels both objects.
    const bootstrap = tempDir();
    const sync = (namespaceAccount: string) =>
      `apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 1m0s\n  ref:\n    branch: main\n  url: https://github.com/fluxcd/flux2-kustomize-helm-example\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n${namespaceAccount}  interval: 10m0s\n  path: ./clusters/production\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n`;
    writeTree(bootstrap, { "clusters/production/flux-system/gotk-sync.yaml": sync("") });
    const platformChange = tempDir();
    const apps = readFileSync(join(corpus, "flux2-kustomize-helm-example/pre-2.7/clusters/production/apps.yaml"), "utf8");
    writeTree(platformChange, { "clusters/production/apps.yaml": apps.replace("interval: 10m0s", "interval: 15m") });
    const repo = createFixtureRepo({ base: join(corpus, "flux2-kustomize-helm-example/pre-2.7"), changes: [bootstrap, platformChange] });
    repos.push(repo);
    const tenancyFindings = async (base: string) => {
      const verdict = JSON.parse((await runCli(["check", "--repo", repo.dir, "--base", base, "--head", "HEAD", "--format", "json"])).stdout);
      return [...verdict.findings, ...verdict.preExisting].filter((finding: { rule: string }) => /^(tenant-namespace|flux-target-namespace|flux-service-account)$/.test(finding.rule));
    };
    expect(await tenancyFindings("HEAD~1")).toEqual([]);
    // Impersonating a tenant's account, it deploys for that tenant: judged as the tenant's.
    writeTree(repo.dir, { "clusters/production/flux-system/gotk-sync.yaml": sync("  serviceAccountName: sre-team\n") });
    repo.git("commit", "--quiet", "-am", "impersonates");
    expect((await tenancyFindings("HEAD~1")).map((finding: { rule: string; path: string }) => `${finding.rule} ${finding.path}`)).toContain("flux-target-namespace clusters/production/flux-system/gotk-sync.yaml");
  });
});
