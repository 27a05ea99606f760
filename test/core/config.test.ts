import { describe, expect, it } from "vitest";
import { defaultConfig, parseConfig } from "../../src/core/config.js";

describe("parseConfig", () => {
  it("gives the defaults when there is no file", () => {
    expect(parseConfig(undefined)).toEqual({ ok: true, config: defaultConfig });
    expect(defaultConfig.imageUpdates).toEqual({ branches: ["flux-image-updates", "flux-image-updates-*"], authors: ["fluxcdbot"], mergeMethod: "squash", allowMajor: false });
  });

  it("reads the documented example", () => {
    const result = parseConfig(
      `tenants:
  - name: dev-team
    paths: ["tenants/base/dev-team/**", "tenants/*/dev-team/**"]
    namespaces: [apps]
    serviceAccount: dev-team
imageUpdates:
  mergeMethod: merge
rules:
  flux-service-account: warning
exclude: ["docs/**"]
`,
      ["flux-service-account"],
    );
    expect(result.ok).toBe(true);
    expect(result.config.tenants?.[0]).toEqual({ name: "dev-team", paths: ["tenants/base/dev-team/**", "tenants/*/dev-team/**"], namespaces: ["apps"], serviceAccount: "dev-team" });
    expect(result.config.imageUpdates.mergeMethod).toBe("merge");
    expect(result.config.imageUpdates.branches).toEqual(["flux-image-updates", "flux-image-updates-*"]);
    expect(result.config.rules).toEqual({ "flux-service-account": "warning" });
  });

  it("names the key of an unknown setting, a bad value and an unknown rule", () => {
    expect(parseConfig("tenantz: []\n")).toMatchObject({ ok: false, errors: [expect.stringContaining("Unrecognized key")] });
    expect(parseConfig("imageUpdates:\n  mergeMethod: fast-forward\n")).toMatchObject({
      ok: false,
      errors: [expect.stringMatching(/^\.github\/fleet-warden\.yml: `imageUpdates\.mergeMethod`: /)],
    });
    expect(parseConfig("rules:\n  no-such-rule: error\n", ["yaml-syntax"])).toMatchObject({
      ok: false,
      errors: ["`.github/fleet-warden.yml`: `rules.no-such-rule`: unknown rule id (known: yaml-syntax)".replace(/^`(.*?)`/, "$1")],
    });
    expect(parseConfig("tenants:\n  - name: a\n    paths: []\n")).toMatchObject({ ok: false, errors: [expect.stringContaining("`tenants.0.paths`")] });
  });

  it("names an unknown rule id along with a bad value, in one pass; keeps the rest of a config whose only fault is the id", () => {
    expect(parseConfig("rules:\n  yaml-syntax: fatal\n  flux-prun: off\n", ["yaml-syntax", "flux-prune"])).toEqual({
      ok: false,
      config: defaultConfig,
      errors: [
        expect.stringMatching(/^\.github\/fleet-warden\.yml: `rules\.yaml-syntax`: /),
        ".github/fleet-warden.yml: `rules.flux-prun`: unknown rule id (known: yaml-syntax, flux-prune)",
      ],
    });
    const onlyTheId = parseConfig("exclude: [docs/**]\nrules:\n  flux-prun: off\n", ["flux-prune"]);
    expect(onlyTheId.config.exclude).toEqual(["docs/**"]);
  });

  it("reports YAML errors with their line and keeps evaluating with the defaults", () => {
    const result = parseConfig("rules:\n  a: [\n");
    expect(result.ok).toBe(false);
    expect(result.config).toEqual(defaultConfig);
    if (!result.ok) expect(result.errors[0]).toMatch(/^\.github\/fleet-warden\.yml:\d+: /);
  });

  it("treats an empty file as the defaults", () => {
    expect(parseConfig("# nothing configured yet\n")).toEqual({ ok: true, config: defaultConfig });
  });
});
