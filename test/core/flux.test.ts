// Which GitRepository a Flux Kustomization reads: rendered next to it first, then as written.
import { describe, expect, it } from "vitest";
import { FleetModel, type KubeObject } from "../../src/core/fleet.js";
import { gitRepositorySpec, sourcesThisRepository } from "../../src/core/flux.js";
import { localFacts } from "../../src/local.js";
import { buildChange, fluxKustomization, treeDir } from "../build/helpers.js";
import { repoWithChange } from "../helpers/fleet.js";

const gitRepository = (apiVersion: string, namespace: string | undefined, url: string): KubeObject => ({
  apiVersion,
  kind: "GitRepository",
  metadata: { name: "team", ...(namespace ? { namespace } : {}) },
  spec: { url, ref: { branch: "main" } },
});

const model = () =>
  new FleetModel(treeDir({ "tenants/team/sync.yaml": "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: team\nspec:\n  url: https://github.com/acme/other\n" }));

describe("gitRepositorySpec", () => {
  it("prefers the source rendered alongside, in the namespace the parent gave it, to the one as written", () => {
    const rendered = [gitRepository("source.toolkit.fluxcd.io/v1", "apps", "https://github.com/acme/fleet")];
    expect(gitRepositorySpec("team", "apps", model(), rendered)?.url).toBe("https://github.com/acme/fleet");
    expect(gitRepositorySpec("team", "flux-system", model(), rendered)?.url).toBe("https://github.com/acme/other");
  });

  it("ignores objects of another API group that share the kind", () => {
    const impostor = [gitRepository("example.com/v1", "apps", "https://github.com/acme/fleet")];
    expect(gitRepositorySpec("team", "apps", model(), impostor)).toBeUndefined();
    const kustomization = { object: { apiVersion: "kustomize.toolkit.fluxcd.io/v1", kind: "Kustomization", metadata: { name: "team", namespace: "apps" }, spec: { sourceRef: { kind: "GitRepository", name: "team" } } } as KubeObject };
    const ref = { apiVersion: "kustomize.toolkit.fluxcd.io/v1", kind: "Kustomization", name: "team", namespace: "apps" };
    expect(sourcesThisRepository({ ...kustomization, ref }, model(), { owner: "acme", name: "fleet" }, impostor)).toBe(false);
    expect(sourcesThisRepository({ ...kustomization, ref }, model(), { owner: "acme", name: "fleet" }, [gitRepository("source.toolkit.fluxcd.io/v1", "apps", "https://github.com/acme/fleet")])).toBe(true);
  });
});

describe("sourcesThisRepository", () => {
  const kustomization = {
    object: { apiVersion: "kustomize.toolkit.fluxcd.io/v1", kind: "Kustomization", metadata: { name: "team", namespace: "apps" }, spec: { sourceRef: { kind: "GitRepository", name: "team" } } } as KubeObject,
    ref: { apiVersion: "kustomize.toolkit.fluxcd.io/v1", kind: "Kustomization", name: "team", namespace: "apps" },
  };
  const reads = (url: string, repository: { owner: string; name: string; host?: string }) =>
    sourcesThisRepository(kustomization, model(), repository, [gitRepository("source.toolkit.fluxcd.io/v1", "apps", url)]);

  it("knows the repository by host, owner and name: the same path on another host is another repository, which Flux fetches", () => {
    const fleet = { owner: "acme", name: "fleet", host: "github.com" };
    for (const url of ["https://github.com/acme/fleet", "ssh://git@github.com/acme/fleet.git", "git@github.com:Acme/fleet.git", "https://github.com:443/acme/fleet", "ssh://git@ssh.github.com:443/acme/fleet.git"]) {
      expect(reads(url, fleet)).toBe(true);
    }
    for (const url of ["https://evil.example.com/acme/fleet.git", "ssh://git@github.com.evil.example/acme/fleet", "https://github.com/other/acme/fleet"]) expect(reads(url, fleet)).toBe(false);
    // Go's url.Parse ends the host at ? or #: these name evil.example, whatever follows.
    for (const url of ["https://evil.example?@github.com/acme/fleet", "https://evil.example#@github.com/acme/fleet", "https://evil.example\\@github.com/acme/fleet"]) {
      expect(reads(url, fleet)).toBe(false);
      expect(reads(url, { owner: "acme", name: "fleet" })).toBe(false);
    }
    expect(reads("https://ghe.acme.internal/acme/fleet", { ...fleet, host: "ghe.acme.internal" })).toBe(true);
  });

  it("takes the CLI's repository from the origin remote: its host when it names a real one, not an SSH alias", async () => {
    const origins: Array<[string, Record<string, string>]> = [
      ["git@github.com:acme/fleet.git", { owner: "acme", name: "fleet", host: "github.com" }],
      ["https://ghe.acme.internal/acme/fleet", { owner: "acme", name: "fleet", host: "ghe.acme.internal" }],
      ["git@github-work:acme/fleet.git", { owner: "acme", name: "fleet" }],
    ];
    for (const [remote, repository] of origins) {
      const repo = repoWithChange({ "README.md": "a\n" }, { "README.md": "b\n" }, remote);
      const { facts, dispose } = await localFacts({ repo: repo.dir, base: "main", head: "change" });
      await dispose();
      expect(facts.repository).toEqual(repository);
    }
  });
});

describe("each cluster's own sources", () => {
  const sync = (ignore?: string) =>
    `apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  url: ssh://git@github.com/acme/fleet\n  ref:\n    branch: main\n${ignore ? `  ignore: |\n    ${ignore}\n` : ""}`;
  const configMap = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: apps\n`;

  it("builds a cluster's Kustomization with that cluster's GitRepository ignore rules, never another cluster's", async () => {
    const head = {
      "clusters/a-lab/flux-system/gotk-sync.yaml": sync("/apps/prod/hidden.yaml"),
      "clusters/prod/flux-system/gotk-sync.yaml": sync(),
      "clusters/prod/apps.yaml": fluxKustomization("apps", { path: "./apps/prod", prune: true }),
      "apps/prod/kept.yaml": configMap("kept"),
      "apps/prod/hidden.yaml": configMap("hidden"),
    };
    const result = await buildChange({}, head);
    const prod = result.head.find((build) => build.report.name === "flux-system/apps (clusters/prod)");
    expect(prod?.objects.map((object) => object.ref.name).sort()).toEqual(["hidden", "kept"]);
    expect(gitRepositorySpec("flux-system", "flux-system", new FleetModel(treeDir(head)), [], { cluster: "clusters/a-lab" })?.ignore).toBe("/apps/prod/hidden.yaml\n");
  });
});
