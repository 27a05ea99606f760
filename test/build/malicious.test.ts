// Hostile repositories: every attempt is refused with a finding before kustomize runs, so no network request
// is made and nothing outside the snapshot is read, and the evaluation finishes.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { KustomizeEngine } from "../../src/core/build/engine.js";
import type { SpecialFile } from "../../src/core/types.js";
import { folderTree, type Tree } from "../helpers/fleet.js";
import { buildChange, recordingEngine } from "./helpers.js";

const FIXTURES = "fixtures/malicious";

function fixture(name: string): Tree {
  return folderTree(join(FIXTURES, name));
}

async function refusals(name: string, specialFiles: SpecialFile[] = []) {
  const engine = recordingEngine();
  const result = await buildChange({}, fixture(name), { engine, specialFiles });
  return { engine, result, issues: result.head.flatMap((build) => build.issues).map(({ path, line, message }) => ({ path, line, message })) };
}

describe("malicious repositories", () => {
  it("refuses remote bases in any spelling", async () => {
    const { engine, result, issues } = await refusals("remote-base");
    expect(engine.runs).toEqual([]);
    expect(result.head.map((build) => build.report.ok)).toEqual([false]);
    expect(issues).toEqual([
      {
        path: "kustomization.yaml",
        line: 5,
        message: 'resources entry "github.com/attacker/manifests//base?ref=main": a remote resource; fleet-warden never fetches remote bases (Flux refuses them too when kustomize-controller runs with --no-remote-bases=true).',
      },
      {
        path: "kustomization.yaml",
        line: 6,
        message: 'resources entry "https://attacker.example/payload.yaml": a remote resource; fleet-warden never fetches remote bases (Flux refuses them too when kustomize-controller runs with --no-remote-bases=true).',
      },
    ]);
  });

  it("refuses paths that leave the repository", async () => {
    const { engine, issues } = await refusals("escape");
    expect(engine.runs).toEqual([]);
    expect(issues).toEqual([
      { path: "kustomization.yaml", line: 4, message: 'resources entry "../../../etc": leaves the repository root; builds never read outside the repository.' },
      { path: "kustomization.yaml", line: 8, message: 'configMapGenerator entry "../../../etc/passwd": leaves the repository root; builds never read outside the repository.' },
    ]);
  });

  it("refuses a folder with two kustomization files, as kustomize and Flux do, rather than build the one it would pick", async () => {
    const engine = recordingEngine();
    const cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n";
    const head = { "app/cm.yaml": cm, "app/kustomization.yaml": "resources:\n  - cm.yaml\n", "app/kustomization.yml": "resources: []\n" };
    const result = await buildChange({}, head, { engine });
    expect(engine.runs).toEqual([]);
    expect(result.head.map((build) => [build.report.ok, build.issues.map(({ path, line, message }) => ({ path, line, message }))])).toEqual([
      [false, [{ path: "app/kustomization.yml", line: 1, message: "app holds several kustomization files (kustomization.yaml, kustomization.yml): kustomize and Flux refuse to build it. Keep one." }]],
    ]);
  });

  it("warns of a link in a built folder, saying what Flux does with it", async () => {
    const tree = { "app/kustomization.yaml": "resources:\n  - cm.yaml\n", "app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n" };
    const links: SpecialFile[] = [
      { path: "app/extra.yaml", kind: "symlink", target: "cm.yaml" },
      { path: "app/.sourceignore", kind: "symlink", target: "cm.yaml" },
    ];
    const result = await buildChange({}, tree, { specialFiles: links });
    expect(result.head.flatMap((build) => build.issues).map(({ path, severity, message }) => ({ path, severity, message }))).toEqual([
      { path: "app/extra.yaml", severity: "warning", message: "app/extra.yaml is a symbolic link to cm.yaml: links are never followed, and Flux's source artifact leaves them out, so no build uses it. Commit the file itself instead." },
      {
        path: "app/.sourceignore",
        severity: "warning",
        message: "app/.sourceignore is a symbolic link to cm.yaml: source-controller reads its ignore rules through the link, and fleet-warden follows it only to a file of this repository. Commit the file itself instead.",
      },
    ]);
  });

  it("refuses a link to /etc/passwd", async () => {
    const { engine, issues } = await refusals("link", [{ path: "passwd.yaml", kind: "symlink", target: "/etc/passwd" }]);
    expect(engine.runs).toEqual([]);
    expect(issues).toEqual([
      {
        path: "kustomization.yaml",
        line: 4,
        message: 'resources entry "passwd.yaml": passwd.yaml is a symbolic link to /etc/passwd; links are never followed, so the build cannot use it.',
      },
    ]);
  });

  it("refuses plugins and KRM functions, and lets builtin transformers through", async () => {
    const { engine, issues } = await refusals("plugin");
    expect(engine.runs).toEqual([]);
    expect(issues).toEqual([
      // The entry is refused as the kustomization is read; the file it names is checked before the build runs.
      {
        path: "kustomization.yaml",
        line: 6,
        message: 'generators entry "generator.yaml" configures ShellGenerator (attacker.example/v1), a plugin that runs code; only kustomize\'s builtin transformers are built.',
      },
      {
        path: "generator.yaml",
        line: 6,
        message: "ShellGenerator run-anything is annotated config.kubernetes.io/function: a KRM function that runs a container or program; fleet-warden never runs it.",
      },
    ]);
  });

  it("refuses fields spelt in another case, which kustomize reads all the same (Files: /proc/1/environ would leak the App's secrets)", async () => {
    const { engine, issues } = await refusals("miscased-fields");
    expect(engine.runs).toEqual([]);
    const message = (written: string, canonical: string) =>
      `"${written}" is read by kustomize as "${canonical}" (it matches field names in any case); write "${canonical}", so that the entries it reads are checked.`;
    // Label keys are the user's data, in any spelling.
    expect(issues).toEqual([
      { path: "kustomization.yaml", line: 5, message: message("ConfigMapGenerator", "configMapGenerator") },
      { path: "kustomization.yaml", line: 7, message: message("Files", "files") },
      { path: "kustomization.yaml", line: 9, message: message("reſources", "resources") },
    ]);
  });

  it("accepts kustomize's own spellings, vars' lower-case fieldref.fieldpath beside replacements' fieldPath", async () => {
    const kustomization = [
      "resources:",
      "  - web.yaml",
      "vars:",
      "  - name: WEB",
      "    objref: {kind: Service, name: web, apiVersion: v1}",
      "    fieldref: {fieldpath: metadata.name}",
      "replacements:",
      "  - source: {kind: Service, name: web, fieldPath: metadata.name}",
      "    targets:",
      "      - select: {kind: Service}",
      "        fieldPaths: [metadata.labels.app]",
      "        options: {create: true}",
      "commonLabels:",
      "  Files: are-data-here",
    ].join("\n");
    const result = await buildChange({}, { "kustomization.yaml": `${kustomization}\n`, "web.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n" }, { engine: recordingEngine() });
    expect(result.head.flatMap((build) => build.issues)).toEqual([]);
    expect(result.head[0]!.report.ok).toBe(true);
  });

  it("refuses builtin generator configs that read files outside the repository", async () => {
    const { engine, issues } = await refusals("builtin-generator-files");
    expect(engine.runs).toEqual([]);
    expect(issues).toEqual([
      { path: "kustomization.yaml", line: 4, message: 'generators entry reads "/etc/hostname": an absolute path, outside the repository; builds never read outside the repository root.' },
      {
        path: "kustomization.yaml",
        line: 11,
        message: 'generators entry "generator.yaml" reads "../../../../root/.ssh/id_rsa": leaves the repository root; builds never read outside the repository.',
      },
    ]);
  });

  it("builds a builtin generator config that reads a file of the repository, with that file in the sandbox", async () => {
    const engine = recordingEngine();
    const kustomization = "generators:\n  - |-\n    apiVersion: builtin\n    kind: ConfigMapGenerator\n    metadata:\n      name: settings\n    files:\n      - mode.txt\n";
    const result = await buildChange({}, { "kustomization.yaml": kustomization, "mode.txt": "safe\n" }, { engine });
    expect(result.head.flatMap((build) => build.issues)).toEqual([]);
    expect(result.head[0]!.objects.map((object) => [object.ref.kind, (object.object as { data?: unknown }).data])).toEqual([["ConfigMap", { "mode.txt": "safe\n" }]]);
  });

  it("refuses a merge key in a kustomization, which kustomize resolves otherwise than the review's YAML parser", async () => {
    const { engine, issues } = await refusals("merge-key");
    expect(engine.runs).toEqual([]);
    expect(issues).toEqual([
      {
        path: "kustomization.yaml",
        line: 7,
        message:
          "a YAML merge key (<<): goyaml.v2, which kustomize and Flux decode kustomizations with, lets merged keys replace the ones written beside them, so kustomize and Flux could read another file than the one reviewed. Write plain YAML.",
      },
    ]);
  });

  it("refuses YAML that kustomize's reader resolves otherwise, in a kustomization or a generator's config: a tag, a directive, an explicit merge key", async () => {
    const hostname = Buffer.from("/etc/hostname").toString("base64");
    const hazard = "so kustomize and Flux could read another file than the one reviewed. Write plain YAML.";
    const built = async (head: Tree) => {
      const engine = recordingEngine();
      const result = await buildChange({}, { "kustomization.yaml": "resources:\n  - sub\n", ...head, [`sub/${hostname}`]: "decoy\n" }, { engine });
      return [engine.runs.length, result.head.flatMap((build) => build.issues).map(({ path, line, message }) => `${path}:${line} ${message}`)];
    };
    const generator = (file: string) => `configMapGenerator:\n  - name: leak\n    files:\n      - ${file}\n`;
    expect(await built({ "sub/kustomization.yaml": generator(`!!binary ${hostname}`) })).toEqual([
      0,
      [`sub/kustomization.yaml:4 an explicit YAML tag (!!binary): Go's YAML readers resolve tags otherwise (\`!!binary\` decodes base64 into other bytes), ${hazard}`],
    ]);
    expect(await built({ "sub/kustomization.yaml": `%YAML 1.1\n---\n${generator(hostname)}` })).toEqual([
      0,
      [`sub/kustomization.yaml:2 a YAML directive (%YAML or %TAG): it changes how Go's YAML readers resolve the document, ${hazard}`],
    ]);
    const explicitMerge = "labels:\n  - pairs: {team: a}\n    fields:\n      - &other {path: other.yaml}\npatches:\n  - path: ok.yaml\n    ? <<\n    : *other\n";
    expect(await built({ "sub/kustomization.yaml": explicitMerge })).toEqual([
      0,
      [`sub/kustomization.yaml:7 a YAML merge key (<<): goyaml.v2, which kustomize and Flux decode kustomizations with, lets merged keys replace the ones written beside them, ${hazard}`],
    ]);
    const config = `apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata:\n  name: leak\nfiles:\n  - !!binary ${hostname}\n`;
    expect(await built({ "sub/kustomization.yaml": "generators:\n  - generator.yaml\n", "sub/generator.yaml": config })).toEqual([
      0,
      [`sub/kustomization.yaml:2 generators entry "generator.yaml", line 6: an explicit YAML tag (!!binary): Go's YAML readers resolve tags otherwise (\`!!binary\` decodes base64 into other bytes), ${hazard}`],
    ]);
    const inline = `generators:\n  - |-\n${config.replace(/^/gm, "    ").trimEnd()}\n`;
    expect(await built({ "sub/kustomization.yaml": inline })).toEqual([
      0,
      [`sub/kustomization.yaml:2 generators entry, line 6: an explicit YAML tag (!!binary): Go's YAML readers resolve tags otherwise (\`!!binary\` decodes base64 into other bytes), ${hazard}`],
    ]);
  });

  it("reads an entry as kustomize does, inline only when it holds complete objects, and vets the path it also tries", async () => {
    const climb = "/..".repeat(12);
    const built = async (kustomization: string, files: Tree = {}) => {
      const engine = recordingEngine();
      const result = await buildChange({}, { "kustomization.yaml": kustomization, "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n", ...files }, { engine });
      return [engine.runs.length, result.head.flatMap((build) => build.issues).map(({ line, message }) => `${line} ${message}`)] as const;
    };
    const leaves = "leaves the repository root; builds never read outside the repository.";
    // No complete object: a path, which Go cleans (`kind: x` and `x<LF>` are folder names that `..` removes).
    expect(await built(`resources:\n  - cm.yaml\npatchesStrategicMerge:\n  - "kind: x${climb}/etc/hostname"\n`)).toEqual([0, [`4 patchesStrategicMerge entry "kind: x${climb}/etc/hostname": ${leaves}`]]);
    expect(await built(`generators:\n  - "x\\n${climb}/tmp/generator.yaml"\n`)).toEqual([0, [`2 generators entry "x\n${climb}/tmp/generator.yaml": ${leaves}`]]);
    // Such a path into the repository is a config file like any other: vetted.
    const config = "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata:\n  name: leak\nfiles:\n  - /etc/hostname\n";
    expect(await built('generators:\n  - "x\\n#/../data.txt"\n', { "data.txt": config })).toEqual([
      0,
      ['2 generators entry "x\n#/../data.txt" reads "/etc/hostname": an absolute path, outside the repository; builds never read outside the repository root.'],
    ]);
    // Complete objects, on one line too: inline, and what they read is vetted; their path form must not leave the repository.
    const flow = "{apiVersion: builtin, kind: ConfigMapGenerator, metadata: {name: leak}, files: [/etc/hostname]}";
    expect(await built(`generators:\n  - "${flow}"\n`)).toEqual([0, ['2 generators entry reads "/etc/hostname": an absolute path, outside the repository; builds never read outside the repository root.']]);
    // Should kustomize read it as a path all the same, that path is vetted too.
    const named = "{apiVersion: builtin, kind: ConfigMapGenerator, metadata: {name: a}, literals: [a=b]} #/../data.txt";
    expect(await built(`generators:\n  - "${named}"\n`, { "data.txt": config })).toEqual([
      0,
      [`2 generators entry "${named}" reads "/etc/hostname": an absolute path, outside the repository; builds never read outside the repository root.`],
    ]);
    // Two of the same kind and name (kustomize takes no namespace and `default` for one): a path, here a folder (built
    // on its own: the one run).
    const twins = "{apiVersion: builtin, kind: ConfigMapGenerator, metadata: {name: a}, literals: [a=b]}\\n---\\n{apiVersion: builtin, kind: ConfigMapGenerator, metadata: {name: a, namespace: default}, literals: [a=b]} #/../sub";
    expect(await built(`generators:\n  - "${twins}"\n`, { "sub/kustomization.yaml": "resources: []\n" })).toEqual([
      1,
      [`2 generators entry "${twins.replaceAll("\\n", "\n")}" is a folder of plugin configurations; fleet-warden only builds builtin transformer files listed one by one.`],
    ]);
    const single = "{apiVersion: builtin, kind: ConfigMapGenerator, metadata: {name: a}, literals: [a=b]} #/../sub";
    expect(await built(`generators:\n  - "${single}"\n`, { "sub/kustomization.yaml": "resources: []\n" })).toEqual([
      1,
      ["2 generators entry: kustomize may also read this inline YAML as a path, and that path is the folder sub, which it would build as generators. Rename the folder or the objects."],
    ]);
    // A trailing slash changes nothing to Go's Clean.
    expect(await built(`generators:\n  - "${named}/"\n`, { "data.txt": config })).toEqual([
      0,
      [`2 generators entry "${named}/" reads "/etc/hostname": an absolute path, outside the repository; builds never read outside the repository root.`],
    ]);
    expect((await built(`generators:\n  - "${single}/"\n`, { "sub/kustomization.yaml": "resources: []\n" }))[1]).toEqual([
      "2 generators entry: kustomize may also read this inline YAML as a path, and that path is the folder sub, which it would build as generators. Rename the folder or the objects.",
    ]);
    // What Go's YAML reader refuses is no inline YAML to kustomize: a List whose items are no list, read as a path here
    // (a file), a control character there (a git URL, which kustomize would clone).
    const list = named.replace("kind: ConfigMapGenerator", "kind: ConfigMapGeneratorList, items: 5");
    expect((await built(`generators:\n  - "${list}"\n`, { "data.txt": config }))[1]).toEqual([
      `2 generators entry "${list}" reads "/etc/hostname": an absolute path, outside the repository; builds never read outside the repository root.`,
    ]);
    const git = "{a@example.com/org/repo: x, apiVersion: builtin, kind: ConfigMapGenerator, metadata: {name: a}, literals: [a=b]} #\\x01";
    expect((await built(`generators:\n  - "${git}"\n`))[1]).toEqual([
      `2 generators entry "${git.replace("\\x01", "\u0001")}": a remote resource; fleet-warden never fetches remote bases (Flux refuses them too when kustomize-controller runs with --no-remote-bases=true).`,
    ]);
    // Whatever else Go's reader refuses where ours reads it (an empty key in a flow mapping), the git URL is refused.
    const remote = "a@example.com/org/repo: x\\napiVersion: builtin\\nkind: ConfigMapGenerator\\nmetadata: {name: a, : e}\\nliterals: [a=b]";
    expect(await built(`generators:\n  - "${remote}"\n`)).toEqual([
      0,
      ["2 generators entry: kustomize may also read this inline YAML as a path, and that path is a remote (a git URL such as user@host/path), which fleet-warden never fetches. Put the config in a file."],
    ]);
    const escaping = `{apiVersion: builtin, kind: ConfigMapGenerator, metadata: {name: a}, literals: [a=b]} #${climb}/etc/x`;
    expect(await built(`generators:\n  - "${escaping}"\n`)).toEqual([
      0,
      ["2 generators entry: kustomize may also read this inline YAML as a path (it does when two of its objects share a name), and that path leaves the repository root: builds never read outside the repository."],
    ]);
  });

  it("writes a NEL, LS or PS escaped, which kustomize's reader would fold as a line break, and builds a List of configs", async () => {
    const config = (name: string, literal: string) => `apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata:\n  name: ${name}\nliterals:\n  - ${literal}\n`;
    const built = async (head: Tree) => (await buildChange({}, head, { engine: recordingEngine() })).head[0]!.objects.map((object) => object.ref.name.replace(/-\w{10}$/, ""));
    // "a b.yaml" is what kustomize would read for a raw NEL; the vetted file is "a<NEL>b.yaml".
    expect(await built({ "kustomization.yaml": 'generators:\n  - "a\\x85b.yaml"\n', "a\u0085b.yaml": config("vetted", "a=b"), "a b.yaml": config("unvetted", "c=d") })).toEqual(["vetted"]);
    const list = `apiVersion: builtin\nkind: GeneratorList\nmetadata:\n  name: l\nitems:\n${[config("one", "a=b"), config("two", "c=d")].map((item) => `  - ${item.trimEnd().replace(/\n/g, "\n    ")}\n`).join("")}`;
    expect(await built({ "kustomization.yaml": "generators:\n  - list.yaml\n", "list.yaml": list })).toEqual(["one", "two"]);
    // Each item is a config of its own, in a file or inline: a plugin among them is refused, as it would be alone.
    const plugin = list.replace("  - apiVersion: builtin\n    kind: ConfigMapGenerator\n    metadata:\n      name: two", "  - apiVersion: someteam.example.com/v1\n    kind: Exec\n    metadata:\n      name: two");
    const refusals = async (kustomization: string) =>
      (await buildChange({}, { "kustomization.yaml": kustomization, "list.yaml": plugin }, { engine: recordingEngine() })).head[0]!.issues.map(({ line, message }) => `${line} ${message}`);
    const refusal = "configures Exec (someteam.example.com/v1), a plugin that runs code; only kustomize's builtin transformers are built.";
    expect(await refusals("generators:\n  - list.yaml\n")).toEqual([`2 generators entry "list.yaml" ${refusal}`]);
    expect(await refusals(`generators:\n  - |-\n${plugin.trimEnd().replace(/^/gm, "    ")}\n`)).toEqual([`2 generators entry ${refusal}`]);
  });

  it("fails a build whose kustomization Go's YAML reader reads a string from that the review's reader did not (never vetted)", async () => {
    const engine = recordingEngine();
    const config = "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata:\n  name: leak\nfiles:\n  - /etc/hostname\n";
    const result = await buildChange({}, { "kustomization.yaml": "resources:\n  - sub\n", "sub/kustomization.yaml": "generators:\n  - 0o17\n", "sub/0o17": config }, { engine });
    expect(engine.runs).toEqual([]);
    expect(result.head[0]!.report.error).toBe(
      "sub/kustomization.yaml line 2: Go's YAML reader reads `generators.0` as a string where fleet-warden's reader (YAML 1.2) does not, so kustomize would read what was never checked. Quote the value.",
    );
  });

  it("refuses a folder named user@host/path, which kustomize tries as a git URL (and runs git) before it reads the folder", async () => {
    const engine = recordingEngine();
    const head = { "kustomization.yaml": "resources:\n  - team@example.com/org/app\n", "team@example.com/org/app/kustomization.yaml": "resources: []\n", "config@v2.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n" };
    const result = await buildChange({}, head, { engine });
    // The folder is built on its own, by its absolute path, which kustomize never takes for a URL.
    expect(engine.runs.map((folder) => folder.replace(/^.*fleet-warden-build-\w+\//, ""))).toEqual(["team@example.com/org/app"]);
    expect(result.head.map((build) => [build.report.name, build.issues.map(({ line, message }) => `${line} ${message}`)])).toEqual([
      [".", ['2 resources entry "team@example.com/org/app": a remote resource; fleet-warden never fetches remote bases (Flux refuses them too when kustomize-controller runs with --no-remote-bases=true).']],
      ["team@example.com/org/app", []],
    ]);
    // A file whose name holds an @ is no URL.
    const file = await buildChange({}, { ...head, "kustomization.yaml": "resources:\n  - config@v2.yaml\n" }, { engine });
    expect(file.head[0]!.report).toMatchObject({ ok: true, objects: 1 });
  });

  it("gives kustomize its kustomizations as read and vetted, as JSON, with scalars resolved as Go's YAML reader resolves them", async () => {
    // The engine prints the files it would build from, and fails.
    const dump: KustomizeEngine = { description: "dump", command: "/bin/sh", args: (folder) => ["-c", `cat ${folder}/kustomization.yaml ${folder}/sub/kustomization.yaml >&2; exit 1`] };
    const nested = "# a comment\nresources: ['cm.yaml']\ngeneratorOptions:\n  disableNameSuffixHash: yes\n";
    const result = await buildChange({}, { "kustomization.yaml": "resources:\n  - sub\nlabels:\n  - pairs: {\"<<\": x}\n", "sub/kustomization.yaml": nested, "sub/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n" }, { engine: dump });
    expect(result.head[0]!.report.error).toBe('{"resources":["sub"],"labels":[{"pairs":{"<<":"x"}}],"buildMetadata":["originAnnotations"]}{"resources":["cm.yaml"],"generatorOptions":{"disableNameSuffixHash":true}}');
  });

  it("refuses Helm chart inflation", async () => {
    const { engine, issues } = await refusals("helm-chart");
    expect(engine.runs).toEqual([]);
    expect(issues).toEqual([
      {
        path: "kustomization.yaml",
        line: 3,
        message: "helmCharts inflates a Helm chart fetched from a chart repository; fleet-warden never runs Helm or fetches charts. Use a Flux HelmRelease instead.",
      },
    ]);
  });

  it("refuses a YAML alias bomb before kustomize parses it", async () => {
    const { engine, issues } = await refusals("alias-bomb");
    expect(engine.runs).toEqual([]);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ path: "kustomization.yaml", line: 4 });
    expect(issues[0]!.message).toMatch(/^resources entry "bomb\.yaml": bomb\.yaml line \d+: document 1: .*alias/i);
  });

  it("refuses it whatever the file is named: kustomize reads every resource as YAML", async () => {
    const { "bomb.yaml": bomb } = fixture("alias-bomb");
    for (const name of ["bomb.YAML", "bomb.json", "bomb"]) {
      const engine = recordingEngine();
      const result = await buildChange({}, { "kustomization.yaml": `resources:\n  - ${name}\n`, [name]: bomb! }, { engine });
      expect(engine.runs).toEqual([]);
      expect(result.head.flatMap((build) => build.issues).map((issue) => issue.message)).toEqual([expect.stringMatching(new RegExp(`^resources entry "${name.replace(".", "\\.")}": .*alias`, "i"))]);
    }
  });

  it("reports the refusal as the build's error, not a link warning of the same folder", async () => {
    const functionConfig = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: run\n  annotations:\n    config.kubernetes.io/function: |\n      container:\n        image: attacker.example/fn\n";
    const tree = { "kustomization.yaml": "resources:\n  - run.yaml\n", "run.yaml": functionConfig };
    for (const engine of [recordingEngine(), null]) {
      const result = await buildChange({}, tree, { engine, specialFiles: [{ path: "unused.yaml", kind: "symlink", target: "/etc/passwd" }] });
      expect(result.head.map((build) => build.report)).toEqual([
        {
          name: ".",
          path: "",
          ok: false,
          error: "ConfigMap run is annotated config.kubernetes.io/function: a KRM function that runs a container or program; fleet-warden never runs it.",
          objects: 0,
        },
      ]);
    }
  });

  it("ends an endless base cycle with a finding", async () => {
    const { engine, issues } = await refusals("base-cycle");
    expect(engine.runs).toEqual([]);
    expect(issues).toEqual([
      { path: "b/kustomization.yaml", line: 4, message: "Kustomization cycle: a → b → a. kustomize would recurse without end; fleet-warden does not build it." },
      { path: "a/kustomization.yaml", line: 4, message: "Kustomization cycle: b → a → b. kustomize would recurse without end; fleet-warden does not build it." },
    ]);
  });
});
