import { describe, expect, it } from "vitest";
import { controllerLockdown } from "../../rules/controller-lockdown.js";
import { evaluateChange } from "../helpers/fleet.js";
import { ruleContext } from "../helpers/rule-context.js";
import { corpusTree, DEV_TEAM_CONFIG, DEV_TEAM_CONFIG_YAML, gotkComponents, LOCKDOWN_KUSTOMIZATION, PLAIN_FLUX_KUSTOMIZATION } from "./lib/tenancy-fixtures.js";

const check = (options: Parameters<typeof ruleContext>[0]) => controllerLockdown.check(ruleContext(options));
const DIR = "clusters/staging/flux-system";
const ALL_MISSING =
  "The Flux controllers of cluster staging run without the multi-tenancy lockdown: --no-cross-namespace-refs=true (kustomize-controller, helm-controller), --no-remote-bases=true (kustomize-controller), --default-service-account (kustomize-controller, helm-controller).";

function cluster(kustomization: string | null, components = gotkComponents()) {
  return {
    [`${DIR}/gotk-components.yaml`]: components,
    [`${DIR}/gotk-sync.yaml`]: "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  url: ssh://git@github.com/acme/fleet\n",
    ...(kustomization === null ? {} : { [`${DIR}/kustomization.yaml`]: kustomization }),
  };
}

