import { describe, expect, it } from "vitest";
import { imageTagPinned, parseImage } from "../../rules/image-tag-pinned.js";
import { ruleContext } from "../helpers/rule-context.js";
import { containers, goodContainer, lineWith, renderedBuild, tenants, workload, type WorkloadKind } from "./workload-fixtures.js";

function check(head: Record<string, string>, extra: Partial<Parameters<typeof ruleContext>[0]> = {}) {
  return imageTagPinned.check(ruleContext({ head, tenants, ...extra }));
}

const FLOATS = "`latest` moves, so what runs can change without a commit. Pin a version tag or a digest.";

describe("parseImage", () => {
  it.each([
    ["busybox", { repository: "busybox" }],
    ["busybox:1.36.1", { repository: "busybox", tag: "1.36.1" }],
    ["localhost:5000/team/app", { repository: "localhost:5000/team/app" }],
    ["localhost:5000/team/app:2.0", { repository: "localhost:5000/team/app", tag: "2.0" }],
    ["ghcr.io/a/b@sha256:abc", { repository: "ghcr.io/a/b", digest: "sha256:abc" }],
    ["ghcr.io/a/b:1.0@sha256:abc", { repository: "ghcr.io/a/b", tag: "1.0", digest: "sha256:abc" }],
  ])("%s", (image, expected) => {
    expect(parseImage(image)).toEqual(expected);
  });
});

