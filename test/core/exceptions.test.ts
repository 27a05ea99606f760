// fleet-warden.io/ignore exceptions: visible, reasoned, and never granted by the change that needs them.
import { describe, expect, it } from "vitest";
import { evaluateChange, type Tree } from "../helpers/fleet.js";

const config = `tenants:
  - name: dev-team
    paths: ["apps/dev-team/**"]
    namespaces: [apps]
platform:
  owners: ["@plat-lead"]
`;
const codeowners = "*  @plat-lead\n/apps/dev-team/  @dev-alice\n";

const pod = (annotations: string, privileged: boolean) => `apiVersion: v1
kind: Pod
metadata:
  name: agent
  namespace: apps${annotations}
spec:
  containers:
    - name: agent
      image: ghcr.io/acme/agent:1.0.0
      resources:
        requests: {cpu: 10m, memory: 16Mi}
        limits: {memory: 32Mi}
      securityContext:
        allowPrivilegeEscalation: false
        privileged: ${privileged}
`;

const annotated = (rules: string, reason?: string) =>
  `\n  annotations:\n    fleet-warden.io/ignore: ${rules}${reason ? `\n    fleet-warden.io/ignore-reason: "${reason}"` : ""}`;

const base = (file: string): Tree => ({ ".github/fleet-warden.yml": config, ".github/CODEOWNERS": codeowners, "apps/dev-team/agent.yaml": file });

describe("exceptions", () => {
  it("honours an exception that the base branch already has, and lists it", async () => {
    const exception = annotated("pod-privileged", "reads kernel counters");
    const verdict = await evaluateChange(base(pod(exception, true)), { "apps/dev-team/agent.yaml": pod(exception, true).replace("1.0.0", "1.0.1") }, { author: "dev-alice" });
    expect(verdict.findings.filter((finding) => finding.rule === "pod-privileged")).toEqual([]);
    expect(verdict.ignored).toEqual([{ finding: expect.objectContaining({ rule: "pod-privileged", path: "apps/dev-team/agent.yaml" }), reason: "reads kernel counters" }]);
    expect(verdict.conclusion).toBe("success");
  });

  it("does not let a pull request grant itself an exception without a platform owner's approval", async () => {
    const head = { "apps/dev-team/agent.yaml": pod(annotated("pod-privileged", "debugging"), true) };
    const verdict = await evaluateChange(base(pod("", false)), head, { author: "dev-alice" });
    expect(verdict.conclusion).toBe("failure");
    expect(verdict.ignored).toEqual([]);
    expect(verdict.findings.find((finding) => finding.rule === "pod-privileged")?.message).toMatch(
      /this pull request adds a fleet-warden\.io\/ignore exception for it; the exception takes effect once @plat-lead approves the head commit\)$/,
    );

    const approved = await evaluateChange(base(pod("", false)), head, { author: "dev-alice", approvedBy: ["plat-lead"] });
    expect(approved.findings.filter((finding) => finding.rule === "pod-privileged")).toEqual([]);
    expect(approved.ignored).toEqual([{ finding: expect.objectContaining({ rule: "pod-privileged" }), reason: "debugging (new exception; approval by @plat-lead)" }]);
  });

  it("needs a reason", async () => {
    const verdict = await evaluateChange(base(pod("", false)), { "apps/dev-team/agent.yaml": pod(annotated("pod-privileged"), true) }, { author: "dev-alice" });
    expect(verdict.findings.find((finding) => finding.rule === "pod-privileged")?.message).toMatch(/needs a reason in fleet-warden\.io\/ignore-reason to take effect\)$/);
  });

  it("never takes a new object's exception for the base's object that sat at the same line", async () => {
    const excepted = pod(annotated("pod-privileged", "reads kernel counters"), true);
    const intruder = pod(annotated("pod-privileged", "trust me"), true).replace("name: agent", "name: intruder");
    // The intruder goes first: its finding's line is where the excepted Pod's document was on the base.
    const verdict = await evaluateChange(base(excepted), { "apps/dev-team/agent.yaml": `${intruder}---\n${excepted}` }, { author: "dev-alice" });
    expect(verdict.findings.filter((finding) => finding.rule === "pod-privileged").map((finding) => [finding.line, finding.message])).toEqual([
      [
        18,
        'Container "agent" of Pod intruder runs privileged (securityContext.privileged: true): it can take over the node. (this pull request adds a fleet-warden.io/ignore exception for it; the exception takes effect once @plat-lead approves the head commit)',
      ],
    ]);
    expect(verdict.ignored.map((exception) => [exception.finding.line, exception.reason])).toEqual([[37, "reads kernel counters"]]);
  });

  it("applies an exception to the build whose object carries it only, not to another build of the same line", async () => {
    const kustomization = (extra = "") => `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../base\n${extra}`;
    const overlays: Tree = {
      ".github/fleet-warden.yml": config,
      ".github/CODEOWNERS": codeowners,
      "apps/dev-team/base/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - agent.yaml\n",
      "apps/dev-team/base/agent.yaml": pod("", false),
      "apps/dev-team/staging/kustomization.yaml": kustomization('commonAnnotations:\n  fleet-warden.io/ignore: pod-privileged\n  fleet-warden.io/ignore-reason: "staging debugging"\n'),
      "apps/dev-team/production/kustomization.yaml": kustomization(),
    };
    const verdict = await evaluateChange(overlays, { "apps/dev-team/base/agent.yaml": pod("", true) }, { author: "dev-alice" });
    expect(verdict.findings.filter((finding) => finding.rule === "pod-privileged").map((finding) => [finding.path, finding.line, finding.build])).toEqual([
      ["apps/dev-team/base/agent.yaml", 15, "apps/dev-team/production"],
    ]);
    expect(verdict.conclusion).toBe("failure");
  });

  it("can never silence ownership", async () => {
    const verdict = await evaluateChange(
      { ".github/fleet-warden.yml": config, ".github/CODEOWNERS": codeowners, "clusters/a.yaml": "a: 1\n" },
      { "clusters/a.yaml": `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  annotations:\n    fleet-warden.io/ignore: tenant-ownership\n    fleet-warden.io/ignore-reason: "trust me"\n` },
      { author: "dev-alice", approvedBy: [] },
    );
    expect(verdict.findings.map((finding) => finding.rule)).toContain("tenant-ownership");
    expect(verdict.ignored).toEqual([]);
  });
});

describe("pre-existing findings", () => {
  it("stay pre-existing when their object was only reformatted, and count once its content changes", async () => {
    const flow = pod("", true);
    const reindented = flow.replace("resources:\n        requests: {cpu: 10m, memory: 16Mi}\n        limits: {memory: 32Mi}", "resources:\n        limits:\n          memory: 32Mi\n        requests:\n          cpu: 10m\n          memory: 16Mi");
    const reformatted = await evaluateChange(base(flow), { "apps/dev-team/agent.yaml": reindented.replace("privileged: true", "privileged:   true") }, { author: "dev-alice" });
    expect(reformatted.findings.filter((finding) => finding.rule === "pod-privileged")).toEqual([]);
    expect(reformatted.preExisting.map((finding) => finding.rule)).toContain("pod-privileged");

    const changed = await evaluateChange(base(flow), { "apps/dev-team/agent.yaml": flow.replace("1.0.0", "1.0.1").replace("privileged: true", "privileged:   true") }, { author: "dev-alice" });
    expect(changed.findings.map((finding) => finding.rule)).toContain("pod-privileged");
  });
});
