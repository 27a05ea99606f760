// Hostile pull requests through the real pipeline (git, snapshots, fleet model, builds, rules) and through the
// App: each ends with a clear finding or a clear failed check, and the process goes on evaluating afterwards.
import { execFileSync } from "node:child_process";
import { existsSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { evaluate } from "../src/core/evaluate.js";
import { formatBytes } from "../src/core/yaml.js";
import type { Verdict } from "../src/core/types.js";
import { localFacts } from "../src/local.js";
import { extractSnapshot } from "../src/snapshot.js";
import { evaluateChange, repoWithChange, type Tree } from "./helpers/fleet.js";
import { FakeGitHub, testApp } from "./helpers/github.js";
import { tarball } from "./helpers/tarball.js";

const sync = `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1m0s
  ref:
    branch: main
  url: ssh://git@github.com/acme/fleet
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 10m0s
  path: ./apps
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
`;

const configMap = (name: string, color = "blue") => `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}
  namespace: apps
data:
  color: ${color}
`;

const kustomization = (...resources: string[]) => `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
${resources.map((resource) => `  - ${resource}`).join("\n")}
`;

const fleet: Tree = {
  "clusters/prod/flux-system/gotk-sync.yaml": sync,
  "apps/kustomization.yaml": kustomization("settings.yaml"),
  "apps/settings.yaml": configMap("settings"),
};

const BUILD = "flux-system/apps (clusters/prod)";

/** "rule path:line message" of every counted finding. */
const findingLines = (verdict: Verdict) => verdict.findings.map((finding) => `${finding.rule} ${finding.path}:${finding.line} ${finding.message}`);

/** A hostile file listed as the kustomization's second entry (line 5 of the kustomization). */
const listed = (name: string, text: string): Tree => ({ [`apps/${name}`]: text, "apps/kustomization.yaml": kustomization("settings.yaml", name) });

describe("hostile manifests, through git and the engine", () => {
  it("stops an alias bomb at the parser and refuses to build the kustomization that lists it", async () => {
    const bomb = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: bomb, namespace: apps}", "data:", "  a: &a [x, x, x, x, x, x, x, x, x]"];
    for (let i = 0; i < 9; i++) bomb.push(`  ${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill(`*${String.fromCharCode(97 + i)}`).join(", ")}]`);
    const verdict = await evaluateChange(fleet, listed("bomb.yaml", `${bomb.join("\n")}\n`));
    const reason = "document 1: Excessive alias count indicates a resource exhaustion attack";
    expect(verdict.conclusion).toBe("failure");
    expect(findingLines(verdict)).toEqual([
      `yaml-syntax apps/bomb.yaml:1 Invalid YAML: ${reason}`,
      `kustomize-build apps/kustomization.yaml:5 resources entry "bomb.yaml": apps/bomb.yaml line 1: ${reason}`,
    ]);
    expect(verdict.builds).toEqual([{ name: BUILD, path: "apps", ok: false, error: `resources entry "bomb.yaml": apps/bomb.yaml line 1: ${reason}`, objects: 0 }]);
  });

  it("stops 5,000-deep nesting in every form before the parser recurses, twice in one process", async () => {
    // Two stack overflows inside the YAML parser used to abort the whole process (V8 out of memory).
    const verdict = await evaluateChange(fleet, {
      "apps/flow.yaml": `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: flow}\ndata: ${"[".repeat(5000)}${"]".repeat(5000)}\n`,
      "apps/sequences.yaml": `apiVersion: v1\nkind: List\nitems:\n${"- ".repeat(5000)}x\n`,
      "apps/keys.yaml": `${"? ".repeat(5000)}x\n`,
      "apps/indented.yaml": Array.from({ length: 5000 }, (_, i) => `${" ".repeat(i % 600)}k${i}:`).join("\n"),
    });
    expect(findingLines(verdict)).toEqual([
      "yaml-syntax apps/flow.yaml:4 Invalid YAML: nesting deeper than 64 levels",
      "yaml-syntax apps/indented.yaml:514 Invalid YAML: nesting deeper than 64 levels",
      "yaml-syntax apps/keys.yaml:1 Invalid YAML: nesting deeper than 64 levels",
      "yaml-syntax apps/sequences.yaml:4 Invalid YAML: nesting deeper than 64 levels",
    ]);
  });

  it("refuses mapping keys that are collections, which cost seconds to convert and Kubernetes rejects", async () => {
    const verdict = await evaluateChange(fleet, { "apps/keys.yaml": `data:\n${Array.from({ length: 200 }, (_, i) => `  ${"? ".repeat(60)}k${i}`).join("\n")}\n` });
    expect(findingLines(verdict)).toEqual(["yaml-syntax apps/keys.yaml:2 Invalid YAML: a mapping key that is itself a mapping or a sequence: Kubernetes accepts only scalar keys"]);
    expect(verdict.stats.durationMs).toBeLessThan(10_000);
  });

  it("refuses a 50 MB manifest without parsing it", async () => {
    const row = `  key-${"x".repeat(60)}: value\n`;
    const huge = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: huge\ndata:\n${Array.from({ length: Math.ceil((50 * 1024 * 1024) / row.length) }, (_, i) => row.replace("key-", `k${i}-`)).join("")}`;
    const verdict = await evaluateChange(fleet, listed("huge.yaml", huge));
    const reason = `apps/huge.yaml is ${formatBytes(huge.length)}, over the 2.0 MiB limit for a manifest`;
    expect(reason).toMatch(/ 5\d\.\d MiB/);
    expect(findingLines(verdict)).toEqual([`yaml-syntax apps/huge.yaml:1 Invalid YAML: ${reason}`, `kustomize-build apps/kustomization.yaml:5 resources entry "huge.yaml": apps/huge.yaml line 1: ${reason}`]);
  }, 120_000);

  it("keeps a __proto__ merge key as data: no prototype pollution, and the schema names the field", async () => {
    const verdict = await evaluateChange(fleet, {
      "apps/settings.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  <<: {__proto__: {namespace: kube-system}}
  name: settings
  namespace: apps
data:
  __proto__: {polluted: "yes"}
  color: blue
`,
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).namespace).toBeUndefined();
    expect(findingLines(verdict)).toEqual([
      "schema apps/settings.yaml:1 ConfigMap apps/settings: metadata.__proto__ is not a field of the v1 ConfigMap schema.",
      "schema apps/settings.yaml:8 ConfigMap apps/settings: data.__proto__ must be string.",
    ]);
    // The merge key did not move the object to kube-system.
    expect(verdict.diff[0]!.objects.map((entry) => entry.ref)).toEqual([{ apiVersion: "v1", kind: "ConfigMap", namespace: "apps", name: "settings" }]);
  });

  it("says a binary file with a .yaml name is not YAML, and builds nothing from it", async () => {
    const verdict = await evaluateChange(fleet, listed("blob.yaml", "\u0000\u0001\u0002apiVersion: v1\n\u00ff"));
    const reason = "apps/blob.yaml is binary (it contains NUL bytes), not YAML";
    expect(findingLines(verdict)).toEqual([`yaml-syntax apps/blob.yaml:1 Invalid YAML: ${reason}`, `kustomize-build apps/kustomization.yaml:5 resources entry "blob.yaml": apps/blob.yaml line 1: ${reason}`]);
  });

  it("refuses a kustomization that recurses into itself, directly or through another", async () => {
    const direct = await evaluateChange(fleet, { "apps/kustomization.yaml": kustomization("settings.yaml", "../apps") });
    expect(findingLines(direct)).toEqual(["kustomize-build apps/kustomization.yaml:5 Kustomization cycle: apps → apps. kustomize would recurse without end; fleet-warden does not build it."]);
    const indirect = await evaluateChange(fleet, { "apps/kustomization.yaml": kustomization("settings.yaml", "./loop"), "apps/loop/kustomization.yaml": kustomization("..") });
    expect(findingLines(indirect)).toEqual(["kustomize-build apps/loop/kustomization.yaml:4 Kustomization cycle: apps → apps/loop → apps. kustomize would recurse without end; fleet-warden does not build it."]);
  });

  it("sees a Flux object whose API group is spelled with YAML escapes, as Flux does", async () => {
    // "fluxcd\x2eio" is "fluxcd.io" to every YAML decoder, Kubernetes' included; a text filter must not miss it.
    const hidden = sync.split("---\n")[1]!.replace("kustomize.toolkit.fluxcd.io/v1", '"kustomize.toolkit.fluxcd\\x2eio/v1"').replace("name: apps", "name: hidden").replace("path: ./apps", "path: ./nowhere");
    const verdict = await evaluateChange(fleet, { "clusters/prod/hidden.yaml": hidden });
    expect(findingLines(verdict)).toEqual([
      "flux-path-exists clusters/prod/hidden.yaml:8 Kustomization flux-system/hidden: spec.path ./nowhere does not exist in this repository; Flux fails to build the Kustomization and stops reconciling it.",
    ]);
  });

  it("evaluates a repository of 100,000 files up to the snapshot cap and fails the check saying so", async () => {
    const repo = repoWithChange(fleet, {});
    const git = (input: string | undefined, ...args: string[]) => execFileSync("git", ["-C", repo.dir, ...args], { encoding: "utf8", input, maxBuffer: 1 << 28 }).trim();
    // 100 folders of 1,000 files, all one blob: built with git plumbing, in a fraction of a second.
    const blob = git("a: 1\n", "hash-object", "-w", "--stdin");
    const folder = git(`${Array.from({ length: 1000 }, (_, i) => `100644 blob ${blob}\tf${String(i).padStart(4, "0")}.yaml`).join("\n")}\n`, "mktree");
    const junk = git(`${Array.from({ length: 100 }, (_, i) => `040000 tree ${folder}\td${String(i).padStart(3, "0")}`).join("\n")}\n`, "mktree");
    const root = git(`${git(undefined, "ls-tree", "change")}\n040000 tree ${junk}\tjunk\n`, "mktree");
    git(undefined, "update-ref", "refs/heads/change", git(undefined, "commit-tree", root, "-p", "change", "-m", "100,000 files"));

    const { facts, dispose } = await localFacts({ repo: repo.dir, base: "main", head: "change" });
    try {
      expect(facts.changedFiles).toHaveLength(100_000);
      expect(facts.headFiles.paths()).toHaveLength(50_000);
      const verdict = await evaluate(facts);
      expect(verdict.conclusion).toBe("failure");
      expect(verdict.problems).toEqual(["head: the repository has more than 50000 files; files past the limit were not evaluated"]);
      expect(verdict.title).toBe("1 evaluation problem");
    } finally {
      await dispose();
    }
  }, 180_000);

  it("still evaluates an ordinary change afterwards", async () => {
    const verdict = await evaluateChange(fleet, { "apps/settings.yaml": configMap("settings", "green") });
    expect(verdict.conclusion).toBe("success");
    expect(verdict.findings).toEqual([]);
    expect(verdict.builds).toEqual([{ name: BUILD, path: "apps", ok: true, objects: 1 }]);
    expect(verdict.renderedDiff[0]!.changes.map((change) => `${change.change} ${change.ref.name}`)).toEqual(["modified settings"]);
  });
});

