import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { diffChangedFiles } from "../../src/core/diff.js";
import { decodeManifest, FleetModel, mayMention, objectKey } from "../../src/core/fleet.js";
import type { ChangedFile } from "../../src/core/types.js";
import { tempDir, writeTree, type Tree } from "../helpers/fleet.js";

function model(tree: Tree): FleetModel {
  const dir = tempDir();
  writeTree(dir, tree);
  return new FleetModel(dir);
}

const multiDocument = `# Tenant namespace and its reconciler account
apiVersion: v1
kind: Namespace
metadata:
  name: apps
---
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: dev-team
  namespace: apps
`;

const list = `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: ConfigMap
    metadata:
      name: one
  - apiVersion: v1
    kind: ConfigMap
    metadata:
      name: two
      namespace: apps
`;

const flux = `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  path: ./apps
`;

describe("FleetModel", () => {
  it("indexes every object of multi-document files, skipping empty documents", () => {
    const fleet = model({ "tenants/rbac.yaml": multiDocument });
    const docs = fleet.file("tenants/rbac.yaml")!.documents;
    expect(docs.map((doc) => [doc.ref, doc.startLine, doc.endLine])).toEqual([
      [{ apiVersion: "v1", kind: "Namespace", name: "apps" }, 2, 5],
      [{ apiVersion: "v1", kind: "ServiceAccount", name: "dev-team", namespace: "apps" }, 8, 12],
    ]);
    expect(docs[1]!.keyLine(["metadata", "namespace"])).toBe(12);
  });

  it("expands Lists into one document per item, with lines relative to the item", () => {
    const fleet = model({ "list.yaml": list });
    const docs = fleet.file("list.yaml")!.documents;
    expect(docs.map((doc) => doc.ref?.name)).toEqual(["one", "two"]);
    expect(docs.map((doc) => [doc.startLine, doc.endLine])).toEqual([
      [4, 7],
      [8, 12],
    ]);
    expect(docs[1]!.keyLine(["metadata", "namespace"])).toBe(12);
  });

  it("recognises Flux objects and parses only files that mention Flux", () => {
    const fleet = model({ "clusters/prod/apps.yaml": flux, "apps/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n", "docs/readme.md": "# not yaml" });
    expect(fleet.fluxObjects().map((doc) => objectKey(doc.ref!))).toEqual(["kustomize.toolkit.fluxcd.io/Kustomization/flux-system/apps"]);
    expect(fleet.fluxObjectsOfKind("Kustomization")).toHaveLength(1);
    expect(fleet.yamlPaths()).toEqual(["apps/cm.yaml", "clusters/prod/apps.yaml"]);
    expect(fleet.objects()).toHaveLength(2);
  });

  it("finds Flux objects in JSON files too (a kustomization may list one), in path order, but not in JSON that writes no apiVersion", () => {
    const json = JSON.stringify({ apiVersion: "kustomize.toolkit.fluxcd.io/v1", kind: "Kustomization", metadata: { name: "team", namespace: "team" }, spec: { path: "./team" } });
    const dashboard = JSON.stringify({ panels: [{ expr: 'gotk_reconcile_condition{kind="kustomize.toolkit.fluxcd.io"}' }] });
    const fleet = model({ "clusters/prod/apps.yaml": flux, "a/team.json": json, "z/team.json": json.replace('"team"}', '"other"}'), "dashboards/flux.json": dashboard });
    const parsed = vi.spyOn(fleet, "file");
    expect(fleet.fluxObjects().map((doc) => `${doc.path} ${doc.ref?.namespace}/${doc.ref?.name}`)).toEqual(["a/team.json team/team", "clusters/prod/apps.yaml flux-system/apps", "z/team.json other/team"]);
    expect(parsed.mock.calls.map(([path]) => path)).not.toContain("dashboards/flux.json");
  });

  it("keeps a parse error on the file instead of throwing", () => {
    const fleet = model({ "bad.yaml": "a: [\n", "ok.yaml": "a: 1\n" });
    expect(fleet.file("bad.yaml")!.error).toMatchObject({ line: expect.any(Number) });
    expect(fleet.file("bad.yaml")!.documents).toEqual([]);
    expect(fleet.objects()).toEqual([]);
  });

  it("finds the document at a line", () => {
    const fleet = model({ "tenants/rbac.yaml": multiDocument });
    expect(fleet.documentAt("tenants/rbac.yaml", 10)?.ref?.kind).toBe("ServiceAccount");
    expect(fleet.documentAt("tenants/rbac.yaml", 6)).toBeUndefined();
  });
});

