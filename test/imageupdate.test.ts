import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { tenantOwnership } from "../rules/tenant-ownership.js";
import { CONFIG_PATH, parseConfig } from "../src/core/config.js";
import { evaluate } from "../src/core/evaluate.js";
import { folderFiles } from "../src/core/files.js";
import { FleetModel } from "../src/core/fleet.js";
import { classifyImageUpdate, parseImageRef } from "../src/core/imageupdate.js";
import type { AutoMergeReport, ChangedFile, PullRequestFacts } from "../src/core/types.js";
import { changedFilesBetween, localFacts } from "../src/local.js";
import { repoWithChange, tempDir, writeTree, type Tree } from "./helpers/fleet.js";
import { semverImagePolicy } from "./helpers/manifests.js";

const DIGEST_A = `sha256:${"a".repeat(64)}`;
const DIGEST_B = `sha256:${"b".repeat(64)}`;

const policies = `${semverImagePolicy("web", "1.x")}---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: api
  namespace: flux-system
spec:
  imageRepositoryRef:
    name: api
  policy:
    semver:
      range: ">=1.0.0"
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: worker
  namespace: flux-system
spec:
  imageRepositoryRef:
    name: worker
  digestReflectionPolicy: Always
  interval: 5m
  filterTags:
    pattern: '^main-[a-fA-F0-9]+-(?P<ts>[1-9][0-9]*)'
    extract: '$ts'
  policy:
    numerical:
      order: asc
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: cache
spec:
  imageRepositoryRef:
    name: cache
  digestReflectionPolicy: IfNotPresent
  filterTags:
    pattern: '^RELEASE\\.(?P<timestamp>.*)Z$'
    extract: '$timestamp'
  policy:
    alphabetical:
      order: asc
`;

const web = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: apps
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: web
          image: ghcr.io/acme/web:1.4.2 # {"$imagepolicy": "flux-system:web"}
          env:
            - name: LOG_LEVEL
              value: info
        - name: sidecar
          image: ghcr.io/acme/proxy:2.1.0
`;

const kustomization = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - web.yaml
images:
  - name: ghcr.io/acme/api
    newName: ghcr.io/acme/api # {"$imagepolicy": "flux-system:api:name"}
    newTag: 1.9.0 # {"$imagepolicy": "flux-system:api:tag"}
`;

const worker = `apiVersion: batch/v1
kind: CronJob
metadata:
  name: worker
  namespace: apps
spec:
  schedule: "*/5 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - name: worker
              image: ghcr.io/acme/worker:main-3f2a9c1-1700000000@${DIGEST_A} # {"$imagepolicy": "flux-system:worker"}
`;

const cache = `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: cache
  namespace: apps
spec:
  values:
    image:
      repository: ghcr.io/acme/cache # {"$imagepolicy": "flux-system:cache:name"}
      tag: RELEASE.2024-01-10T00-00-00Z # {"$imagepolicy": "flux-system:cache:tag"}
      digest: ${DIGEST_A} # {"$imagepolicy": "flux-system:cache:digest"}
`;

const base: Tree = {
  "infrastructure/image-policies.yaml": policies,
  "apps/web.yaml": web,
  "apps/kustomization.yaml": kustomization,
  "apps/worker.yaml": worker,
  "apps/cache.yaml": cache,
  ".github/workflows/ci.yaml": "on: push\njobs: {}\n",
};

/** The base file at `path` with `from` replaced by `to` (which must occur). */
function edit(path: string, from: string, to: string, tree: Tree = base): string {
  const text = tree[path]!;
  if (!text.includes(from)) throw new Error(`${path} does not contain ${from}`);
  return text.replace(from, to);
}

const POLICY_WEB = "ImagePolicy flux-system/web (infrastructure/image-policies.yaml)";
const PR_OK = "same repository, author `fluxcdbot` is in imageUpdates.authors, not a draft; its commit is authored by @fluxcdbot";

/**
 * The facts the App would gather for a pull request from `base` to `base + head`: trees on disk and
 * the changed files of a real \`git diff\` (hunks included); the pull request's own fields default to a
 * clean image-update pull request.
 */
async function pullRequestFacts(baseTree: Tree, head: Tree, pullRequest: Partial<PullRequestFacts> = {}): Promise<PullRequestFacts> {
  const repo = repoWithChange(baseTree, head);
  const baseDir = tempDir();
  const headDir = tempDir();
  writeTree(baseDir, baseTree);
  writeTree(headDir, { ...baseTree, ...head });
  const configText = baseTree[CONFIG_PATH];
  const codeowners = baseTree[".github/CODEOWNERS"];
  return {
    repository: { owner: "acme", name: "fleet" },
    baseSha: repo.git("rev-parse", "main").trim(),
    headSha: repo.git("rev-parse", "change").trim(),
    baseFiles: folderFiles(baseDir),
    headFiles: folderFiles(headDir),
    changedFiles: await changedFilesBetween(repo.dir, "main", "change"),
    author: "fluxcdbot",
    commitAuthors: async () => ["fluxcdbot"],
    headBranch: "flux-image-updates",
    fromFork: false,
    draft: false,
    reviews: [],
    policy: {
      ...(configText ? { config: { path: CONFIG_PATH, text: configText } } : {}),
      ...(codeowners ? { codeowners: { path: ".github/CODEOWNERS", text: codeowners } } : {}),
    },
    isTeamMember: async () => false,
    ...pullRequest,
  };
}

async function classify(baseTree: Tree, head: Tree, pullRequest: Partial<PullRequestFacts> = {}): Promise<AutoMergeReport | undefined> {
  const facts = await pullRequestFacts(baseTree, head, pullRequest);
  return classifyImageUpdate({
    facts,
    config: parseConfig(facts.policy.config?.text).config,
    base: new FleetModel(facts.baseFiles),
    head: new FleetModel(facts.headFiles),
    changedFiles: facts.changedFiles,
  });
}

