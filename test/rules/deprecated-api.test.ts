import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { deprecatedApi } from "../../rules/deprecated-api.js";
import { evaluateChange } from "../helpers/fleet.js";
import { ruleContext } from "../helpers/rule-context.js";
import { renderedBuild } from "./workload-fixtures.js";

function check(head: Record<string, string>, extra: Partial<Parameters<typeof ruleContext>[0]> = {}) {
  return deprecatedApi.check(ruleContext({ head, ...extra }));
}

const helmRelease = (apiVersion: string, extraSpec = "") => `apiVersion: ${apiVersion}
kind: HelmRelease
metadata:
  name: podinfo
  namespace: apps
spec:
  interval: 5m
  chart:
    spec:
      chart: podinfo
      sourceRef:
        kind: HelmRepository
        name: podinfo
${extraSpec}`;

const ref = (apiVersion: string, kind: string, name: string, namespace?: string) => ({ apiVersion, kind, name, ...(namespace ? { namespace } : {}) });

describe("deprecated-api", () => {
  it("offers no one-line fix when overlay patches name the object by its old version, on the object or on a patch, and names the others", () => {
    const patch = "apiVersion: helm.toolkit.fluxcd.io/v2beta1\nkind: HelmRelease\nmetadata:\n  name: podinfo\n  namespace: apps\nspec:\n  values:\n    replicaCount: 2\n";
    const findings = check({
      "apps/base/kustomization.yaml": "resources:\n  - podinfo.yaml\n",
      "apps/base/podinfo.yaml": helmRelease("helm.toolkit.fluxcd.io/v2beta1"),
      "apps/staging/kustomization.yaml": "resources:\n  - ../base\npatches:\n  - path: values.yaml\n",
      "apps/staging/values.yaml": patch,
    });
    expect(findings.find((finding) => finding.path === "apps/base/podinfo.yaml")).toEqual({
      path: "apps/base/podinfo.yaml",
      line: 1,
      endLine: 1,
      message:
        "HelmRelease podinfo uses helm.toolkit.fluxcd.io/v2beta1, which Flux 2.7 no longer serves: use helm.toolkit.fluxcd.io/v2, here and in the files that name it by that version (apps/staging/values.yaml) together, or the builds fail.",
      object: ref("helm.toolkit.fluxcd.io/v2beta1", "HelmRelease", "podinfo", "apps"),
    });
    // The patch moved alone would match nothing either.
    expect(findings.find((finding) => finding.path === "apps/staging/values.yaml")).toEqual({
      path: "apps/staging/values.yaml",
      line: 1,
      endLine: 1,
      message:
        "HelmRelease podinfo uses helm.toolkit.fluxcd.io/v2beta1, which Flux 2.7 no longer serves: use helm.toolkit.fluxcd.io/v2, here and in the files that name it by that version (apps/base/podinfo.yaml) together, or the builds fail.",
      object: ref("helm.toolkit.fluxcd.io/v2beta1", "HelmRelease", "podinfo", "apps"),
    });
  });

  it("flags a HelmRelease v2beta1 (removed in Flux 2.7) on its apiVersion line, with the v2 fix", () => {
    expect(check({ "apps/podinfo.yaml": helmRelease("helm.toolkit.fluxcd.io/v2beta1") })).toEqual([
      {
        path: "apps/podinfo.yaml",
        line: 1,
        endLine: 1,
        message: "HelmRelease podinfo uses helm.toolkit.fluxcd.io/v2beta1, which Flux 2.7 no longer serves: use helm.toolkit.fluxcd.io/v2.",
        object: ref("helm.toolkit.fluxcd.io/v2beta1", "HelmRelease", "podinfo", "apps"),
        fix: { line: 1, endLine: 1, replacement: "apiVersion: helm.toolkit.fluxcd.io/v2", description: "Use helm.toolkit.fluxcd.io/v2" },
      },
    ]);
  });

  it("warns on APIs Flux 2.7 still serves but deprecates, and names the fields that block a plain apiVersion change", () => {
    const text = helmRelease("helm.toolkit.fluxcd.io/v2beta2", "      valuesFile: values-prod.yaml\n");
    expect(check({ "apps/podinfo.yaml": text })).toEqual([
      {
        path: "apps/podinfo.yaml",
        line: 1,
        endLine: 1,
        severity: "warning",
        message:
          "HelmRelease podinfo uses helm.toolkit.fluxcd.io/v2beta2, which is deprecated (Flux 2.7 still serves it; Flux 2.8 removes it): move to helm.toolkit.fluxcd.io/v2 after changing spec.chart.spec.valuesFile.",
        object: ref("helm.toolkit.fluxcd.io/v2beta2", "HelmRelease", "podinfo", "apps"),
      },
    ]);
  });

  it.each([
    ["kustomize.toolkit.fluxcd.io/v1beta2", "Kustomization", "kustomize.toolkit.fluxcd.io/v1", "warning"],
    ["kustomize.toolkit.fluxcd.io/v1beta1", "Kustomization", "kustomize.toolkit.fluxcd.io/v1", "error"],
    ["source.toolkit.fluxcd.io/v1beta2", "OCIRepository", "source.toolkit.fluxcd.io/v1", "warning"],
    ["source.toolkit.fluxcd.io/v1beta2", "Bucket", "source.toolkit.fluxcd.io/v1", "warning"],
    ["source.toolkit.fluxcd.io/v1beta1", "HelmRepository", "source.toolkit.fluxcd.io/v1", "error"],
    ["notification.toolkit.fluxcd.io/v1beta2", "Alert", "notification.toolkit.fluxcd.io/v1beta3", "warning"],
    ["notification.toolkit.fluxcd.io/v1beta1", "Receiver", "notification.toolkit.fluxcd.io/v1", "error"],
    ["image.toolkit.fluxcd.io/v1beta2", "ImagePolicy", "image.toolkit.fluxcd.io/v1", "warning"],
    ["batch/v1beta1", "CronJob", "batch/v1", "error"],
    ["policy/v1beta1", "PodDisruptionBudget", "policy/v1", "error"],
    ["rbac.authorization.k8s.io/v1beta1", "ClusterRoleBinding", "rbac.authorization.k8s.io/v1", "error"],
    ["autoscaling/v2beta2", "HorizontalPodAutoscaler", "autoscaling/v2", "error"],
    ["networking.k8s.io/v1beta1", "IngressClass", "networking.k8s.io/v1", "error"],
    ["flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema", "flowcontrol.apiserver.k8s.io/v1", "error"],
  ])("%s %s -> %s (%s)", (apiVersion, kind, replacement, severity) => {
    const [finding] = check({ "x.yaml": `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata:\n  name: x\n` });
    expect(finding?.severity ?? "error").toBe(severity);
    expect(finding?.fix?.replacement).toBe(`apiVersion: ${replacement}`);
  });

  it("annotates the right document of a multi-document file and keeps a trailing comment in the fix", () => {
    const text = `apiVersion: batch/v1
kind: Job
metadata:
  name: once
---
apiVersion: batch/v1beta1 # old cluster
kind: CronJob
metadata:
  name: nightly
`;
    expect(check({ "apps/jobs.yaml": text }).map((finding) => [finding.line, finding.message, finding.fix?.replacement])).toEqual([
      [
        6,
        "CronJob nightly uses batch/v1beta1, which Kubernetes 1.25 removed (Flux 2.7 supports Kubernetes 1.32 and later): use batch/v1.",
        "apiVersion: batch/v1 # old cluster",
      ],
    ]);
  });

  it("explains what must change when the replacement's shape differs (Ingress, apps without selector, Kustomization patches)", () => {
    const ingress = `apiVersion: networking.k8s.io/v1beta1
kind: Ingress
metadata:
  name: web
spec:
  rules:
    - host: web.example.com
      http:
        paths:
          - path: /
            backend:
              serviceName: web
              servicePort: 80
`;
    const deployment = "apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata:\n  name: legacy\nspec:\n  template:\n    spec:\n      containers: []\n";
    const kustomization =
      "apiVersion: kustomize.toolkit.fluxcd.io/v1beta1\nkind: Kustomization\nmetadata:\n  name: apps\nspec:\n  patchesStrategicMerge:\n    - kind: Deployment\n";
    const findings = check({ "a/ingress.yaml": ingress, "a/deployment.yaml": deployment, "a/flux.yaml": kustomization });
    expect(findings.map((finding) => [finding.path, finding.message, finding.fix])).toEqual([
      [
        "a/ingress.yaml",
        "Ingress web uses networking.k8s.io/v1beta1, which Kubernetes 1.22 removed (Flux 2.7 supports Kubernetes 1.32 and later): move to networking.k8s.io/v1 after changing backend serviceName/servicePort (now service.name and service.port.number or service.port.name), paths without pathType (required in v1; ImplementationSpecific keeps the v1beta1 behaviour).",
        undefined,
      ],
      [
        "a/deployment.yaml",
        "Deployment legacy uses extensions/v1beta1, which Kubernetes 1.16 removed (Flux 2.7 supports Kubernetes 1.32 and later): move to apps/v1 after changing spec.selector (required in apps/v1: copy the template's labels).",
        undefined,
      ],
      [
        "a/flux.yaml",
        "Kustomization apps uses kustomize.toolkit.fluxcd.io/v1beta1, which Flux 2.7 no longer serves: move to kustomize.toolkit.fluxcd.io/v1 after changing spec.patchesStrategicMerge.",
        undefined,
      ],
    ]);
  });

  it("says PodSecurityPolicy has no successor and points to Pod Security Admission", () => {
    const [finding] = check({ "infrastructure/psp.yaml": "apiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata:\n  name: restricted\nspec: {}\n" });
    expect(finding).toEqual({
      path: "infrastructure/psp.yaml",
      line: 1,
      endLine: 1,
      message:
        "PodSecurityPolicy restricted uses policy/v1beta1, which Kubernetes 1.25 removed (Flux 2.7 supports Kubernetes 1.32 and later). PodSecurityPolicy has no successor API: enforce pod security with Pod Security Admission (the pod-security.kubernetes.io/enforce label on each namespace) or an admission policy engine.",
      object: ref("policy/v1beta1", "PodSecurityPolicy", "restricted"),
    });
  });

  it("passes current APIs, kustomize's own Kustomization files, and new kinds in an old group-version", () => {
    const head = {
      "apps/podinfo.yaml": helmRelease("helm.toolkit.fluxcd.io/v2"),
      "apps/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [podinfo.yaml]\n",
      "apps/deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n",
      "apps/workload.yaml": "apiVersion: scheduling.k8s.io/v1beta1\nkind: Workload\nmetadata:\n  name: training\n",
    };
    expect(check(head)).toEqual([]);
  });

  it("judges rendered objects and annotates their source document's apiVersion line", () => {
    const source = helmRelease("helm.toolkit.fluxcd.io/v2beta1");
    const rendered = source.replace("namespace: apps", "namespace: apps-staging");
    const findings = check({ "apps/base/podinfo.yaml": source }, { changed: [], builds: [renderedBuild(rendered, "apps/base/podinfo.yaml", 1, "Kustomization flux-system/apps-staging")] });
    expect(findings.map((finding) => [finding.path, finding.line, finding.build, finding.object, finding.fix?.replacement])).toEqual([
      [
        "apps/base/podinfo.yaml",
        1,
        "Kustomization flux-system/apps-staging",
        ref("helm.toolkit.fluxcd.io/v2beta1", "HelmRelease", "podinfo", "apps-staging"),
        "apiVersion: helm.toolkit.fluxcd.io/v2",
      ],
    ]);
  });

  const devTeam = "/work/shared/corpus/flux2-multi-tenancy/dev-team";
  it.skipIf(!existsSync(devTeam))("catches the v1beta1/v2beta1 objects of the flux2-multi-tenancy dev-team branch, patches included", () => {
    const head = Object.fromEntries(yamlFiles(devTeam).map((path) => [relative(devTeam, path), readFileSync(path, "utf8")]));
    expect(check(head).map((finding) => [finding.path, finding.line, finding.severity ?? "error", finding.fix?.replacement])).toEqual([
      // The release and its two patches must move together: no one-line fix for any of them.
      ["base/podinfo-release.yaml", 1, "error", undefined],
      ["base/podinfo-repository.yaml", 1, "error", "apiVersion: source.toolkit.fluxcd.io/v1"],
      ["production/podinfo-values.yaml", 1, "error", undefined],
      ["staging/podinfo-values.yaml", 1, "error", undefined],
    ]);
  });

  it("fails a change that introduces a removed API, end to end", async () => {
    const verdict = await evaluateChange({ "apps/podinfo.yaml": helmRelease("helm.toolkit.fluxcd.io/v2") }, { "apps/podinfo.yaml": helmRelease("helm.toolkit.fluxcd.io/v2beta1") }, { rules: [deprecatedApi] });
    expect(verdict.conclusion).toBe("failure");
    expect(verdict.findings.map((finding) => [finding.rule, finding.path, finding.line, finding.severity, finding.fix?.replacement])).toEqual([
      ["deprecated-api", "apps/podinfo.yaml", 1, "error", "apiVersion: helm.toolkit.fluxcd.io/v2"],
    ]);
  });
});

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return yamlFiles(path);
      return /\.ya?ml$/.test(name) ? [path] : [];
    });
}
