import { describe, expect, it } from "vitest";
import { imageUpdateBranch } from "../../rules/image-update-branch.js";
import { ruleContext } from "../helpers/rule-context.js";
import { corpusTree } from "./lib/tenancy-fixtures.js";

const gitRepository = [
  "apiVersion: source.toolkit.fluxcd.io/v1",
  "kind: GitRepository",
  "metadata:",
  "  name: flux-system",
  "  namespace: flux-system",
  "spec:",
  "  interval: 1m0s",
  "  ref:",
  "    branch: main",
  "  url: ssh://git@github.com/acme/fleet",
  "",
].join("\n");

const automation = (git: string[]) =>
  [
    "apiVersion: image.toolkit.fluxcd.io/v1beta2",
    "kind: ImageUpdateAutomation",
    "metadata:",
    "  name: flux-system",
    "  namespace: flux-system",
    "spec:",
    "  interval: 30m",
    "  sourceRef:",
    "    kind: GitRepository",
    "    name: flux-system",
    "  git:",
    ...git,
    "  update:",
    "    path: ./clusters/production",
    "    strategy: Setters",
    "",
  ].join("\n");

const checkoutOf = (branch: string) => ["    checkout:", "      ref:", `        branch: ${branch}`, "    commit:", "      author:", "        email: fluxcdbot@users.noreply.github.com", "        name: fluxcdbot"];
const checkout = checkoutOf("main");

/** The automation in clusters/production/image-automation.yaml, next to the cluster's sync GitRepository and `others`. */
const checkWith = (others: Record<string, string>, text: string, config?: unknown) =>
  imageUpdateBranch.check(
    ruleContext({
      head: { "clusters/production/flux-system/gotk-sync.yaml": gitRepository, ...others, "clusters/production/image-automation.yaml": text },
      changed: ["clusters/production/image-automation.yaml"],
      config,
    }),
  );
const check = (text: string, config?: unknown) => checkWith({}, text, config);

const OBJECT = { apiVersion: "image.toolkit.fluxcd.io/v1beta2", kind: "ImageUpdateAutomation", name: "flux-system", namespace: "flux-system" };
const PATH = "clusters/production/image-automation.yaml";

/** A GitRepository in flux-system, for the automation's sourceRef or as another follower of a branch. */
const source = (name: string, url: string, ref: string[]) =>
  ["apiVersion: source.toolkit.fluxcd.io/v1", "kind: GitRepository", "metadata:", `  name: ${name}`, "  namespace: flux-system", "spec:", "  interval: 1m", `  url: ${url}`, ...ref, ""].join("\n");
const readingSource = (name: string, git: string[]) => automation(git).replace("    name: flux-system\n  git:", `    name: ${name}\n  git:`);