describe("classifyImageUpdate: which pull requests it judges", () => {
  const bump = { "apps/web.yaml": edit("apps/web.yaml", "web:1.4.2", "web:1.4.3") };

  it("returns undefined for a branch that is not an image-update branch, and judges the default globs", async () => {
    expect(await classify(base, bump, { headBranch: "feature/x" })).toBeUndefined();
    expect(await classify(base, bump, { headBranch: undefined })).toBeUndefined();
    expect((await classify(base, bump, { headBranch: "flux-image-updates-production" }))?.eligible).toBe(true);
  });

  it("uses the configured branches and authors", async () => {
    const configured = { ...base, ".github/fleet-warden.yml": "imageUpdates:\n  branches: [bot/images]\n  authors: [image-bot]\n  mergeMethod: rebase\n" };
    expect(await classify(configured, bump)).toBeUndefined();
    expect(await classify(configured, bump, { headBranch: "bot/images", author: "image-bot", commitAuthors: async () => ["image-bot"] })).toEqual({
      eligible: true,
      mergeMethod: "rebase",
      reasons: [
        "same repository, author `image-bot` is in imageUpdates.authors, not a draft; its commit is authored by @image-bot",
        `line 18 of apps/web.yaml: tag of \`ghcr.io/acme/web\` \`1.4.2\` → \`1.4.3\` (${POLICY_WEB})`,
      ],
    });
  });

  it("a fork, a stranger and a draft are each named, even when the change itself is a clean bump", async () => {
    expect(await classify(base, bump, { fromFork: true, author: "mallory", draft: true })).toEqual({
      eligible: false,
      reasons: [
        "the head branch is in a fork, not in this repository",
        "the author `mallory` is not in imageUpdates.authors (fluxcdbot)",
        "the pull request is a draft",
      ],
    });
  });

  it("every commit must be authored by an imageUpdates author (case-insensitive), not only the opener", async () => {
    const authored = (...logins: Array<string | undefined>) => ({ commitAuthors: async () => logins });
    expect(await classify(base, bump, authored("fluxcdbot", "dev-alice", "fluxcdbot"))).toEqual({
      eligible: false,
      reasons: ["commit 2 of 3 is authored by @dev-alice, not an imageUpdates author"],
    });
    expect(await classify(base, bump, authored("fluxcdbot", undefined))).toEqual({
      eligible: false,
      reasons: ["GitHub maps no account to the author of commit 2 of 2"],
    });
    expect((await classify(base, bump, authored()))?.reasons).toEqual(["GitHub lists no commit of the pull request"]);
    // Read locally (the CLI), as many commits as the App could not read.
    expect((await classify(base, bump, authored(...Array<string>(249).fill("fluxcdbot"))))?.eligible).toBe(true);
    expect(await classify(base, bump, authored(...Array<string>(250).fill("fluxcdbot")))).toEqual({
      eligible: false,
      reasons: ["GitHub lists only the first 250 commits of a pull request, so the authors of the others are unknown"],
    });
    expect((await classify(base, bump, authored("fluxcdbot", "FluxCDBot")))?.reasons[0]).toBe(
      "same repository, author `fluxcdbot` is in imageUpdates.authors, not a draft; its 2 commits are authored by @fluxcdbot, @FluxCDBot",
    );
  });

  it("commits whose authors cannot be read make the pull request not eligible", async () => {
    expect(await classify(base, bump, { commitAuthors: undefined })).toEqual({
      eligible: false,
      reasons: ["the authors of the pull request's commits are not known (they are read from GitHub)"],
    });
    const failing = { commitAuthors: () => Promise.reject(new Error("HTTP 502")) };
    expect((await classify(base, bump, failing))?.reasons).toEqual(["the authors of the pull request's commits could not be read: HTTP 502"]);
  });

  it("asks for the commits' authors only when everything else leaves the pull request eligible", async () => {
    let asked = 0;
    const counting = { commitAuthors: async () => (asked++, ["dev-alice"]) };
    expect((await classify(base, bump, { ...counting, draft: true }))?.reasons).toEqual(["the pull request is a draft"]);
    expect((await classify(base, { "apps/web.yaml": edit("apps/web.yaml", "value: info", "value: debug") }, counting))?.eligible).toBe(false);
    expect(asked).toBe(0);
    expect((await classify(base, bump, counting))?.reasons).toEqual(["commit 1 of 1 is authored by @dev-alice, not an imageUpdates author"]);
    expect(asked).toBe(1);
  });

  it("a branch behind its base is not eligible: its policies are the merge base's, not the base tip's", async () => {
    const facts = await pullRequestFacts(base, bump);
    const judge = async (baseTipSha: string | undefined) =>
      classifyImageUpdate({ facts: { ...facts, baseTipSha }, config: parseConfig(undefined).config, base: new FleetModel(facts.baseFiles), head: new FleetModel(facts.headFiles), changedFiles: facts.changedFiles });
    expect(await judge("f".repeat(40))).toEqual({
      eligible: false,
      reasons: ["the branch is behind its base: policies are read at the base tip only when it is up to date"],
    });
    expect((await judge(facts.baseSha))?.eligible).toBe(true);
    expect((await judge(undefined))?.eligible).toBe(true);
  });

  it("the CLI knows the base tip: a branch cut before the base tightened its ImagePolicy is not eligible", async () => {
    const repo = repoWithChange(base, bump);
    const tightened = edit("infrastructure/image-policies.yaml", "range: 1.x", "range: 1.4.2");
    repo.git("checkout", "-q", "main");
    writeTree(repo.dir, { "infrastructure/image-policies.yaml": tightened });
    repo.git("commit", "-q", "-am", "freeze web");
    const { facts, dispose } = await localFacts({ repo: repo.dir, base: "main", head: "change", author: "fluxcdbot" });
    try {
      expect(facts.baseTipSha).toBe(repo.git("rev-parse", "main").trim());
      expect(facts.baseSha).toBe(repo.git("rev-parse", "main~1").trim());
      const verdict = await evaluate({ ...facts, headBranch: "flux-image-updates", fromFork: false, draft: false, commitAuthors: async () => ["fluxcdbot"] }, { rules: [] });
      expect(verdict.autoMerge).toEqual({
        eligible: false,
        reasons: ["the branch is behind its base: policies are read at the base tip only when it is up to date"],
      });
    } finally {
      await dispose();
    }
  });

  it("a pull request whose head repository is unknown is never eligible", async () => {
    expect(await classify(base, bump, { fromFork: undefined })).toEqual({
      eligible: false,
      reasons: ["it is not known whether the head branch is in this repository"],
    });
  });
});

