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
