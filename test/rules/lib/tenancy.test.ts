import { describe, expect, it } from "vitest";
import { clusterControllers } from "../../../rules/lib/tenancy.js";
import { ruleContext } from "../../helpers/rule-context.js";
import { gotkComponents, PLAIN_FLUX_KUSTOMIZATION } from "./tenancy-fixtures.js";

/** The kustomize-controller args of cluster staging after the JSON patch `operations` (YAML lines). */
function kustomizeControllerArgs(operations: string[]): string[] | undefined {
  const kustomization = [
    PLAIN_FLUX_KUSTOMIZATION.trimEnd(),
    "patches:",
    "  - patch: |",
    ...operations.map((line) => `      ${line}`),
    "    target:",
    "      kind: Deployment",
    "      name: kustomize-controller",
    "",
  ].join("\n");
  const head = {
    "clusters/staging/flux-system/kustomization.yaml": kustomization,
    "clusters/staging/flux-system/gotk-components.yaml": gotkComponents(["--log-level=info"]),
  };
  return clusterControllers(ruleContext({ head }).head)[0]?.args.get("kustomize-controller");
}

describe("controller args under JSON patches", () => {
  it("adds at the end and at an index, replaces and removes an arg, whatever container index the patch names", () => {
    expect(
      kustomizeControllerArgs([
        "- op: add",
        "  path: /spec/template/spec/containers/0/args/-",
        "  value: --no-remote-bases=true",
        "- op: add",
        "  path: /spec/template/spec/containers/1/args/0",
        "  value: --no-cross-namespace-refs=true",
        "- op: replace",
        "  path: /spec/template/spec/containers/0/args/1",
        "  value: --watch-all-namespaces=false",
        "- op: remove",
        "  path: /spec/template/spec/containers/0/args/2",
      ]),
    ).toEqual(["--no-cross-namespace-refs=true", "--watch-all-namespaces=false", "--no-remote-bases=true"]);
  });

  it("replaces the whole list, and starts from none after removing it", () => {
    expect(kustomizeControllerArgs(["- op: replace", "  path: /spec/template/spec/containers/0/args", "  value: [--a, --b]"])).toEqual(["--a", "--b"]);
    expect(
      kustomizeControllerArgs(["- op: remove", "  path: /spec/template/spec/containers/0/args", "- op: add", "  path: /spec/template/spec/containers/0/args/-", "  value: --a"]),
    ).toEqual(["--a"]);
  });

  it("ignores operations on other fields and operations it does not follow", () => {
    expect(
      kustomizeControllerArgs([
        "- op: add",
        "  path: /spec/template/spec/containers/0/env/-",
        "  value: {name: A, value: b}",
        "- op: add",
        "  path: /spec/template/spec/containers/0/args/-/x",
        "  value: --x",
        "- op: copy",
        "  from: /spec/template/spec/containers/0/args/0",
        "  path: /spec/template/spec/containers/0/args/-",
      ]),
    ).toEqual(["--watch-all-namespaces=true", "--log-level=info"]);
  });
});