describe("classifyImageUpdate: eligible image updates", () => {
  it("a tag bump", async () => {
    expect(await classify(base, { "apps/web.yaml": edit("apps/web.yaml", "web:1.4.2", "web:1.4.3") })).toEqual({
      eligible: true,
      mergeMethod: "squash",
      reasons: [PR_OK, `line 18 of apps/web.yaml: tag of \`ghcr.io/acme/web\` \`1.4.2\` → \`1.4.3\` (${POLICY_WEB})`],
    });
  });

  it("a digest bump on a full reference (tag@digest)", async () => {
    expect(await classify(base, { "apps/worker.yaml": edit("apps/worker.yaml", DIGEST_A, DIGEST_B) })).toEqual({
      eligible: true,
      mergeMethod: "squash",
      reasons: [
        PR_OK,
        `line 14 of apps/worker.yaml: \`ghcr.io/acme/worker:main-3f2a9c1-1700000000@${DIGEST_A}\` → \`ghcr.io/acme/worker:main-3f2a9c1-1700000000@${DIGEST_B}\` (ImagePolicy flux-system/worker (infrastructure/image-policies.yaml))`,
      ],
    });
  });

  it("a `:digest`-marker bump along with its `:tag` (digestReflectionPolicy IfNotPresent)", async () => {
    const retagged = edit("apps/cache.yaml", "RELEASE.2024-01-10T00-00-00Z", "RELEASE.2024-02-01T00-00-00Z").replace(DIGEST_A, DIGEST_B);
    expect(await classify(base, { "apps/cache.yaml": retagged })).toEqual({
      eligible: true,
      mergeMethod: "squash",
      reasons: [
        PR_OK,
        "line 10 of apps/cache.yaml: tag `RELEASE.2024-01-10T00-00-00Z` → `RELEASE.2024-02-01T00-00-00Z` (ImagePolicy cache (infrastructure/image-policies.yaml))",
        `line 11 of apps/cache.yaml: digest \`${DIGEST_A}\` → \`${DIGEST_B}\` (ImagePolicy cache (infrastructure/image-policies.yaml))`,
      ],
    });
  });

  it("a `:tag` scalar that Flux's digest reflection writes as `<tag>@<digest>`", async () => {
    const withDigest = edit("apps/kustomization.yaml", "newTag: 1.9.0", `newTag: 1.9.0@${DIGEST_A}`);
    const reflecting = { ...base, "apps/kustomization.yaml": withDigest, "infrastructure/image-policies.yaml": policies.replace("range: \">=1.0.0\"", "range: \">=1.0.0\"\n  digestReflectionPolicy: Always") };
    const bumped = { "apps/kustomization.yaml": withDigest.replace(`1.9.0@${DIGEST_A}`, `1.10.0@${DIGEST_B}`) };
    expect((await classify(reflecting, bumped))?.reasons).toEqual([
      PR_OK,
      `line 8 of apps/kustomization.yaml: tag \`1.9.0@${DIGEST_A}\` → \`1.10.0@${DIGEST_B}\` (ImagePolicy flux-system/api (infrastructure/image-policies.yaml))`,
    ]);
    expect((await classify(reflecting, { "apps/kustomization.yaml": withDigest.replace(`1.9.0@${DIGEST_A}`, `1.8.0@${DIGEST_B}`) }))?.reasons).toEqual([
      `line 8 of apps/kustomization.yaml changes the tag from \`1.9.0\` to \`1.8.0\`, which ImagePolicy flux-system/api (infrastructure/image-policies.yaml) does not allow: 1.8.0 is not newer than 1.9.0`,
    ]);
  });

  it("a `:tag`-marker bump in a kustomization's images", async () => {
    expect(await classify(base, { "apps/kustomization.yaml": edit("apps/kustomization.yaml", "newTag: 1.9.0", "newTag: 1.10.0") })).toEqual({
      eligible: true,
      mergeMethod: "squash",
      reasons: [PR_OK, "line 8 of apps/kustomization.yaml: tag `1.9.0` → `1.10.0` (ImagePolicy flux-system/api (infrastructure/image-policies.yaml))"],
    });
  });

  it("numerical order after filterTags extraction, and alphabetical order", async () => {
    const report = await classify(base, {
      "apps/worker.yaml": edit("apps/worker.yaml", `main-3f2a9c1-1700000000@${DIGEST_A}`, `main-9e8d7c6-1700000300@${DIGEST_B}`),
      "apps/cache.yaml": edit("apps/cache.yaml", "RELEASE.2024-01-10T00-00-00Z", "RELEASE.2024-02-01T00-00-00Z"),
    });
    expect(report).toEqual({
      eligible: true,
      mergeMethod: "squash",
      reasons: [
        PR_OK,
        "line 10 of apps/cache.yaml: tag `RELEASE.2024-01-10T00-00-00Z` → `RELEASE.2024-02-01T00-00-00Z` (ImagePolicy cache (infrastructure/image-policies.yaml))",
        `line 14 of apps/worker.yaml: \`ghcr.io/acme/worker:main-3f2a9c1-1700000000@${DIGEST_A}\` → \`ghcr.io/acme/worker:main-9e8d7c6-1700000300@${DIGEST_B}\` (ImagePolicy flux-system/worker (infrastructure/image-policies.yaml))`,
      ],
    });
  });

  it("a whole file reformatted by the automation (same values, different layout) along with the bump", async () => {
    const reformatted = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: apps}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels:
        app: "web"
    spec:
      containers:
      - name: web
        image: ghcr.io/acme/web:1.5.0 # {"$imagepolicy": "flux-system:web"}
        env:
        - {name: LOG_LEVEL, value: info}
      - name: sidecar
        image: 'ghcr.io/acme/proxy:2.1.0'
`;
    expect(await classify(base, { "apps/web.yaml": reformatted })).toEqual({
      eligible: true,
      mergeMethod: "squash",
      reasons: [PR_OK, `line 15 of apps/web.yaml: tag of \`ghcr.io/acme/web\` \`1.4.2\` → \`1.5.0\` (${POLICY_WEB})`],
    });
  });

  describe("a scalar is unchanged only when YAML 1.2 and YAML 1.1 both read it alike on both sides", () => {
    const reader = (tag: string, feature: string, mode: string, indent = "  ") => `apiVersion: v1
kind: Pod
metadata:
  name: reader
  namespace: apps
spec:
  containers:
${indent}- name: reader
${indent}  image: ghcr.io/acme/web:${tag} # {"$imagepolicy": "flux-system:web"}
${indent}  env:
${indent}    - name: FEATURE
${indent}      value: ${feature}
  volumes:
${indent}- name: creds
${indent}  secret:
${indent}    secretName: creds
${indent}    defaultMode: ${mode}
`;
    const withReader = { ...base, "apps/reader.yaml": reader("1.4.2", '"yes"', "0444") };

    it("requoting an equal string and re-indenting stay reformatting", async () => {
      expect((await classify(withReader, { "apps/reader.yaml": reader("1.4.3", "'yes'", "0444", "    ") }))?.reasons).toEqual([
        PR_OK,
        `line 9 of apps/reader.yaml: tag of \`ghcr.io/acme/web\` \`1.4.2\` → \`1.4.3\` (${POLICY_WEB})`,
      ]);
    });

    it("a key YAML 1.1 reads as a boolean (on:) does not hide the tag under it from the YAML 1.2 reading", async () => {
      const sidecar = (tag: string) => reader(tag, '"yes"', "0444").replace("  containers:\n", "  on:\n    enabled: true\n  containers:\n");
      const withKey = { ...base, "apps/reader.yaml": sidecar("1.4.2") };
      expect((await classify(withKey, { "apps/reader.yaml": sidecar("1.4.3") }))?.reasons).toEqual([
        PR_OK,
        `line 11 of apps/reader.yaml: tag of \`ghcr.io/acme/web\` \`1.4.2\` → \`1.4.3\` (${POLICY_WEB})`,
      ]);
      const onKeyed = (tag: string) => withKey["apps/reader.yaml"]!.replace("  on:\n    enabled: true\n", `  on:\n    image: ghcr.io/acme/web:${tag} # {"$imagepolicy": "flux-system:web"}\n`);
      expect((await classify({ ...base, "apps/reader.yaml": onKeyed("1.4.2") }, { "apps/reader.yaml": onKeyed("1.4.3") }))?.eligible).toBe(true);
    });

    it("an octal rewritten as a decimal of the same digits, and a quoted yes unquoted, are changes", async () => {
      expect((await classify(withReader, { "apps/reader.yaml": reader("1.4.3", "yes", "444") }))?.reasons).toEqual([
        'line 12 of apps/reader.yaml changes `spec.containers[0].env[0].value` from "yes" to true as YAML 1.1 reads it (as kustomize and Flux read numbers like 0444), although YAML 1.2 reads both sides alike',
        "line 17 of apps/reader.yaml changes `spec.volumes[0].secret.defaultMode` from 292 to 444 as YAML 1.1 reads it (as kustomize and Flux read numbers like 0444), although YAML 1.2 reads both sides alike",
      ]);
    });
  });

  it("a tag that YAML reads as a number keeps its written form (1.9 → 1.10 is newer)", async () => {
    const numeric = { ...base, "apps/kustomization.yaml": edit("apps/kustomization.yaml", "newTag: 1.9.0", "newTag: 1.9") };
    expect(await classify(numeric, { "apps/kustomization.yaml": edit("apps/kustomization.yaml", "newTag: 1.9", "newTag: 1.10", numeric) })).toEqual({
      eligible: true,
      mergeMethod: "squash",
      reasons: [PR_OK, "line 8 of apps/kustomization.yaml: tag `1.9` → `1.10` (ImagePolicy flux-system/api (infrastructure/image-policies.yaml))"],
    });
  });

  it("a marked tag rewritten to a text YAML reads as the same number (1.10 → 1.1, both 1.1) is judged as the tag it writes", async () => {
    const numeric = { ...base, "apps/kustomization.yaml": edit("apps/kustomization.yaml", "newTag: 1.9.0", "newTag: 1.10") };
    const webBump = { "apps/web.yaml": edit("apps/web.yaml", "web:1.4.2", "web:1.4.3") };
    expect((await classify(numeric, { ...webBump, "apps/kustomization.yaml": edit("apps/kustomization.yaml", "newTag: 1.10", "newTag: 1.1", numeric) }))?.reasons).toEqual([
      "line 8 of apps/kustomization.yaml changes the tag from `1.10` to `1.1`, which ImagePolicy flux-system/api (infrastructure/image-policies.yaml) does not allow: 1.1.0 is not newer than 1.10.0",
    ]);
    expect((await classify(numeric, { ...webBump, "apps/kustomization.yaml": edit("apps/kustomization.yaml", "newTag: 1.10", "newTag: 1.100", numeric) }))?.reasons).toEqual([
      PR_OK,
      "line 8 of apps/kustomization.yaml: tag `1.10` → `1.100` (ImagePolicy flux-system/api (infrastructure/image-policies.yaml))",
      `line 18 of apps/web.yaml: tag of \`ghcr.io/acme/web\` \`1.4.2\` → \`1.4.3\` (${POLICY_WEB})`,
    ]);
  });

  it("a major jump is eligible when allowMajor is set and the range allows it", async () => {
    const allowing = { ...base, ".github/fleet-warden.yml": "imageUpdates:\n  allowMajor: true\n" };
    const report = await classify(allowing, { "apps/kustomization.yaml": edit("apps/kustomization.yaml", "newTag: 1.9.0", "newTag: 2.0.0", allowing) });
    expect(report?.eligible).toBe(true);
  });
});