describe("image-tag-pinned", () => {
  it.each<WorkloadKind>(["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"])("flags :latest on a %s container, on the image line", (kind) => {
    const text = workload(kind, containers(goodContainer, "- name: debug\n  image: busybox:latest\n"));
    const line = lineWith(text, "busybox:latest");
    expect(check({ "apps/dev-team/app.yaml": text })).toEqual([
      {
        path: "apps/dev-team/app.yaml",
        line,
        endLine: line,
        message: `Container "debug" of ${kind} podinfo uses image "busybox:latest": ${FLOATS}`,
        object: expect.objectContaining({ kind, name: "podinfo" }),
        severity: "error",
      },
    ]);
  });

  it("flags an image without tag (the node pulls :latest) in init containers too", () => {
    const text = workload("Deployment", `${containers(goodContainer)}initContainers:\n  - name: wait\n    image: registry.example.com:5000/tools/wait\n`);
    expect(check({ "apps/dev-team/app.yaml": text }).map((finding) => [finding.line, finding.message])).toEqual([
      [
        lineWith(text, "tools/wait"),
        `Init container "wait" of Deployment podinfo uses image "registry.example.com:5000/tools/wait" without a tag or digest, so the node pulls "registry.example.com:5000/tools/wait:latest": ${FLOATS}`,
      ],
    ]);
  });

  it("passes version tags, digests and post-build variables", () => {
    const text = workload(
      "Deployment",
      containers(goodContainer, "- name: a\n  image: ghcr.io/acme/a@sha256:0123456789abcdef\n", "- name: b\n  image: ghcr.io/acme/b:${B_TAG}\n", "- name: c\n  image: ${C_IMAGE}\n"),
    );
    expect(check({ "apps/dev-team/app.yaml": text })).toEqual([]);
  });

  it("pins to the tag the base already pins for the same container, keeping the image-policy marker", () => {
    const path = "apps/dev-team/app.yaml";
    const marker = '# {"$imagepolicy": "apps:podinfo"}';
    const base = workload("Deployment", containers(goodContainer.replace("podinfo:6.7.0", `podinfo:6.7.0 ${marker}`)));
    const head = workload("Deployment", containers(goodContainer.replace("podinfo:6.7.0", `podinfo:latest ${marker}`)));
    const line = lineWith(head, "podinfo:latest");
    const [finding] = check({ [path]: head }, { base: { [path]: base } });
    expect(finding?.line).toBe(line);
    expect(finding?.fix).toEqual({
      line,
      endLine: line,
      replacement: `          image: ghcr.io/stefanprodan/podinfo:6.7.0 ${marker}`,
      description: "Pin the image the base branch runs: ghcr.io/stefanprodan/podinfo:6.7.0",
    });
  });

  it("keeps quotes, and offers no fix when the base pins another repository or nothing", () => {
    const path = "apps/dev-team/app.yaml";
    const quoted = workload("Deployment", containers('- name: podinfo\n  image: "ghcr.io/stefanprodan/podinfo"\n'));
    const base = workload("Deployment", containers(goodContainer));
    expect(check({ [path]: quoted }, { base: { [path]: base } })[0]?.fix?.replacement).toBe('          image: "ghcr.io/stefanprodan/podinfo:6.7.0"');
    const other = workload("Deployment", containers("- name: podinfo\n  image: nginx:latest\n"));
    expect(check({ [path]: other }, { base: { [path]: base } })[0]?.fix).toBeUndefined();
    expect(check({ [path]: other })[0]?.fix).toBeUndefined();
  });

  it("judging source files, trusts a kustomize images entry that pins the image", () => {
    const text = workload("Deployment", containers("- name: podinfo\n  image: ghcr.io/stefanprodan/podinfo\n"));
    const kustomization = "resources: [../base]\nimages:\n  - name: ghcr.io/stefanprodan/podinfo\n    newTag: 6.7.0\n";
    expect(check({ "apps/dev-team/base/app.yaml": text, "apps/dev-team/staging/kustomization.yaml": kustomization }, { changed: ["apps/dev-team/base/app.yaml"] })).toEqual([]);
    const floating = kustomization.replace("6.7.0", "latest");
    expect(check({ "apps/dev-team/base/app.yaml": text, "apps/dev-team/staging/kustomization.yaml": floating }, { changed: ["apps/dev-team/base/app.yaml"] })).toHaveLength(1);
  });

  /** The findings on a staging overlay that sets `newTag: latest` over a base running `container` (tagged `tag`). */
  function overlayLatestFindings(container: string, tag: string) {
    const base = workload("Deployment", containers(container));
    const rendered = workload("Deployment", containers(container.replace(tag, "latest")));
    const head = {
      "apps/dev-team/base/deployment.yaml": base,
      "apps/dev-team/staging/kustomization.yaml": "resources: [../base]\nimages:\n  - name: ghcr.io/stefanprodan/podinfo\n    newTag: latest\n",
    };
    return check(head, {
      base: { "apps/dev-team/base/deployment.yaml": base },
      changed: ["apps/dev-team/staging/kustomization.yaml"],
      builds: [renderedBuild(rendered, "apps/dev-team/base/deployment.yaml")],
    });
  }

  it("judges the rendered image: an overlay's images entry that sets latest is reported on its newTag line, pinned back to the base", () => {
    const findings = overlayLatestFindings(goodContainer, "6.7.0");
    expect(findings.map((finding) => [finding.path, finding.line, finding.build, finding.severity, finding.fix])).toEqual([
      [
        "apps/dev-team/staging/kustomization.yaml",
        4,
        "Kustomization flux-system/apps",
        "error",
        { line: 4, endLine: 4, replacement: "    newTag: 6.7.0", description: "Pin the tag the base branch runs: 6.7.0" },
      ],
    ]);
  });

  it("quotes a pinned newTag that YAML would read as a number, as kustomize wants a string", () => {
    const findings = overlayLatestFindings(goodContainer.replace("podinfo:6.7.0", "podinfo:6.10"), "6.10");
    expect(findings.map((finding) => finding.fix?.replacement)).toEqual(['    newTag: "6.10"']);
  });

  it("reports a Flux Kustomization's spec.images entry that sets latest on its newTag line", () => {
    const base = workload("Deployment", containers(goodContainer));
    const rendered = workload("Deployment", containers(goodContainer.replace("6.7.0", "latest")));
    const flux =
      "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  path: ./apps/dev-team/base\n  images:\n    - name: ghcr.io/stefanprodan/podinfo\n      newTag: latest # rolling\n";
    const findings = check(
      { "apps/dev-team/base/deployment.yaml": base, "clusters/staging/apps.yaml": flux },
      { base: { "apps/dev-team/base/deployment.yaml": base }, changed: ["clusters/staging/apps.yaml"], builds: [renderedBuild(rendered, "apps/dev-team/base/deployment.yaml")] },
    );
    expect(findings.map((finding) => [finding.path, finding.line, finding.fix?.replacement])).toEqual([["clusters/staging/apps.yaml", 10, "      newTag: 6.7.0 # rolling"]]);
  });

  it("falls back to the object's line when nothing in the change writes the rendered image", () => {
    const base = workload("Deployment", containers(goodContainer));
    const rendered = workload("Deployment", containers(goodContainer.replace("6.7.0", "latest")));
    const findings = check({ "apps/dev-team/base/deployment.yaml": base }, { builds: [renderedBuild(rendered, "apps/dev-team/base/deployment.yaml")] });
    expect(findings.map((finding) => [finding.path, finding.line, finding.fix])).toEqual([["apps/dev-team/base/deployment.yaml", 1, undefined]]);
  });

  it("is a warning in platform territory", () => {
    const text = workload("DaemonSet", containers("- name: agent\n  image: datadog/agent\n"), "datadog");
    expect(check({ "infrastructure/monitoring/datadog.yaml": text }).map((finding) => finding.severity)).toEqual(["warning"]);
  });
});