describe("controller-lockdown", () => {
  it("passes a cluster locked down by Flux's multi-tenancy patches", () => {
    expect(check({ head: cluster(LOCKDOWN_KUSTOMIZATION), config: DEV_TEAM_CONFIG })).toEqual([]);
  });

  it("passes flags written into gotk-components.yaml, and a strategic-merge patch or a patch file that sets them", () => {
    const flags = ["--no-cross-namespace-refs=true", "--default-service-account=default"];
    expect(check({ head: cluster(PLAIN_FLUX_KUSTOMIZATION, gotkComponents([...flags, "--no-remote-bases=true"], flags)), config: DEV_TEAM_CONFIG })).toEqual([]);
    const strategicMerge = (name: string, args: string[]) =>
      `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\n  namespace: flux-system\nspec:\n  template:\n    spec:\n      containers:\n        - name: manager\n          args:\n${args.map((arg) => `            - ${arg}\n`).join("")}`;
    const head = {
      ...cluster(`${PLAIN_FLUX_KUSTOMIZATION}patches:\n  - path: kustomize-lockdown.yaml\npatchesStrategicMerge:\n  - helm-lockdown.yaml\n`),
      [`${DIR}/kustomize-lockdown.yaml`]: strategicMerge("kustomize-controller", [...flags, "--no-remote-bases"]),
      [`${DIR}/helm-lockdown.yaml`]: strategicMerge("helm-controller", flags),
    };
    expect(check({ head, config: DEV_TEAM_CONFIG })).toEqual([]);
  });

  it("adds the whole patches list when the cluster has none", () => {
    expect(check({ head: cluster(PLAIN_FLUX_KUSTOMIZATION), config: DEV_TEAM_CONFIG })).toEqual([
      {
        path: `${DIR}/kustomization.yaml`,
        line: 5,
        endLine: 5,
        message: ALL_MISSING,
        fix: {
          line: 5,
          endLine: 5,
          replacement: [
            "  - gotk-sync.yaml",
            "patches:",
            "  - patch: |",
            "      - op: add",
            "        path: /spec/template/spec/containers/0/args/-",
            "        value: --no-cross-namespace-refs=true",
            "    target:",
            "      kind: Deployment",
            '      name: "(kustomize-controller|helm-controller)"',
            "  - patch: |",
            "      - op: add",
            "        path: /spec/template/spec/containers/0/args/-",
            "        value: --no-remote-bases=true",
            "    target:",
            "      kind: Deployment",
            '      name: "kustomize-controller"',
            "  - patch: |",
            "      - op: add",
            "        path: /spec/template/spec/containers/0/args/-",
            "        value: --default-service-account=default",
            "    target:",
            "      kind: Deployment",
            '      name: "(kustomize-controller|helm-controller)"',
          ].join("\n"),
          description: "Add Flux's multi-tenancy lockdown patches",
        },
      },
    ]);
  });

  it("appends only the missing patch after the existing ones", () => {
    const withoutRemoteBases = LOCKDOWN_KUSTOMIZATION.replace(
      '  - patch: |\n      - op: add\n        path: /spec/template/spec/containers/0/args/-\n        value: --no-remote-bases=true\n    target:\n      kind: Deployment\n      name: "kustomize-controller"\n',
      "",
    );
    const [finding] = check({ head: cluster(withoutRemoteBases), config: DEV_TEAM_CONFIG });
    expect(finding?.line).toBe(6);
    expect(finding?.message).toBe("The Flux controllers of cluster staging run without the multi-tenancy lockdown: --no-remote-bases=true (kustomize-controller).");
    expect(finding?.fix).toEqual({
      line: 20,
      endLine: 20,
      replacement: [
        '      name: "(kustomize-controller|helm-controller)"',
        "  - patch: |",
        "      - op: add",
        "        path: /spec/template/spec/containers/0/args/-",
        "        value: --no-remote-bases=true",
        "    target:",
        "      kind: Deployment",
        '      name: "kustomize-controller"',
      ].join("\n"),
      description: "Add Flux's multi-tenancy lockdown patches",
    });
  });

  it("reads the last value of a flag: a later =false, or the controller's own account as default, undoes the lockdown", () => {
    const undone = gotkComponents(["--no-cross-namespace-refs=true", "--no-remote-bases=true", "--default-service-account=kustomize-controller", "--no-cross-namespace-refs=false"], [
      "--no-cross-namespace-refs=true",
      "--default-service-account=default",
    ]);
    const [finding] = check({ head: cluster(PLAIN_FLUX_KUSTOMIZATION, undone), config: DEV_TEAM_CONFIG });
    expect(finding?.message).toBe(
      "The Flux controllers of cluster staging run without the multi-tenancy lockdown: --no-cross-namespace-refs=true (kustomize-controller), --default-service-account (kustomize-controller).",
    );
  });

  it("points at the controller in gotk-components.yaml when there is no kustomization.yaml to patch", () => {
    const [finding] = check({ head: cluster(null), config: DEV_TEAM_CONFIG });
    expect([finding?.path, finding?.line, finding?.message, finding?.fix]).toEqual([`${DIR}/gotk-components.yaml`, 11, ALL_MISSING, undefined]);
  });

  it("stays silent in a repository without tenants, or whose tenants impersonate no account", () => {
    expect(check({ head: cluster(PLAIN_FLUX_KUSTOMIZATION) })).toEqual([]);
    const labelledOnly = { tenants: [{ name: "dev-team", paths: ["apps/dev-team/**"], namespaces: ["apps"] }] };
    expect(check({ head: cluster(PLAIN_FLUX_KUSTOMIZATION), config: labelledOnly })).toEqual([]);
  });

  it("fails a pull request that removes the cross-namespace lockdown patch (end to end)", async () => {
    const base = { ".github/fleet-warden.yml": DEV_TEAM_CONFIG_YAML, ...cluster(LOCKDOWN_KUSTOMIZATION) };
    const head = {
      [`${DIR}/kustomization.yaml`]: LOCKDOWN_KUSTOMIZATION.replace("value: --no-cross-namespace-refs=true", "value: --concurrent=10"),
    };
    const verdict = await evaluateChange(base, head, { rules: [controllerLockdown] });
    expect(verdict.conclusion).toBe("failure");
    expect(verdict.findings.map((finding) => [finding.rule, finding.severity, finding.path, finding.message])).toEqual([
      [
        "controller-lockdown",
        "error",
        `${DIR}/kustomization.yaml`,
        "The Flux controllers of cluster staging run without the multi-tenancy lockdown: --no-cross-namespace-refs=true (kustomize-controller, helm-controller).",
      ],
    ]);
  });

  it("is excepted for one cluster by annotating its flux-system kustomization.yaml, where the finding sits", async () => {
    const annotated = LOCKDOWN_KUSTOMIZATION.replace(
      "kind: Kustomization\n",
      "kind: Kustomization\nmetadata:\n  annotations:\n    fleet-warden.io/ignore: controller-lockdown\n    fleet-warden.io/ignore-reason: an admission policy enforces the lockdown\n",
    );
    expect(annotated).not.toBe(LOCKDOWN_KUSTOMIZATION);
    const base = { ".github/fleet-warden.yml": DEV_TEAM_CONFIG_YAML, ...cluster(annotated) };
    const head = { [`${DIR}/kustomization.yaml`]: annotated.replace("value: --no-cross-namespace-refs=true", "value: --concurrent=10") };
    const verdict = await evaluateChange(base, head, { rules: [controllerLockdown] });
    expect(verdict.conclusion).toBe("success");
    expect(verdict.findings).toEqual([]);
    expect(verdict.ignored.map((ignored) => [ignored.finding.rule, ignored.finding.path, ignored.reason])).toEqual([
      ["controller-lockdown", `${DIR}/kustomization.yaml`, "an admission policy enforces the lockdown"],
    ]);
  });

  it("is silent on the flux2-multi-tenancy corpus, whose clusters are locked down by patches alone (no Deployments in the repository)", () => {
    const tree = corpusTree("flux2-multi-tenancy/main");
    expect(check({ head: tree, base: tree })).toEqual([]);
  });
});