describe("classifyImageUpdate: everything else is named", () => {
  it("a bump plus an env change", async () => {
    const head = edit("apps/web.yaml", "web:1.4.2", "web:1.4.3").replace("value: info", "value: debug");
    expect(await classify(base, { "apps/web.yaml": head })).toEqual({
      eligible: false,
      reasons: ["line 21 of apps/web.yaml changes `spec.template.spec.containers[0].env[0].value`, which carries no image-policy marker"],
    });
  });

  it("a bump plus an added __proto__ or constructor key, which are keys like any other", async () => {
    const added = (key: string) => edit("apps/web.yaml", "web:1.4.2", "web:1.4.3").replace("value: info", `value: info\n              ${key}: {}`);
    for (const key of ["__proto__", "constructor"]) {
      expect(await classify(base, { "apps/web.yaml": added(key) })).toEqual({ eligible: false, reasons: [`line 22 of apps/web.yaml adds \`spec.template.spec.containers[0].env[0].${key}\``] });
    }
    expect(({} as Record<string, unknown>).value).toBeUndefined();
  });

  it("a bump of an unmarked image", async () => {
    expect(await classify(base, { "apps/web.yaml": edit("apps/web.yaml", "proxy:2.1.0", "proxy:2.2.0") })).toEqual({
      eligible: false,
      reasons: ["line 23 of apps/web.yaml changes `spec.template.spec.containers[1].image`, which carries no image-policy marker"],
    });
  });

  it("an image repository swap, in a full reference and through a `:name` marker", async () => {
    expect(
      await classify(base, {
        "apps/web.yaml": edit("apps/web.yaml", "ghcr.io/acme/web:1.4.2", "ghcr.io/evil/web:1.4.3"),
        "apps/kustomization.yaml": edit("apps/kustomization.yaml", "newName: ghcr.io/acme/api", "newName: ghcr.io/evil/api"),
      }),
    ).toEqual({
      eligible: false,
      reasons: [
        "line 7 of apps/kustomization.yaml changes the image repository from `ghcr.io/acme/api` to `ghcr.io/evil/api` (marker `flux-system:api:name`); only tags and digests may change",
        "line 18 of apps/web.yaml changes the image repository from `ghcr.io/acme/web` to `ghcr.io/evil/web`; only tags and digests may change",
      ],
    });
  });

  it("a major jump beyond the policy's range", async () => {
    expect(await classify(base, { "apps/web.yaml": edit("apps/web.yaml", "web:1.4.2", "web:2.0.0") })).toEqual({
      eligible: false,
      reasons: [
        `line 18 of apps/web.yaml changes the tag of \`ghcr.io/acme/web\` from \`1.4.2\` to \`2.0.0\`, which ${POLICY_WEB} does not allow: 2.0.0 is outside the range \`1.x\``,
      ],
    });
  });

  it("a major jump inside an open range, without allowMajor", async () => {
    expect(await classify(base, { "apps/kustomization.yaml": edit("apps/kustomization.yaml", "newTag: 1.9.0", "newTag: 2.0.0") })).toEqual({
      eligible: false,
      reasons: [
        "line 8 of apps/kustomization.yaml changes the tag from `1.9.0` to `2.0.0`, which ImagePolicy flux-system/api (infrastructure/image-policies.yaml) does not allow: it crosses a major version (1 → 2) and imageUpdates.allowMajor is false",
      ],
    });
  });

  it("a downgrade, an out-of-order numerical tag and a tag the filter rejects", async () => {
    const report = await classify(base, {
      "apps/kustomization.yaml": edit("apps/kustomization.yaml", "newTag: 1.9.0", "newTag: 1.8.9"),
      "apps/worker.yaml": edit("apps/worker.yaml", "main-3f2a9c1-1700000000", "main-3f2a9c1-1699999999"),
      "apps/cache.yaml": edit("apps/cache.yaml", "RELEASE.2024-01-10T00-00-00Z", "latest"),
    });
    expect(report).toEqual({
      eligible: false,
      reasons: [
        "line 10 of apps/cache.yaml changes the tag from `RELEASE.2024-01-10T00-00-00Z` to `latest`, which ImagePolicy cache (infrastructure/image-policies.yaml) does not allow: the new tag does not match filterTags.pattern `^RELEASE\\.(?P<timestamp>.*)Z$`",
        "line 8 of apps/kustomization.yaml changes the tag from `1.9.0` to `1.8.9`, which ImagePolicy flux-system/api (infrastructure/image-policies.yaml) does not allow: 1.8.9 is not newer than 1.9.0",
        "line 14 of apps/worker.yaml changes the tag of `ghcr.io/acme/worker` from `main-3f2a9c1-1700000000` to `main-3f2a9c1-1699999999`, which ImagePolicy flux-system/worker (infrastructure/image-policies.yaml) does not allow: 1699999999 is not greater than 1700000000 (numerical, asc)",
      ],
    });
  });

  it("a marker naming a missing policy, or a policy in another namespace", async () => {
    const ghost = web.replace("flux-system:web", "flux-system:ghost");
    const elsewhere = web.replace("flux-system:web", "apps:web");
    expect(await classify({ ...base, "apps/web.yaml": ghost }, { "apps/web.yaml": ghost.replace("web:1.4.2", "web:1.4.3") })).toEqual({
      eligible: false,
      reasons: [
        "line 18 of apps/web.yaml changes `spec.template.spec.containers[0].image`, whose marker names ImagePolicy `flux-system:ghost`, which does not exist in the repository",
      ],
    });
    expect((await classify({ ...base, "apps/web.yaml": elsewhere }, { "apps/web.yaml": elsewhere.replace("web:1.4.2", "web:1.4.3") }))?.reasons).toEqual([
      "line 18 of apps/web.yaml changes `spec.template.spec.containers[0].image`, whose marker names ImagePolicy `apps:web`, which does not exist in the repository",
    ]);
  });

  describe("every ImagePolicy the marker can name must allow the tag", () => {
    const bumpTo = (tag: string) => ({ "apps/web.yaml": edit("apps/web.yaml", "web:1.4.2", `web:${tag}`) });
    const pinned = semverImagePolicy("web", "1.4.x");

    it("a looser same-named copy elsewhere (an example, a copy without namespace) does not widen the range, whatever the path order", async () => {
      const withCopies = { ...base, "aaa/example-policy.yaml": semverImagePolicy("web", "\">=1.0.0\""), "infrastructure/pinned.yaml": pinned };
      expect((await classify(withCopies, bumpTo("1.9.0")))?.reasons).toEqual([
        "line 18 of apps/web.yaml changes the tag of `ghcr.io/acme/web` from `1.4.2` to `1.9.0`, which ImagePolicy flux-system/web (infrastructure/pinned.yaml) does not allow: 1.9.0 is outside the range `1.4.x`",
      ]);
      const unnamespaced = { ...base, "aaa/policy.yaml": semverImagePolicy("web", "1.4.x").replace("  namespace: flux-system\n", "") };
      expect((await classify(unnamespaced, bumpTo("1.9.0")))?.reasons).toEqual([
        "line 18 of apps/web.yaml changes the tag of `ghcr.io/acme/web` from `1.4.2` to `1.9.0`, which ImagePolicy web (aaa/policy.yaml) does not allow: 1.9.0 is outside the range `1.4.x`",
      ]);
      expect(await classify(withCopies, bumpTo("1.4.3"))).toEqual({
        eligible: true,
        mergeMethod: "squash",
        reasons: [
          PR_OK,
          "line 18 of apps/web.yaml: tag of `ghcr.io/acme/web` `1.4.2` → `1.4.3` (ImagePolicies flux-system/web (aaa/example-policy.yaml), flux-system/web (infrastructure/image-policies.yaml), flux-system/web (infrastructure/pinned.yaml))",
        ],
      });
    });

    it("every refusing policy is named", async () => {
      const twoPins = { ...base, "infrastructure/pinned.yaml": pinned, "infrastructure/frozen.yaml": semverImagePolicy("web", "1.4.2") };
      expect((await classify(twoPins, bumpTo("1.4.3")))?.reasons).toEqual([
        "line 18 of apps/web.yaml changes the tag of `ghcr.io/acme/web` from `1.4.2` to `1.4.3`, which ImagePolicy flux-system/web (infrastructure/frozen.yaml) does not allow: 1.4.3 is outside the range `1.4.2`",
      ]);
    });

    it("a tenant's same-named ImagePolicy must allow the tag too: it never widens the platform's", async () => {
      const tenantConfig = "tenants:\n  - name: dev-team\n    paths: [\"apps/dev-team/**\"]\n    namespaces: [dev-team]\n";
      const tenantLoose = { ...base, ".github/fleet-warden.yml": tenantConfig, "infrastructure/image-policies.yaml": policies.replace("range: 1.x", "range: 1.4.x"), "apps/dev-team/policy.yaml": semverImagePolicy("web", "1.x") };
      expect((await classify(tenantLoose, bumpTo("1.9.0")))?.reasons).toEqual([
        `line 18 of apps/web.yaml changes the tag of \`ghcr.io/acme/web\` from \`1.4.2\` to \`1.9.0\`, which ${POLICY_WEB} does not allow: 1.9.0 is outside the range \`1.4.x\``,
      ]);
      const tenantStrict = { ...base, ".github/fleet-warden.yml": tenantConfig, "apps/dev-team/policy.yaml": semverImagePolicy("web", "1.4.x") };
      expect((await classify(tenantStrict, bumpTo("1.9.0")))?.reasons).toEqual([
        "line 18 of apps/web.yaml changes the tag of `ghcr.io/acme/web` from `1.4.2` to `1.9.0`, which ImagePolicy flux-system/web (apps/dev-team/policy.yaml) does not allow: 1.9.0 is outside the range `1.4.x`",
      ]);
    });

    it("a file in a cluster's folder is judged by its own cluster's policy and shared ones, never another cluster's", async () => {
      const clusters: Tree = {
        "clusters/a-lab/web-policy.yaml": semverImagePolicy("web", "1.x"),
        "clusters/prod/web-policy.yaml": pinned,
        "clusters/prod/web.yaml": web,
      };
      const prodBump = (tag: string) => ({ "clusters/prod/web.yaml": edit("clusters/prod/web.yaml", "web:1.4.2", `web:${tag}`, clusters) });
      expect((await classify(clusters, prodBump("1.9.0")))?.reasons).toEqual([
        "line 18 of clusters/prod/web.yaml changes the tag of `ghcr.io/acme/web` from `1.4.2` to `1.9.0`, which ImagePolicy flux-system/web (clusters/prod/web-policy.yaml) does not allow: 1.9.0 is outside the range `1.4.x`",
      ]);
      expect((await classify(clusters, prodBump("1.4.3")))?.reasons[1]).toBe(
        "line 18 of clusters/prod/web.yaml: tag of `ghcr.io/acme/web` `1.4.2` → `1.4.3` (ImagePolicy flux-system/web (clusters/prod/web-policy.yaml))",
      );
      const shared = { ...clusters, "infrastructure/web-policy.yaml": semverImagePolicy("web", "1.4.2") };
      expect((await classify(shared, prodBump("1.4.3")))?.reasons).toEqual([
        "line 18 of clusters/prod/web.yaml changes the tag of `ghcr.io/acme/web` from `1.4.2` to `1.4.3`, which ImagePolicy flux-system/web (infrastructure/web-policy.yaml) does not allow: 1.4.3 is outside the range `1.4.2`",
      ]);
      const { "clusters/prod/web-policy.yaml": _prod, ...labOnly } = clusters;
      expect((await classify(labOnly, prodBump("1.4.3")))?.reasons).toEqual([
        "line 18 of clusters/prod/web.yaml changes `spec.template.spec.containers[0].image`, whose marker names ImagePolicy `flux-system:web`, which exists only in another cluster's folder (clusters/a-lab/web-policy.yaml)",
      ]);
    });
  });

  describe("a digest is accepted only where Flux writes one (digestReflectionPolicy)", () => {
    it("a digest added to a tag bump under a policy without digest reflection", async () => {
      expect((await classify(base, { "apps/web.yaml": edit("apps/web.yaml", "web:1.4.2", `web:1.4.3@${DIGEST_A}`) }))?.reasons).toEqual([
        `line 18 of apps/web.yaml adds a digest: \`ghcr.io/acme/web:1.4.2\` → \`ghcr.io/acme/web:1.4.3@${DIGEST_A}\`, which ${POLICY_WEB} does not allow: it sets no digestReflectionPolicy, so Flux never writes a digest (IfNotPresent or Always would)`,
      ]);
      const never = { ...base, "infrastructure/image-policies.yaml": policies.replace("range: 1.x", "range: 1.x\n  digestReflectionPolicy: Never") };
      expect((await classify(never, { "apps/web.yaml": edit("apps/web.yaml", "web:1.4.2", `web:1.4.3@${DIGEST_A}`) }))?.reasons).toEqual([
        `line 18 of apps/web.yaml adds a digest: \`ghcr.io/acme/web:1.4.2\` → \`ghcr.io/acme/web:1.4.3@${DIGEST_A}\`, which ${POLICY_WEB} does not allow: it sets digestReflectionPolicy \`Never\`, so Flux never writes a digest (IfNotPresent or Always would)`,
      ]);
    });

    it("a digest-only change under IfNotPresent, and a `:digest` scalar changed without its `:tag`", async () => {
      const cachePolicy = "ImagePolicy cache (infrastructure/image-policies.yaml)";
      expect((await classify(base, { "apps/cache.yaml": edit("apps/cache.yaml", DIGEST_A, DIGEST_B) }))?.reasons).toEqual([
        `line 11 of apps/cache.yaml changes only the digest: \`${DIGEST_A}\` → \`${DIGEST_B}\`, which ${cachePolicy} does not allow: its digestReflectionPolicy is IfNotPresent, under which Flux writes a digest only along with a new tag`,
      ]);
      const ifNotPresent = { ...base, "infrastructure/image-policies.yaml": policies.replace("digestReflectionPolicy: Always", "digestReflectionPolicy: IfNotPresent") };
      expect((await classify(ifNotPresent, { "apps/worker.yaml": edit("apps/worker.yaml", DIGEST_A, DIGEST_B) }))?.reasons).toEqual([
        `line 14 of apps/worker.yaml changes only the digest: \`ghcr.io/acme/worker:main-3f2a9c1-1700000000@${DIGEST_A}\` → \`ghcr.io/acme/worker:main-3f2a9c1-1700000000@${DIGEST_B}\`, which ImagePolicy flux-system/worker (infrastructure/image-policies.yaml) does not allow: its digestReflectionPolicy is IfNotPresent, under which Flux writes a digest only along with a new tag`,
      ]);
      const retagged = edit("apps/worker.yaml", `main-3f2a9c1-1700000000@${DIGEST_A}`, `main-9e8d7c6-1700000300@${DIGEST_B}`);
      expect((await classify(ifNotPresent, { "apps/worker.yaml": retagged }))?.eligible).toBe(true);
    });
  });

  it("a marker Flux would not apply", async () => {
    const invalid = web.replace("flux-system:web", "flux-system:web:version");
    expect(await classify({ ...base, "apps/web.yaml": invalid }, { "apps/web.yaml": invalid.replace("web:1.4.2", "web:1.4.3") })).toEqual({
      eligible: false,
      reasons: [
        'line 18 of apps/web.yaml changes `spec.template.spec.containers[0].image`, whose marker is not one Flux applies: the image policy marker "flux-system:web:version" ends in ":version"; only :tag, :name and :digest exist',
      ],
    });
  });

  it("a .github/workflows change", async () => {
    expect(
      await classify(base, {
        "apps/web.yaml": edit("apps/web.yaml", "web:1.4.2", "web:1.4.3"),
        ".github/workflows/ci.yaml": "on: push\njobs: {steal: {runs-on: ubuntu-latest}}\n",
      }),
    ).toEqual({ eligible: false, reasons: [".github/workflows/ci.yaml is under .github/, which an image update never changes"] });
  });

  it("a deleted file, an added file and a non-YAML file", async () => {
    expect(
      await classify(base, { "apps/worker.yaml": null, "apps/extra.yaml": "kind: ConfigMap\n", "apps/NOTES.md": "hello\n" }),
    ).toEqual({
      eligible: false,
      reasons: [
        "apps/NOTES.md is added; an image update only modifies existing files",
        "apps/extra.yaml is added; an image update only modifies existing files",
        "apps/worker.yaml is removed; an image update only modifies existing files",
      ],
    });
  });

  it("a file whose mode alone changes (chmod +x), as git and GitHub list it, is a change", async () => {
    const bump = { "apps/web.yaml": edit("apps/web.yaml", "web:1.4.2", "web:1.4.3") };
    const modeChange = "apps/cache.yaml changes, but not its content: its file mode changes (made executable, for instance), which an image update never does";
    const facts = await pullRequestFacts(base, bump);
    const judge = (changedFiles: ChangedFile[]) =>
      classifyImageUpdate({ facts, config: parseConfig(undefined).config, base: new FleetModel(facts.baseFiles), head: new FleetModel(facts.headFiles), changedFiles });
    expect((await judge(facts.changedFiles))?.eligible).toBe(true);
    // GitHub lists a mode-only change as "changed" (read as modified), without a patch.
    expect((await judge([...facts.changedFiles, { path: "apps/cache.yaml", status: "modified", addedLines: [], hunks: [] }]))?.reasons).toEqual([modeChange]);

    const repo = repoWithChange(base, bump);
    repo.git("update-index", "--chmod=+x", "apps/cache.yaml");
    repo.git("commit", "-q", "-m", "chmod");
    const local = await localFacts({ repo: repo.dir, base: "main", head: "change", author: "fluxcdbot" });
    try {
      const verdict = await evaluate({ ...local.facts, headBranch: "flux-image-updates", fromFork: false, draft: false, commitAuthors: async () => ["fluxcdbot"] }, { rules: [] });
      expect(verdict.autoMerge?.reasons).toEqual([modeChange]);
    } finally {
      await local.dispose();
    }
  });

  it("a renamed file", async () => {
    expect(await classify(base, { "apps/cache.yaml": null, "apps/cache-release.yaml": cache })).toEqual({
      eligible: false,
      reasons: ["apps/cache.yaml is renamed to apps/cache-release.yaml; an image update only modifies files in place"],
    });
  });

  it("a marker added to another field, and a document added to a file", async () => {
    const head = edit("apps/web.yaml", "replicas: 2", 'replicas: 2 # {"$imagepolicy": "flux-system:web"}') + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n";
    expect(await classify(base, { "apps/web.yaml": head })).toEqual({
      eligible: false,
      reasons: ["apps/web.yaml has 2 YAML documents instead of 1; only marked image references may change"],
    });
    expect(await classify(base, { "apps/web.yaml": edit("apps/web.yaml", "replicas: 2", 'replicas: 3 # {"$imagepolicy": "flux-system:web"}') })).toEqual({
      eligible: false,
      reasons: ["apps/web.yaml adds an image-policy marker to `spec.replicas` (`none` → `flux-system:web`)"],
    });
  });

  it("an added and a removed key", async () => {
    const head = edit("apps/web.yaml", "  replicas: 2\n", "  paused: true\n");
    expect(await classify(base, { "apps/web.yaml": head })).toEqual({
      eligible: false,
      reasons: ["apps/web.yaml removes `spec.replicas` (line 7 of the base)", "line 7 of apps/web.yaml adds `spec.paused`"],
    });
  });

  it("a pull request that only reformats changes no image", async () => {
    expect(await classify(base, { "apps/kustomization.yaml": kustomization.replace("resources:\n  - web.yaml", "resources: [web.yaml]") })).toEqual({
      eligible: false,
      reasons: ["no image reference changed: the pull request only reformats files"],
    });
  });
});

