import { describe, expect, it } from "vitest";
import { imageSetterMarker } from "../../rules/image-setter-marker.js";
import { evaluateChange } from "../helpers/fleet.js";
import { ruleContext } from "../helpers/rule-context.js";
import { corpusTree } from "./lib/tenancy-fixtures.js";

const policies = [
  "apiVersion: image.toolkit.fluxcd.io/v1beta2",
  "kind: ImagePolicy",
  "metadata:",
  "  name: podinfo",
  "  namespace: flux-system",
  "spec:",
  "  imageRepositoryRef:",
  "    name: podinfo",
  "  policy:",
  "    semver:",
  "      range: 6.x",
  "---",
  "apiVersion: image.toolkit.fluxcd.io/v1beta2",
  "kind: ImagePolicy",
  "metadata:",
  "  name: web",
  "spec:",
  "  imageRepositoryRef:",
  "    name: web",
  "  policy:",
  "    semver:",
  "      range: 1.x",
  "",
].join("\n");

const deployment = (image: string) =>
  [
    "apiVersion: apps/v1",
    "kind: Deployment",
    "metadata:",
    "  name: podinfo",
    "  namespace: apps",
    "spec:",
    "  template:",
    "    spec:",
    "      containers:",
    "        - name: podinfo",
    `          image: ${image}`,
    "",
  ].join("\n");

const check = (head: Record<string, string>) => imageSetterMarker.check(ruleContext({ head: { "clusters/production/image-policies.yaml": policies, ...head }, changed: Object.keys(head) }));

describe("image-setter-marker", () => {
  it("accepts markers naming existing policies, by namespace or by name when the policy sets none", () => {
    const kustomization = [
      "apiVersion: kustomize.config.k8s.io/v1beta1",
      "kind: Kustomization",
      "images:",
      "  - name: ghcr.io/acme/web # {\"$imagepolicy\": \"apps:web:name\"}",
      "    newTag: 1.4.2 # {\"$imagepolicy\": \"apps:web:tag\"}",
      "",
    ].join("\n");
    expect(check({ "apps/base/deployment.yaml": deployment('ghcr.io/stefanprodan/podinfo:6.7.0 # {"$imagepolicy": "flux-system:podinfo"}'), "apps/base/kustomization.yaml": kustomization })).toEqual([]);
  });

  it("flags a marker naming a policy that does not exist", () => {
    expect(check({ "apps/base/deployment.yaml": deployment('ghcr.io/stefanprodan/podinfo:6.7.0 # {"$imagepolicy": "apps:podinfo"}') })).toEqual([
      {
        path: "apps/base/deployment.yaml",
        line: 11,
        endLine: 11,
        message: "The image policy marker names ImagePolicy apps:podinfo, which this repository does not define: image automation never updates this value.",
        object: { apiVersion: "apps/v1", kind: "Deployment", name: "podinfo", namespace: "apps" },
      },
    ]);
  });

  it("flags a malformed marker", () => {
    const findings = check({ "apps/base/deployment.yaml": deployment('ghcr.io/stefanprodan/podinfo:6.7.0 # {"$imagepolicy": "podinfo"}') });
    expect(findings.map((finding) => [finding.line, finding.message])).toEqual([
      [11, 'Image automation ignores this marker: the image policy marker "podinfo" must be "<namespace>:<name>", optionally followed by :tag, :name or :digest.'],
    ]);
  });

  it("fails a pull request whose marker misspells the policy, end to end", async () => {
    const base = { "clusters/production/image-policies.yaml": policies, "apps/base/deployment.yaml": deployment('ghcr.io/stefanprodan/podinfo:6.7.0 # {"$imagepolicy": "flux-system:podinfo"}') };
    const head = { "apps/base/deployment.yaml": deployment('ghcr.io/stefanprodan/podinfo:6.8.0 # {"$imagepolicy": "flux-system:podinf"}') };
    const verdict = await evaluateChange(base, head, { rules: [imageSetterMarker] });
    expect(verdict.findings.map((finding) => `${finding.path}:${finding.line} ${finding.severity}`)).toEqual(["apps/base/deployment.yaml:11 error"]);
  });

  it("finds markers stranded in untouched files when the change deletes the ImagePolicy they name", async () => {
    const marked = deployment('ghcr.io/stefanprodan/podinfo:6.7.0 # {"$imagepolicy": "flux-system:podinfo"}');
    const base = { "clusters/production/image-policies.yaml": policies, "apps/base/deployment.yaml": marked };
    const head = { "clusters/production/image-policies.yaml": policies.split("---\n")[1]! };
    const verdict = await evaluateChange(base, head, { rules: [imageSetterMarker] });
    expect(verdict.findings.map((finding) => `${finding.path}:${finding.line} ${finding.message}`)).toEqual([
      "apps/base/deployment.yaml:11 The image policy marker names ImagePolicy flux-system:podinfo, which this repository does not define: image automation never updates this value.",
    ]);
  });

  it.each(["flux2-multi-tenancy/main", "flux2-multi-tenancy/dev-team", "flux2-kustomize-helm-example/pre-2.7", "flux2-kustomize-helm-example/main"])("is silent on the clean %s corpus", (folder) => {
    expect(imageSetterMarker.check(ruleContext({ head: corpusTree(folder) }))).toEqual([]);
  });
});