describe("diffChangedFiles", () => {
  const changed = (path: string, status: ChangedFile["status"], previousPath?: string): ChangedFile => ({
    path,
    status,
    addedLines: [],
    hunks: [],
    ...(previousPath ? { previousPath } : {}),
  });

  it("lists added, removed and modified objects per file", () => {
    const base = model({ "tenants/rbac.yaml": multiDocument });
    const head = model({
      "tenants/rbac.yaml": multiDocument.replace("name: dev-team", "name: dev-team-2").replace("# Tenant", "# The tenant"),
    });
    const [file] = diffChangedFiles([changed("tenants/rbac.yaml", "modified")], base, head);
    expect(file!.objects.map((entry) => `${entry.change} ${entry.ref.kind} ${entry.ref.name}`)).toEqual([
      "added ServiceAccount dev-team-2",
      "removed ServiceAccount dev-team",
    ]);
  });

  it("sees a comment-only or formatting-only change as no object change", () => {
    const base = model({ "a.yaml": multiDocument });
    const head = model({ "a.yaml": multiDocument.replace("# Tenant", "# tenant").replace("  name: apps\n---", "  name: 'apps'\n---") });
    expect(diffChangedFiles([changed("a.yaml", "modified")], base, head)[0]!.objects).toEqual([]);
  });

  it("reports a modification and follows renames", () => {
    const base = model({ "old/flux.yaml": flux });
    const head = model({ "new/flux.yaml": flux.replace("./apps", "./apps/prod") });
    const [file] = diffChangedFiles([changed("new/flux.yaml", "renamed", "old/flux.yaml")], base, head);
    expect(file).toMatchObject({ path: "new/flux.yaml", previousPath: "old/flux.yaml", objects: [{ change: "modified", ref: { kind: "Kustomization", name: "apps" } }] });
  });

  it("treats Lists item by item and notes files that do not parse", () => {
    const base = model({ "list.yaml": list });
    const head = model({ "list.yaml": list.replace("name: one", "name: three"), "broken.yaml": "a: [\n" });
    const files = diffChangedFiles([changed("list.yaml", "modified"), changed("broken.yaml", "added"), changed("README.md", "added")], base, head);
    expect(files.map((file) => file.path)).toEqual(["list.yaml", "broken.yaml"]);
    expect(files[0]!.objects.map((entry) => `${entry.change} ${entry.ref.name}`)).toEqual(["added three", "removed one"]);
    expect(files[1]!.note).toMatch(/^broken.yaml \(head\) does not parse: line \d+/);
  });
});

describe("mayMention", () => {
  it("finds a needle that double-quoted escapes spell or split across lines", () => {
    const escapedBreaks = ["\n", "\r\n", "\r", "\u0085", "\u2028", "\u2029"].map((lineBreak) => `"kustomize.toolkit.\\${lineBreak}    fluxcd.io"`);
    for (const text of ['apiVersion: "kustomize.toolkit.fluxcd\\x2eio/v1"', '"kustomize.toolkit.fluxcd\\u002eio"', '"kustomize.toolkit.fluxcd\\U0000002eio"', ...escapedBreaks]) {
      expect(mayMention(text, "toolkit.fluxcd.io")).toBe(true);
    }
    expect(mayMention('{"apiVersion": "source.toolkit.fluxcd.io\\/v1"}', "fluxcd.io/v1")).toBe(true);
  });

  it("does not take any backslash for one: a JSON dashboard's \\n and \\\" spell no name", () => {
    expect(mayMention('{"expr": "rate(x[5m])\\n", "legend": "\\"fluxcd\\" io", "bad": "\\U99999999"}', "toolkit.fluxcd.io")).toBe(false);
  });
});

describe("manifests in UTF-16", () => {
  const kustomization = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: team\n";
  const utf16le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(kustomization, "utf16le")]);
  const utf16be = Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(kustomization, "utf16le").swap16()]);

  it("are decoded as kustomize's YAML reader decodes them: by their byte-order mark", () => {
    expect(decodeManifest(utf16le)).toBe(kustomization);
    expect(decodeManifest(utf16be)).toBe(kustomization);
    // An odd last byte is no character; without a mark, UTF-8.
    expect(decodeManifest(Buffer.concat([utf16be, Buffer.from([0x41])]))).toBe(kustomization);
    expect(decodeManifest(Buffer.from(kustomization))).toBe(kustomization);
  });

  it("hold Flux objects fleet-warden finds, as Flux applies them", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "team.yaml"), utf16le);
    expect(new FleetModel(dir).fluxObjects().map((doc) => `${doc.ref?.kind} ${doc.ref?.name}`)).toEqual(["Kustomization team"]);
  });

  it("are decoded so whatever their name, in a file a kustomization lists", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "kustomization.yaml"), "resources:\n  - team.txt\n");
    writeFileSync(join(dir, "team.txt"), utf16le);
    expect(new FleetModel(dir).fluxObjects().map((doc) => `${doc.path} ${doc.ref?.name}`)).toEqual(["team.txt team"]);
  });
});