describe("archive attributes: what git archive (GitHub's tarball) holds is not what Flux clones", () => {
  const privilegedPod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: apps\nspec:\n  containers:\n    - name: c\n      image: nginx:1.27\n      securityContext:\n        privileged: true\n";

  it("fails a change whose file the archive leaves out (export-ignore), instead of passing what it never saw", async () => {
    const verdict = await evaluateChange({ "README.md": "fleet\n" }, { "apps/pod.yaml": privilegedPod, "apps/.gitattributes": "pod.yaml export-ignore\n" });
    expect(verdict.conclusion).toBe("failure");
    expect(verdict.problems).toEqual([
      expect.stringMatching(/^The pull request changes `apps\/pod\.yaml`, but the commit's archive .* has no such file, so it cannot be judged/),
      "`apps/.gitattributes` set export-ignore or export-subst, which change what the commit's archive (what fleet-warden reads) holds but not what Flux clones and deploys. Remove them.",
    ]);
  });

  it("notes a submodule bump instead of failing it, unless a GitRepository recurses into submodules", async () => {
    const gitlink = (recurse: boolean) => {
      const repo = repoWithChange({ "apps/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n", ...(recurse ? { "clusters/prod/sync.yaml": sync.split("---\n")[0]!.replace("spec:\n", "spec:\n  recurseSubmodules: true\n") } : {}) }, {});
      const commit = (n: number) => `${n}`.repeat(40);
      repo.git("checkout", "--quiet", "main");
      repo.git("update-index", "--add", "--cacheinfo", `160000,${commit(1)},vendor/charts`);
      repo.git("commit", "--quiet", "-m", "add submodule");
      repo.git("checkout", "--quiet", "-B", "change");
      repo.git("update-index", "--cacheinfo", `160000,${commit(2)},vendor/charts`);
      repo.git("commit", "--quiet", "-m", "bump submodule");
      return repo;
    };
    const judge = async (recurse: boolean) => {
      const { facts, dispose } = await localFacts({ repo: gitlink(recurse).dir, base: "main", head: "change" });
      return evaluate(facts).finally(dispose);
    };
    const plain = await judge(false);
    expect([plain.conclusion, plain.problems]).toEqual(["success", []]);
    expect(plain.notes).toContain("`vendor/charts` is a submodule: the new commit is not judged (no GitRepository of this repository sets recurseSubmodules, so Flux does not fetch it either).");
    const recursing = await judge(true);
    expect(recursing.problems).toEqual([expect.stringMatching(/^The pull request changes `vendor\/charts`, but the commit's archive/)]);
  });

  it("fails a change that sets export-subst, even on a file the archive keeps", async () => {
    const verdict = await evaluateChange({ "apps/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n" }, { ".gitattributes": "*.yaml export-subst\n" });
    expect(verdict.problems).toEqual(["`.gitattributes` set export-ignore or export-subst, which change what the commit's archive (what fleet-warden reads) holds but not what Flux clones and deploys. Remove them."]);
    // Other attributes are fine, and so is an export-ignore the base already had, or a comment.
    const cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n";
    const ordinary = await evaluateChange({ "apps/cm.yaml": cm, ".gitattributes": "docs/** export-ignore\n" }, { ".gitattributes": "docs/** export-ignore\n# no export-subst here\n*.yaml text eol=lf\n" });
    expect(ordinary.problems).toEqual([]);
  });
});

describe("hostile tarballs, extracted as GitHub's snapshots are", () => {
  it("extracts regular files only: links are listed, `..` and absolute paths never leave the root", async () => {
    const marker = `fleet-warden-escape-${process.pid}`;
    const archive = await tarball([
      { name: "acme-fleet-abc1234/", type: "directory" },
      { name: "acme-fleet-abc1234/apps/ok.yaml", text: configMap("ok") },
      { name: "acme-fleet-abc1234/apps/passwd.yaml", type: "symlink", linkname: "/etc/passwd" },
      { name: "acme-fleet-abc1234/apps/shadow.yaml", type: "link", linkname: "../../../etc/shadow" },
      { name: "acme-fleet-abc1234/outside", type: "symlink", linkname: tmpdir() },
      // Through the link above, were it created: it is not, so this is a plain folder inside the root.
      { name: `acme-fleet-abc1234/outside/${marker}-through-link.yaml`, text: "a: 1\n" },
      { name: `acme-fleet-abc1234/../${marker}-dotdot.yaml`, text: "a: 1\n" },
      { name: `acme-fleet-abc1234/apps/../../../${marker}-nested.yaml`, text: "a: 1\n" },
      { name: `/${marker}-absolute.yaml`, text: "a: 1\n" },
      { name: "acme-fleet-abc1234/apps/pipe", type: "fifo" },
    ]);
    const snapshot = await extractSnapshot(Readable.from(archive), { strip: 1, gzip: true, label: "head snapshot" });
    try {
      // The absolute entry, stripped of GitHub's wrapping folder, is nothing: it is skipped.
      expect(snapshot.files.paths()).toEqual(["apps/ok.yaml", `outside/${marker}-through-link.yaml`]);
      expect(snapshot.files.read("apps/ok.yaml")?.toString("utf8")).toBe(configMap("ok"));
      expect(snapshot.special).toEqual([
        { path: "apps/passwd.yaml", kind: "symlink", target: "/etc/passwd" },
        { path: "apps/shadow.yaml", kind: "hardlink", target: "../../../etc/shadow" },
        { path: "outside", kind: "symlink", target: tmpdir() },
        { path: "apps/pipe", kind: "other" },
      ]);
      for (const name of ["through-link", "dotdot", "nested", "absolute"]) expect(existsSync(join(tmpdir(), `${marker}-${name}.yaml`))).toBe(false);
    } finally {
      await snapshot.dispose();
    }
  });

  it("fails the snapshot, never overwrites, when an entry repeats a path", async () => {
    const archive = await tarball([
      { name: "acme-fleet-abc1234/apps/ok.yaml", text: configMap("ok") },
      { name: "acme-fleet-abc1234/apps/./ok.yaml", text: configMap("evil") },
    ]);
    await expect(extractSnapshot(Readable.from(archive), { strip: 1, gzip: true, label: "head snapshot" })).rejects.toThrow(/^head snapshot: cannot read the archive: EEXIST/);
  });

  it("fails the snapshot with the cause when the archive is not a tarball", async () => {
    await expect(extractSnapshot(Readable.from(Buffer.from("<html>Not a tarball</html>")), { strip: 1, gzip: true, label: "base snapshot" })).rejects.toThrow(/^base snapshot: cannot read the archive: incorrect header check$/);
  });

  it("reads a stream that is drained as soon as the call returns (a child process that already exited)", async () => {
    // Node drains the stdout of an exited child that nobody reads yet; the extraction must already be reading it.
    const archive = await tarball([{ name: "acme-fleet-abc1234/apps/ok.yaml", text: configMap("ok") }]);
    const stream = new PassThrough();
    stream.end(archive);
    const extracted = extractSnapshot(stream, { strip: 1, gzip: true, label: "head snapshot" });
    stream.resume();
    const snapshot = await extracted;
    try {
      expect(snapshot.files.paths()).toEqual(["apps/ok.yaml"]);
    } finally {
      await snapshot.dispose();
    }
  });
});

describe("hostile pull requests, through the App", () => {
  let github: FakeGitHub | undefined;
  afterEach(() => {
    github?.done();
    github = undefined;
  });

  it("fails the check of a pull request of more than 3,000 files with the reason, then evaluates the next one", async () => {
    const many = Object.fromEntries(Array.from({ length: 3001 }, (_, i) => [`apps/many/f${String(i).padStart(4, "0")}.yaml`, `a: ${i}\n`]));
    github = new FakeGitHub({ base: fleet, head: many });
    const app = testApp();
    await app.deliver("pull_request", github.payload("pull_request", "opened"));
    const [run] = github.runsFor();
    expect(github.runsFor()).toHaveLength(1);
    expect(run).toMatchObject({ status: "completed", conclusion: "failure", output: { title: "Pull request too large to evaluate" } });
    expect(run!.output.summary).toContain("This pull request changes 3001 files; GitHub lists at most 3000, so fleet-warden cannot see the whole change. Split it into smaller pull requests.");
    // Neither snapshot nor the file list was fetched for a change it cannot see whole.
    expect(github.calls.filter((call) => /tarball|\/files/.test(call.path))).toEqual([]);
    github.done();

    github = new FakeGitHub({ base: fleet, head: { "apps/settings.yaml": configMap("settings", "green") } });
    await app.deliver("pull_request", github.payload("pull_request", "synchronize"));
    expect(github.runsFor()).toEqual([expect.objectContaining({ status: "completed", conclusion: "success" })]);
  });

  it("never follows a committed symbolic link, and says so on the build that would read it", async () => {
    github = new FakeGitHub({ base: fleet, head: {} });
    symlinkSync("/etc/passwd", join(github.git.dir, "apps/passwd.yaml"));
    github.push({ "apps/kustomization.yaml": kustomization("settings.yaml", "passwd.yaml") });
    const app = testApp();
    await app.deliver("pull_request", github.payload("pull_request", "synchronize"));
    const [run] = github.runsFor();
    expect(run).toMatchObject({ status: "completed", conclusion: "failure" });
    expect(run!.annotations.map((annotation: { path: string; start_line: number; title: string }) => `${annotation.path}:${annotation.start_line} ${annotation.title}`)).toEqual([
      'apps/kustomization.yaml:5 kustomize-build: resources entry "passwd.yaml": apps/passwd.yaml is a symbolic link to /etc/passwd; links are never followed, so the build cannot use it.',
    ]);
  });
});
