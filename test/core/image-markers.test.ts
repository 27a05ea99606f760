import { describe, expect, it } from "vitest";
import { FleetModel } from "../../src/core/fleet.js";
import { findImageMarkers, findImagePolicies, parseImageMarkerLine } from "../../src/core/image-markers.js";
import { tempDir, writeTree } from "../helpers/fleet.js";

describe("image policy markers", () => {
  it("finds the four marker forms with their line, key, value and field", () => {
    const lines = [
      "spec:",
      "  template:",
      "    spec:",
      "      containers:",
      '        - image: ghcr.io/stefanprodan/podinfo:6.7.0 # {"$imagepolicy": "flux-system:podinfo"}',
      "images:",
      "  - name: ghcr.io/stefanprodan/podinfo # {\"$imagepolicy\": \"flux-system:podinfo:name\"}",
      '    newTag: "6.7.0" # {"$imagepolicy": "flux-system:podinfo:tag"}',
      "    digest: sha256:0f0e # {\"$imagepolicy\": \"apps:podinfo:digest\"}",
      "  - ghcr.io/acme/web:1.2.3 # {\"$imagepolicy\": \"apps:web\"}",
    ];
    expect(findImageMarkers(lines)).toEqual({
      markers: [
        { line: 5, policy: { namespace: "flux-system", name: "podinfo" }, field: "image", key: "image", value: "ghcr.io/stefanprodan/podinfo:6.7.0" },
        { line: 7, policy: { namespace: "flux-system", name: "podinfo" }, field: "name", key: "name", value: "ghcr.io/stefanprodan/podinfo" },
        { line: 8, policy: { namespace: "flux-system", name: "podinfo" }, field: "tag", key: "newTag", value: "6.7.0" },
        { line: 9, policy: { namespace: "apps", name: "podinfo" }, field: "digest", key: "digest", value: "sha256:0f0e" },
        { line: 10, policy: { namespace: "apps", name: "web" }, field: "image", value: "ghcr.io/acme/web:1.2.3" },
      ],
      problems: [],
    });
  });

  it("ignores ordinary comments, and a # inside quotes or a word", () => {
    expect(parseImageMarkerLine("  image: nginx:1.27 # pinned by ops", 1)).toBeUndefined();
    expect(parseImageMarkerLine('  note: "see # {\\"$imagepolicy\\": \\"a:b\\"}"', 1)).toBeUndefined();
    expect(parseImageMarkerLine("  url: https://example.com/#$imagepolicy", 1)).toBeUndefined();
    expect(parseImageMarkerLine("  description: it's a test # {\"$imagepolicy\": \"apps:web\"}", 3)).toEqual({
      line: 3,
      policy: { namespace: "apps", name: "web" },
      field: "image",
      key: "description",
      value: "it's a test",
    });
  });

  it("reports markers image-automation-controller would not apply", () => {
    const problems = findImageMarkers([
      "image: web:1.0 # {$imagepolicy: apps:web}",
      'image: web:1.0 # {"$imagepolicy": "web"}',
      'image: web:1.0 # {"$imagepolicy": "apps:web:version"}',
      'image: # {"$imagepolicy": "apps:web"}',
      'image: web:1.0 # {"$imagepolicy": 3}',
      'image: web:1.0 # {"$imagepolicy": "Apps:web"}',
    ]).problems;
    expect(problems).toEqual([
      { line: 1, message: 'the image policy marker is not valid JSON; expected # {"$imagepolicy": "<namespace>:<name>"}' },
      { line: 2, message: 'the image policy marker "web" must be "<namespace>:<name>", optionally followed by :tag, :name or :digest' },
      { line: 3, message: 'the image policy marker "apps:web:version" ends in ":version"; only :tag, :name and :digest exist' },
      { line: 4, message: 'the image policy marker "apps:web" sits on a line without a value to update' },
      { line: 5, message: 'the image policy marker needs a string "$imagepolicy" value naming "<namespace>:<name>"' },
      { line: 6, message: 'the image policy marker "Apps:web" must be "<namespace>:<name>", optionally followed by :tag, :name or :digest' },
    ]);
  });

  it("finds ImagePolicies by namespace, or by name when the source sets no namespace", () => {
    const root = tempDir();
    const policy = (name: string, namespace?: string) =>
      `apiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImagePolicy\nmetadata:\n  name: ${name}\n${namespace ? `  namespace: ${namespace}\n` : ""}spec:\n  imageRepositoryRef:\n    name: ${name}\n  policy:\n    semver:\n      range: 6.x\n`;
    writeTree(root, { "clusters/production/policies.yaml": policy("podinfo", "flux-system"), "apps/base/web/policy.yaml": policy("web") });
    const model = new FleetModel(root);
    const paths = (namespace: string, name: string) => findImagePolicies(model, { namespace, name }).map((doc) => doc.path);
    expect(paths("flux-system", "podinfo")).toEqual(["clusters/production/policies.yaml"]);
    expect(paths("apps", "podinfo")).toEqual([]);
    expect(paths("apps", "web")).toEqual(["apps/base/web/policy.yaml"]);
  });
});