function readTree(root: string): Tree {
  const tree: Tree = {};
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else tree[relative(root, path)] = readFileSync(path, "utf8");
    }
  };
  walk(root);
  return tree;
}

describe("a real image-update commit (Flux's image-update guide, setter marker on the full reference)", () => {
  const fixture = join(import.meta.dirname, "../fixtures/image-updates/podinfo");
  const podinfoBase = readTree(join(fixture, "base"));
  const podinfoHead = readTree(join(fixture, "head"));

  it("the guide's 5.0.0 → 5.0.3 commit, re-indented by kyaml, is eligible", async () => {
    expect(await classify(podinfoBase, podinfoHead)).toEqual({
      eligible: true,
      mergeMethod: "squash",
      reasons: [
        PR_OK,
        "line 17 of clusters/my-cluster/podinfo-deployment.yaml: tag of `ghcr.io/stefanprodan/podinfo` `5.0.0` → `5.0.3` (ImagePolicy flux-system/podinfo (clusters/my-cluster/podinfo-policy.yaml))",
      ],
    });
  });

  it("the same commit bumping to 5.1.0 is outside the guide's 5.0.x range", async () => {
    const head = { ...podinfoHead };
    const path = "clusters/my-cluster/podinfo-deployment.yaml";
    head[path] = head[path]!.replace("podinfo:5.0.3", "podinfo:5.1.0");
    expect((await classify(podinfoBase, head))?.reasons).toEqual([
      "line 17 of clusters/my-cluster/podinfo-deployment.yaml changes the tag of `ghcr.io/stefanprodan/podinfo` from `5.0.0` to `5.1.0`, which ImagePolicy flux-system/podinfo (clusters/my-cluster/podinfo-policy.yaml) does not allow: 5.1.0 is outside the range `5.0.x`",
    ]);
  });

  it("the engine puts the report in the verdict", async () => {
    const verdict = await evaluate(await pullRequestFacts(podinfoBase, podinfoHead), { rules: [] });
    expect(verdict.autoMerge?.eligible).toBe(true);
    const ordinary = await evaluate(await pullRequestFacts(podinfoBase, podinfoHead, { headBranch: "main-update" }), { rules: [] });
    expect(ordinary.autoMerge).toBeUndefined();
  });
});

