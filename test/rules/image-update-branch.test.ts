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

const checkout = ["    checkout:", "      ref:", "        branch: main", "    commit:", "      author:", "        email: fluxcdbot@users.noreply.github.com", "        name: fluxcdbot"];

const check = (text: string, config?: unknown) =>
  imageUpdateBranch.check(
    ruleContext({ head: { "clusters/production/flux-system/gotk-sync.yaml": gitRepository, "clusters/production/image-automation.yaml": text }, changed: ["clusters/production/image-automation.yaml"], config }),
  );

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

  it.each(["flux2-multi-tenancy/main", "flux2-multi-tenancy/dev-team", "flux2-kustomize-helm-example/pre-2.7", "flux2-kustomize-helm-example/main"])("is silent on the clean %s corpus", (folder) => {
    expect(imageUpdateBranch.check(ruleContext({ head: corpusTree(folder) }))).toEqual([]);
  });
});