describe("image-update-branch", () => {
  it("accepts an automation pushing to flux-image-updates", () => {
    expect(check(automation([...checkout, "    push:", "      branch: flux-image-updates"]))).toEqual([]);
  });

  it("flags pushing to the reconciled branch and proposes the configured branch", () => {
    expect(check(automation([...checkout, "    push:", "      branch: main"]), { imageUpdates: { branches: ["image-updates/*", "image-updates"] } })).toEqual([
      {
        path: "clusters/production/image-automation.yaml",
        line: 20,
        endLine: 20,
        message: "ImageUpdateAutomation flux-system/flux-system pushes to main, the branch Flux reconciles: updates skip review. Push to image-updates.",
        object: { apiVersion: "image.toolkit.fluxcd.io/v1beta2", kind: "ImageUpdateAutomation", name: "flux-system", namespace: "flux-system" },
        fix: { line: 20, endLine: 20, replacement: "      branch: image-updates", description: "Push image updates to a branch of their own" },
      },
    ]);
  });

  it("flags a missing push (the controller pushes to the checkout branch), using the source's branch, with a fix", () => {
    const [finding, ...rest] = check(automation(["    commit:", "      author:", "        email: fluxcdbot@users.noreply.github.com", "        name: fluxcdbot"]));
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({
      line: 11,
      message: "ImageUpdateAutomation flux-system/flux-system sets no git.push branch, so it pushes to the branch it checks out (main), which Flux reconciles: updates skip review. Push to flux-image-updates.",
      fix: { line: 11, endLine: 11, replacement: "  git:\n    push:\n      branch: flux-image-updates", description: "Push image updates to a branch of their own" },
    });
  });

  it("flags a refspec that pushes to the reconciled branch", () => {
    const findings = check(automation([...checkout, "    push:", "      refspec: HEAD:refs/heads/main"]));
    expect(findings.map((finding) => [finding.line, finding.message, finding.fix])).toEqual([
      [20, "ImageUpdateAutomation flux-system/flux-system pushes to main, the branch Flux reconciles: updates skip review. Push to flux-image-updates.", undefined],
    ]);
  });

  it("notes a push branch that auto-merge will never pick up", () => {
    const findings = check(automation([...checkout, "    push:", "      branch: bump-images"]));
    expect(findings.map((finding) => [finding.line, finding.severity, finding.message])).toEqual([
      [19, "notice", "ImageUpdateAutomation flux-system/flux-system pushes to bump-images, which imageUpdates.branches in .github/fleet-warden.yml does not list: its pull requests are never auto-merged."],
    ]);
  });

  it("flags a refspec that pushes to the reconciled branch besides push.branch (image-automation-controller pushes to both)", () => {
    expect(check(automation([...checkout, "    push:", "      branch: flux-image-updates", "      refspec: refs/heads/flux-image-updates:refs/heads/main"]))).toEqual([
      {
        path: PATH,
        line: 21,
        endLine: 21,
        message: "ImageUpdateAutomation flux-system/flux-system pushes to main, the branch Flux reconciles: updates skip review. Push to flux-image-updates.",
        object: OBJECT,
      },
    ]);
  });

  it.each(["HEAD:refs/heads/main", "refs/heads/flux-image-updates:main", "+refs/heads/flux-image-updates:refs/heads/main", "refs/heads/*:refs/heads/*", "main"])("reads the destination of the refspec %s as main", (refspec) => {
    const findings = check(automation([...checkout, "    push:", "      branch: flux-image-updates", `      refspec: ${refspec}`]));
    expect(findings.map((finding) => [finding.line, finding.message])).toEqual([
      [21, "ImageUpdateAutomation flux-system/flux-system pushes to main, the branch Flux reconciles: updates skip review. Push to flux-image-updates."],
    ]);
  });

  it.each(["HEAD:refs/for/main", "refs/heads/flux-image-updates:refs/tags/latest", "HEAD:refs/heads/flux-image-updates-review", "refs/heads/flux-image-updates:HEAD"])("accepts a refspec writing %s, no branch Flux reconciles", (refspec) => {
    expect(check(automation([...checkout, "    push:", "      branch: flux-image-updates", `      refspec: ${refspec}`]))).toEqual([]);
  });

  it("flags a refspec-only push: the controller also pushes to the branch it checks out, and the fix adds push.branch", () => {
    expect(check(automation([...checkout, "    push:", "      refspec: refs/heads/main:refs/heads/flux-image-updates"]))).toEqual([
      {
        path: PATH,
        line: 19,
        endLine: 19,
        message: "ImageUpdateAutomation flux-system/flux-system sets no git.push branch, so it pushes to the branch it checks out (main), besides its push.refspec, which Flux reconciles: updates skip review. Push to flux-image-updates.",
        object: OBJECT,
        fix: { line: 19, endLine: 19, replacement: "    push:\n      branch: flux-image-updates", description: "Push image updates to a branch of their own" },
      },
    ]);
  });

  it("judges push.branch against the branches the fleet's GitRepositories follow, not the automation's checkout branch", () => {
    expect(check(automation([...checkoutOf("release-candidates"), "    push:", "      branch: main"]))).toEqual([
      {
        path: PATH,
        line: 20,
        endLine: 20,
        message: "ImageUpdateAutomation flux-system/flux-system pushes to main, the branch Flux reconciles: updates skip review. Push to flux-image-updates.",
        object: OBJECT,
        fix: { line: 20, endLine: 20, replacement: "      branch: flux-image-updates", description: "Push image updates to a branch of their own" },
      },
    ]);
  });

  it("lets an automation push back to a checkout branch that no GitRepository follows (a notice until imageUpdates.branches lists it)", () => {
    const pushBack = automation([...checkoutOf("release-candidates"), "    push:", "      branch: release-candidates"]);
    expect(check(pushBack).map((finding) => [finding.line, finding.severity, finding.message])).toEqual([
      [19, "notice", "ImageUpdateAutomation flux-system/flux-system pushes to release-candidates, which imageUpdates.branches in .github/fleet-warden.yml does not list: its pull requests are never auto-merged."],
    ]);
    expect(check(pushBack, { imageUpdates: { branches: ["release-candidates"] } })).toEqual([]);
    expect(check(automation(checkoutOf("release-candidates")), { imageUpdates: { branches: ["release-candidates"] } })).toEqual([]);
  });

  it("counts every GitRepository of the automation's repository, whatever its ref says (name: refs/heads/…, or no ref: master)", () => {
    const followers = {
      "infrastructure/sources/prod.yaml": source("prod", "git@github.com:acme/fleet.git", ["  ref:", "    name: refs/heads/prod"]),
      "infrastructure/sources/legacy.yaml": source("legacy", "https://github.com/acme/fleet", []),
    };
    const pushTo = (branch: string) => checkWith(followers, automation([...checkout, "    push:", `      branch: ${branch}`])).map((finding) => finding.message);
    expect(pushTo("prod")).toEqual(["ImageUpdateAutomation flux-system/flux-system pushes to prod, the branch Flux reconciles: updates skip review. Push to flux-image-updates."]);
    expect(pushTo("master")).toEqual(["ImageUpdateAutomation flux-system/flux-system pushes to master, the branch Flux reconciles: updates skip review. Push to flux-image-updates."]);
  });

  it("ignores GitRepositories pinned to a tag, a semver range or a commit, and those of other repositories", () => {
    const others = {
      "infrastructure/sources/tagged.yaml": source("tagged", "ssh://git@github.com/acme/fleet", ["  ref:", "    branch: release", "    tag: v1.0.0"]),
      "infrastructure/sources/pinned.yaml": source("pinned", "ssh://git@github.com/acme/fleet", ["  ref:", "    branch: stable", "    commit: 0123456789abcdef0123456789abcdef01234567"]),
      "infrastructure/sources/ranged.yaml": source("ranged", "ssh://git@github.com/acme/fleet", ["  ref:", "    branch: candidate", "    semver: '>=1.0.0'"]),
      "infrastructure/sources/other.yaml": source("other", "ssh://git@github.com/acme/other", ["  ref:", "    branch: hotfix"]),
    };
    const config = { imageUpdates: { branches: ["release", "stable", "candidate", "hotfix"] } };
    for (const branch of ["release", "stable", "candidate", "hotfix"]) expect(checkWith(others, automation([...checkout, "    push:", `      branch: ${branch}`]), config)).toEqual([]);
  });

  it("judges an automation of another repository against that repository's GitRepositories", () => {
    const apps = { "clusters/production/apps-source.yaml": source("apps", "https://github.com/acme/apps", ["  ref:", "    branch: production"]) };
    const pushTo = (branch: string) => checkWith(apps, readingSource("apps", [...checkout, "    push:", `      branch: ${branch}`]), { imageUpdates: { branches: ["main", "production"] } });
    expect(pushTo("production").map((finding) => finding.message)).toEqual(["ImageUpdateAutomation flux-system/flux-system pushes to production, the branch Flux reconciles: updates skip review. Push to main."]);
    expect(pushTo("main")).toEqual([]);
  });

  it("when the automation's source is not in the repository, counts the checkout branch and every GitRepository's branch", () => {
    const pushTo = (branch: string) => check(readingSource("elsewhere", [...checkoutOf("trunk"), "    push:", `      branch: ${branch}`])).map((finding) => finding.message);
    expect(pushTo("trunk")).toEqual(["ImageUpdateAutomation flux-system/flux-system pushes to trunk, the branch Flux reconciles: updates skip review. Push to flux-image-updates."]);
    expect(pushTo("main")).toEqual(["ImageUpdateAutomation flux-system/flux-system pushes to main, the branch Flux reconciles: updates skip review. Push to flux-image-updates."]);
    expect(pushTo("flux-image-updates")).toEqual([]);
  });

  it.each(["flux2-multi-tenancy/main", "flux2-multi-tenancy/dev-team", "flux2-kustomize-helm-example/pre-2.7", "flux2-kustomize-helm-example/main"])("is silent on the clean %s corpus", (folder) => {
    expect(imageUpdateBranch.check(ruleContext({ head: corpusTree(folder) }))).toEqual([]);
  });
});