describe("ownership of an image update", () => {
  const owned = { ...base, ".github/CODEOWNERS": "* @acme/platform\n/apps/ @acme/apps\n" };
  const verdictFor = async (head: Tree) => evaluate(await pullRequestFacts(owned, head), { rules: [tenantOwnership] });

  it("an eligible image update needs no owner's approval", async () => {
    const verdict = await verdictFor({ "apps/web.yaml": edit("apps/web.yaml", "web:1.4.2", "web:1.4.3") });
    expect(verdict.autoMerge?.eligible).toBe(true);
    expect(verdict.conclusion).toBe("success");
    expect(verdict.findings).toEqual([]);
    expect(verdict.ownership).toEqual({
      entries: [],
      notices: ["Ownership does not apply: this is an eligible image update, authorized by the auto-merge classifier (see Auto-merge)."],
    });
  });

  it("an ineligible one is an ordinary pull request: ownership applies", async () => {
    const verdict = await verdictFor({ "apps/web.yaml": edit("apps/web.yaml", "web:1.4.2", "web:1.4.3").replace("value: info", "value: debug") });
    expect(verdict.autoMerge?.eligible).toBe(false);
    expect(verdict.conclusion).toBe("failure");
    expect(verdict.findings.map((finding) => `${finding.rule} ${finding.path}:${finding.line}`)).toEqual(["tenant-ownership apps/web.yaml:1"]);
  });
});

describe("image references", () => {
  it("splits references with registry ports, tags and digests", () => {
    expect(parseImageRef("localhost:5000/org/app:1.2.3")).toEqual({ name: "localhost:5000/org/app", tag: "1.2.3" });
    expect(parseImageRef("localhost:5000/org/app")).toEqual({ name: "localhost:5000/org/app" });
    expect(parseImageRef(`ghcr.io/org/app:1.2@${DIGEST_A}`)).toEqual({ name: "ghcr.io/org/app", tag: "1.2", digest: DIGEST_A });
    expect(parseImageRef(`ghcr.io/org/app@${DIGEST_A}`)).toEqual({ name: "ghcr.io/org/app", digest: DIGEST_A });
  });
});
