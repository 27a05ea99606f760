// HelmReleases: the chart is rendered by helm-controller, never here, so a change to what one installs gets a note.
import { describe, expect, it } from "vitest";
import { evaluateChange, type Tree } from "../helpers/fleet.js";

const release = (replicas: number, valuesFrom = "") => `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: podinfo
spec:
  interval: 10m
  chart:
    spec:
      chart: podinfo
      version: "6.7.0"
      sourceRef:
        kind: HelmRepository
        name: podinfo
  values:
    replicaCount: ${replicas}${valuesFrom}
`;

const valuesFrom = `
  valuesFrom:
    - kind: ConfigMap
      name: podinfo-values
`;

const configMap = (name: string, level: string) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}
data:
  values.yaml: |
    logLevel: ${level}
`;

const kustomization = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: podinfo
resources:
  - release.yaml
  - values.yaml
  - settings.yaml
`;

const fleet = (files: { replicas?: number; level?: string; settings?: string; reads?: boolean } = {}): Tree => ({
  "apps/podinfo/kustomization.yaml": kustomization,
  "apps/podinfo/release.yaml": release(files.replicas ?? 1, files.reads === false ? "" : valuesFrom),
  "apps/podinfo/values.yaml": configMap("podinfo-values", files.level ?? "info"),
  "apps/podinfo/settings.yaml": configMap("unrelated", files.settings ?? "a"),
});

const helmNotes = (notes: string[]) => notes.filter((note) => note.includes("Helm charts"));
const NOTE =
  "fleet-warden does not render Helm charts (helm-controller does, in the cluster): what HelmRelease podinfo/podinfo installs is not judged here, only the HelmRelease itself (its account, namespace and sources). Review the chart and its values, or rely on the cluster's admission policies.";

describe("a change to what a HelmRelease installs", () => {
  it("is named in a note when the HelmRelease changes, as the build renders it", async () => {
    const verdict = await evaluateChange(fleet(), fleet({ replicas: 3 }));
    expect(helmNotes(verdict.notes)).toEqual([NOTE]);
  });

  it("is named in a note when a ConfigMap it reads values from changes, and not for one it does not read", async () => {
    expect(helmNotes((await evaluateChange(fleet(), fleet({ level: "debug" }))).notes)).toEqual([NOTE]);
    expect(helmNotes((await evaluateChange(fleet({ reads: false }), fleet({ reads: false, level: "debug" }))).notes)).toEqual([]);
    expect(helmNotes((await evaluateChange(fleet(), fleet({ settings: "b" }))).notes)).toEqual([]);
  });

  it("is named as written when no build renders its file, and only where the change adds lines", async () => {
    const loose = (replicas: number): Tree => ({ "loose/release.yaml": `${release(replicas)}---\n${configMap("beside", String(replicas))}` });
    const verdict = await evaluateChange({}, loose(1));
    expect(helmNotes(verdict.notes)).toEqual([NOTE.replace("HelmRelease podinfo/podinfo", "HelmRelease podinfo")]);
    expect(helmNotes((await evaluateChange(loose(1), loose(2))).notes)).toEqual(helmNotes(verdict.notes));
    const beside = await evaluateChange(loose(1), { "loose/release.yaml": `${release(1)}---\n${configMap("beside", "2")}` });
    expect(helmNotes(beside.notes)).toEqual([]);
  });
});

describe("a change to a HelmRelease's chart or values elsewhere", () => {
  const source = (kind: string, spec: string) => `apiVersion: source.toolkit.fluxcd.io/v1\nkind: ${kind}\nmetadata:\n  name: podinfo\nspec:\n  interval: 10m\n${spec}`;
  const chartRefRelease = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\nspec:\n  interval: 10m\n  chartRef:\n    kind: OCIRepository\n    name: podinfo\n";
  const chartFrom = (kind: string, name: string, chart: string) =>
    `apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\nspec:\n  interval: 10m\n  chart:\n    spec:\n      chart: ${chart}\n      sourceRef:\n        kind: ${kind}\n        name: ${name}\n        namespace: flux-system\n`;
  const folder = (...files: string[]) => `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: podinfo\nresources:\n${files.map((file) => `  - ${file}\n`).join("")}`;
  const noted = async (base: Tree, head: Tree) => helmNotes((await evaluateChange(base, head)).notes);
  // A release whose own build the change leaves alone is named as written: kustomize sets its namespace.
  const AS_WRITTEN = NOTE.replace("HelmRelease podinfo/podinfo", "HelmRelease podinfo");

  it("names the release when its chart source changes: chartRef, or chart.spec.sourceRef in another namespace and build", async () => {
    const oci = (tag: string): Tree => ({ "apps/podinfo/kustomization.yaml": folder("release.yaml", "oci.yaml"), "apps/podinfo/release.yaml": chartRefRelease, "apps/podinfo/oci.yaml": source("OCIRepository", `  url: oci://ghcr.io/stefanprodan/charts/podinfo\n  ref:\n    tag: ${tag}\n`) });
    expect(await noted(oci("6.7.0"), oci("6.9.9"))).toEqual([NOTE]);
    const repository = (url: string): Tree => ({
      "apps/podinfo/kustomization.yaml": folder("release.yaml"),
      "apps/podinfo/release.yaml": chartFrom("HelmRepository", "podinfo", "podinfo"),
      "infrastructure/sources/kustomization.yaml": "namespace: flux-system\nresources:\n  - podinfo.yaml\n",
      "infrastructure/sources/podinfo.yaml": source("HelmRepository", `  url: ${url}\n`),
    });
    expect(await noted(repository("https://stefanprodan.github.io/podinfo"), repository("https://charts.evil.example"))).toEqual([AS_WRITTEN]);
  });

  it("names the release when its chart in this repository changes, and not for a change beside it", async () => {
    const chart = (privileged: boolean, readme = "podinfo"): Tree => ({
      "apps/podinfo/kustomization.yaml": folder("release.yaml"),
      "apps/podinfo/release.yaml": chartFrom("GitRepository", "flux-system", "./charts/app"),
      "charts/app/Chart.yaml": "apiVersion: v2\nname: app\nversion: 0.1.0\n",
      "charts/app/templates/pod.yaml": `apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\nspec:\n  containers:\n    - name: app\n      image: busybox:1.36\n      securityContext:\n        privileged: ${privileged}\n`,
      "charts/README.md": readme,
    });
    expect(await noted(chart(false), chart(true))).toEqual([AS_WRITTEN]);
    expect(await noted(chart(false), chart(false, "the app chart"))).toEqual([]);
  });

  it("names the release when a ConfigMap it reads values from changes in another build", async () => {
    const values = (level: string): Tree => ({
      "apps/podinfo/kustomization.yaml": folder("release.yaml"),
      "apps/podinfo/release.yaml": release(1, valuesFrom),
      "config/podinfo/kustomization.yaml": folder("values.yaml"),
      "config/podinfo/values.yaml": configMap("podinfo-values", level),
    });
    expect(await noted(values("info"), values("debug"))).toEqual([AS_WRITTEN]);
  });
});
