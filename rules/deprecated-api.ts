import type { KubeObject } from "../src/core/fleet.js";
import { valueAt } from "../src/core/values.js";
import type { Rule, RuleContext, RuleFinding } from "../src/core/types.js";
import { findingOn, objectsToCheck, type LocatedObject } from "./lib/objects.js";
import { asMapping, isPatchDocument, objectLabel, setScalarFix } from "./lib/workloads.js";

/** An API version that the target platform (Flux 2.7, on the Kubernetes 1.32+ it supports) no longer serves, or soon will not. */
interface RetiredApi {
  kinds: readonly string[];
  /** The apiVersion to use instead; none when the API was dropped without a successor. */
  replacement?: string;
  /** When it was (or will be) removed, as a clause: "which Kubernetes 1.22 removed". */
  status: string;
  /** Still served by Flux 2.7 (deprecated): a warning rather than an error. */
  served?: boolean;
  /** Fields the replacement no longer accepts: then changing the apiVersion alone would break the object. */
  incompatible?: (object: KubeObject) => string[];
  /** What to do instead when there is no replacement. */
  advice?: string;
}

/** Dotted paths (with `[*]` for every list item) that are set in the object. */
function presentFields(...paths: string[]): (object: KubeObject) => string[] {
  return (object) => paths.filter((path) => isSet(object, path.split(".")));
}

function isSet(value: unknown, steps: string[]): boolean {
  if (steps.length === 0) return value !== undefined;
  const [step, ...rest] = steps as [string, ...string[]];
  const list = step.endsWith("[*]");
  const next = asMapping(value)?.[list ? step.slice(0, -3) : step];
  if (!list) return isSet(next, rest);
  return Array.isArray(next) && next.some((item) => isSet(item, rest));
}

const FLUX_REMOVED = "which Flux 2.7 no longer serves";
const fluxDeprecated = (removal: string) => `which is deprecated (Flux 2.7 still serves it; ${removal})`;
const FLUX_28 = "Flux 2.8 removes it";
const FLUX_29 = "the Flux roadmap removes it in 2.9";

const gitRepositoryFields = presentFields("spec.gitImplementation", "spec.accessFrom");
const helmChartFields = presentFields("spec.valuesFile");
const kustomizationFields = presentFields("spec.validation", "spec.patchesStrategicMerge", "spec.patchesJson6902");
const helmReleaseFields = presentFields(
  "spec.chart.spec.valuesFile",
  "spec.postRenderers[*].kustomize.patchesStrategicMerge",
  "spec.postRenderers[*].kustomize.patchesJson6902",
);
const sourceIncompatible = (object: KubeObject) =>
  object.kind === "GitRepository" ? gitRepositoryFields(object) : object.kind === "HelmChart" ? helmChartFields(object) : [];

const appsSelector = (object: KubeObject) => [
  ...(isSet(object, ["spec", "selector"]) ? [] : ["spec.selector (required in apps/v1: copy the template's labels)"]),
  ...presentFields("spec.rollbackTo", "spec.templateGeneration")(object),
];

const ingressIncompatible = (object: KubeObject) => {
  const backends = [
    valueAt(object, ["spec", "backend"]),
    ...((valueAt(object, ["spec", "rules"]) as unknown[] | undefined) ?? []).flatMap((rule) =>
      ((valueAt(rule, ["http", "paths"]) as unknown[] | undefined) ?? []).map((path) => valueAt(path, ["backend"])),
    ),
  ];
  const paths = ((valueAt(object, ["spec", "rules"]) as unknown[] | undefined) ?? []).flatMap((rule) => (valueAt(rule, ["http", "paths"]) as unknown[] | undefined) ?? []);
  return [
    ...(isSet(object, ["spec", "backend"]) ? ["spec.backend (now spec.defaultBackend)"] : []),
    ...(backends.some((backend) => isSet(backend, ["serviceName"]) || isSet(backend, ["servicePort"]))
      ? ["backend serviceName/servicePort (now service.name and service.port.number or service.port.name)"]
      : []),
    ...(paths.some((path) => !isSet(path, ["pathType"])) ? ["paths without pathType (required in v1; ImplementationSpecific keeps the v1beta1 behaviour)"] : []),
  ];
};

const webhookIncompatible = (object: KubeObject) => {
  const webhooks = (valueAt(object, ["webhooks"]) as unknown[] | undefined) ?? [];
  return [
    ...(webhooks.some((webhook) => !["None", "NoneOnDryRun"].includes(String(valueAt(webhook, ["sideEffects"])))) ? ["webhooks[*].sideEffects (required: None or NoneOnDryRun)"] : []),
    ...(webhooks.some((webhook) => !isSet(webhook, ["admissionReviewVersions"])) ? ["webhooks[*].admissionReviewVersions (required)"] : []),
  ];
};

const flowControlFields = presentFields("spec.limited.assuredConcurrencyShares");
const POD_SECURITY_ADVICE =
  "PodSecurityPolicy has no successor API: enforce pod security with Pod Security Admission (the pod-security.kubernetes.io/enforce label on each namespace) or an admission policy engine";

const k8s = (version: string) => `which Kubernetes ${version} removed (Flux 2.7 supports Kubernetes 1.32 and later)`;

const RETIRED: Record<string, RetiredApi[]> = {
  // Flux: beta APIs removed by Flux 2.7, and the ones it still serves but deprecates.
  "source.toolkit.fluxcd.io/v1beta1": [
    { kinds: ["GitRepository", "HelmRepository", "HelmChart", "Bucket"], replacement: "source.toolkit.fluxcd.io/v1", status: FLUX_REMOVED, incompatible: sourceIncompatible },
  ],
  "source.toolkit.fluxcd.io/v1beta2": [
    {
      // OCIRepository and Bucket reached v1 in Flux 2.6; all are v1 in Flux 2.7.
      kinds: ["GitRepository", "HelmRepository", "HelmChart", "Bucket", "OCIRepository"],
      replacement: "source.toolkit.fluxcd.io/v1",
      status: fluxDeprecated(FLUX_28),
      served: true,
      incompatible: sourceIncompatible,
    },
  ],
  "kustomize.toolkit.fluxcd.io/v1beta1": [
    { kinds: ["Kustomization"], replacement: "kustomize.toolkit.fluxcd.io/v1", status: FLUX_REMOVED, incompatible: kustomizationFields },
  ],
  "kustomize.toolkit.fluxcd.io/v1beta2": [
    { kinds: ["Kustomization"], replacement: "kustomize.toolkit.fluxcd.io/v1", status: fluxDeprecated(FLUX_28), served: true, incompatible: kustomizationFields },
  ],
  "helm.toolkit.fluxcd.io/v2beta1": [{ kinds: ["HelmRelease"], replacement: "helm.toolkit.fluxcd.io/v2", status: FLUX_REMOVED, incompatible: helmReleaseFields }],
  "helm.toolkit.fluxcd.io/v2beta2": [
    { kinds: ["HelmRelease"], replacement: "helm.toolkit.fluxcd.io/v2", status: fluxDeprecated(FLUX_28), served: true, incompatible: helmReleaseFields },
  ],
  "notification.toolkit.fluxcd.io/v1beta1": [
    { kinds: ["Alert", "Provider"], replacement: "notification.toolkit.fluxcd.io/v1beta3", status: FLUX_REMOVED },
    { kinds: ["Receiver"], replacement: "notification.toolkit.fluxcd.io/v1", status: FLUX_REMOVED },
  ],
  "notification.toolkit.fluxcd.io/v1beta2": [
    { kinds: ["Alert", "Provider"], replacement: "notification.toolkit.fluxcd.io/v1beta3", status: fluxDeprecated(FLUX_29), served: true },
    { kinds: ["Receiver"], replacement: "notification.toolkit.fluxcd.io/v1", status: fluxDeprecated(FLUX_29), served: true },
  ],
  "image.toolkit.fluxcd.io/v1beta1": [
    { kinds: ["ImageRepository", "ImagePolicy", "ImageUpdateAutomation"], replacement: "image.toolkit.fluxcd.io/v1", status: FLUX_REMOVED },
  ],
  "image.toolkit.fluxcd.io/v1beta2": [
    { kinds: ["ImageRepository", "ImagePolicy", "ImageUpdateAutomation"], replacement: "image.toolkit.fluxcd.io/v1", status: fluxDeprecated(FLUX_29), served: true },
  ],
  // Kubernetes: the removals of the deprecated API migration guide.
  "extensions/v1beta1": [
    { kinds: ["Deployment", "DaemonSet", "ReplicaSet"], replacement: "apps/v1", status: k8s("1.16"), incompatible: appsSelector },
    { kinds: ["NetworkPolicy"], replacement: "networking.k8s.io/v1", status: k8s("1.16") },
    { kinds: ["Ingress"], replacement: "networking.k8s.io/v1", status: k8s("1.22"), incompatible: ingressIncompatible },
    { kinds: ["PodSecurityPolicy"], status: k8s("1.16"), advice: POD_SECURITY_ADVICE },
  ],
  "apps/v1beta1": [{ kinds: ["Deployment", "StatefulSet", "ReplicaSet"], replacement: "apps/v1", status: k8s("1.16"), incompatible: appsSelector }],
  "apps/v1beta2": [{ kinds: ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"], replacement: "apps/v1", status: k8s("1.16"), incompatible: appsSelector }],
  "admissionregistration.k8s.io/v1beta1": [
    {
      kinds: ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"],
      replacement: "admissionregistration.k8s.io/v1",
      status: k8s("1.22"),
      incompatible: webhookIncompatible,
    },
  ],
  "apiextensions.k8s.io/v1beta1": [
    {
      kinds: ["CustomResourceDefinition"],
      replacement: "apiextensions.k8s.io/v1",
      status: k8s("1.22"),
      incompatible: () => ["the definition's shape (spec.versions[*].schema is required, spec.scope must be explicit)"],
    },
  ],
  "apiregistration.k8s.io/v1beta1": [{ kinds: ["APIService"], replacement: "apiregistration.k8s.io/v1", status: k8s("1.22") }],
  "certificates.k8s.io/v1beta1": [
    {
      kinds: ["CertificateSigningRequest"],
      replacement: "certificates.k8s.io/v1",
      status: k8s("1.22"),
      incompatible: (object) => ["signerName", "usages"].filter((field) => !isSet(object, ["spec", field])).map((field) => `spec.${field} (required)`),
    },
  ],
  "coordination.k8s.io/v1beta1": [{ kinds: ["Lease"], replacement: "coordination.k8s.io/v1", status: k8s("1.22") }],
  "networking.k8s.io/v1beta1": [
    { kinds: ["Ingress"], replacement: "networking.k8s.io/v1", status: k8s("1.22"), incompatible: ingressIncompatible },
    { kinds: ["IngressClass"], replacement: "networking.k8s.io/v1", status: k8s("1.22") },
  ],
  "rbac.authorization.k8s.io/v1beta1": [
    { kinds: ["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"], replacement: "rbac.authorization.k8s.io/v1", status: k8s("1.22") },
  ],
  "scheduling.k8s.io/v1beta1": [{ kinds: ["PriorityClass"], replacement: "scheduling.k8s.io/v1", status: k8s("1.22") }],
  "storage.k8s.io/v1beta1": [
    { kinds: ["CSIDriver", "CSINode", "StorageClass", "VolumeAttachment"], replacement: "storage.k8s.io/v1", status: k8s("1.22") },
    { kinds: ["CSIStorageCapacity"], replacement: "storage.k8s.io/v1", status: k8s("1.27") },
  ],
  "batch/v1beta1": [{ kinds: ["CronJob"], replacement: "batch/v1", status: k8s("1.25") }],
  "discovery.k8s.io/v1beta1": [
    { kinds: ["EndpointSlice"], replacement: "discovery.k8s.io/v1", status: k8s("1.25"), incompatible: presentFields("endpoints[*].topology") },
  ],
  "autoscaling/v2beta1": [
    {
      kinds: ["HorizontalPodAutoscaler"],
      replacement: "autoscaling/v2",
      status: k8s("1.25"),
      incompatible: (object) => (isSet(object, ["spec", "metrics"]) ? ["spec.metrics (targets moved under target: type and averageUtilization/averageValue)"] : []),
    },
  ],
  "autoscaling/v2beta2": [{ kinds: ["HorizontalPodAutoscaler"], replacement: "autoscaling/v2", status: k8s("1.26") }],
  "policy/v1beta1": [
    { kinds: ["PodDisruptionBudget"], replacement: "policy/v1", status: k8s("1.25") },
    { kinds: ["PodSecurityPolicy"], status: k8s("1.25"), advice: POD_SECURITY_ADVICE },
  ],
  "node.k8s.io/v1beta1": [{ kinds: ["RuntimeClass"], replacement: "node.k8s.io/v1", status: k8s("1.25") }],
  "flowcontrol.apiserver.k8s.io/v1beta1": [
    { kinds: ["FlowSchema", "PriorityLevelConfiguration"], replacement: "flowcontrol.apiserver.k8s.io/v1", status: k8s("1.26"), incompatible: flowControlFields },
  ],
  "flowcontrol.apiserver.k8s.io/v1beta2": [
    { kinds: ["FlowSchema", "PriorityLevelConfiguration"], replacement: "flowcontrol.apiserver.k8s.io/v1", status: k8s("1.29"), incompatible: flowControlFields },
  ],
  "flowcontrol.apiserver.k8s.io/v1beta3": [
    { kinds: ["FlowSchema", "PriorityLevelConfiguration"], replacement: "flowcontrol.apiserver.k8s.io/v1", status: k8s("1.32") },
  ],
};

export function retiredApi(apiVersion: string, kind: string): RetiredApi | undefined {
  return RETIRED[apiVersion]?.find((entry) => entry.kinds.includes(kind));
}

/**
 * The other files that name the object by the same apiVersion and must change with it: its strategic-merge patches,
 * and, when the target is itself such a patch, the object it patches too (a patch moved alone matches nothing).
 */
function linkedFilesOf(context: RuleContext, target: LocatedObject): string[] {
  const { kind, name, apiVersion } = target.ref;
  const targetIsPatch = target.doc !== undefined && isPatchDocument(context.head, target.doc);
  const linked = context.head
    .objectsMentioning(name)
    .filter(
      (doc) =>
        doc !== target.doc &&
        doc.ref?.kind === kind &&
        doc.ref.name === name &&
        doc.ref.apiVersion === apiVersion &&
        (targetIsPatch || isPatchDocument(context.head, doc)),
    );
  return [...new Set(linked.map((doc) => doc.path))].filter((path) => path !== target.path).sort();
}

export const deprecatedApi: Rule = {
  meta: {
    id: "deprecated-api",
    defaultSeverity: "error",
    summary: "Objects use API versions that Flux 2.7 and the Kubernetes versions it supports still serve.",
    rationale:
      "An object in a removed API version makes the whole Flux Kustomization fail to apply (nothing in it reconciles) and a deprecated one breaks on the next upgrade; catching it in review turns an outage into a one-line change.",
  },
  check(context) {
    const findings: RuleFinding[] = [];
    for (const target of objectsToCheck(context)) {
      const retired = retiredApi(target.ref.apiVersion, target.ref.kind);
      if (!retired) continue;
      const { apiVersion } = target.ref;
      const label = objectLabel(target);
      const incompatible = retired.incompatible?.(target.object) ?? [];
      const linked = linkedFilesOf(context, target);
      let message = `${label} uses ${apiVersion}, ${retired.status}`;
      if (!retired.replacement) message += `. ${retired.advice}.`;
      else if (incompatible.length > 0) message += `: move to ${retired.replacement} after changing ${incompatible.join(", ")}.`;
      else if (linked.length > 0) message += `: use ${retired.replacement}, here and in the files that name it by that version (${linked.join(", ")}) together, or the builds fail.`;
      else message += `: use ${retired.replacement}.`;
      // The source document's own apiVersion line, when that is where the rendered value comes from. No one-line fix
      // when other files name the object by its old version: kustomize would find nothing to patch.
      const place = { target, path: ["apiVersion"], exact: target.doc?.ref?.apiVersion === apiVersion };
      const fix =
        retired.replacement && incompatible.length === 0 && linked.length === 0 ? setScalarFix(place, "apiVersion", retired.replacement, `Use ${retired.replacement}`) : undefined;
      findings.push(
        findingOn(target, ["apiVersion"], message, {
          ...(retired.served ? { severity: "warning" as const } : {}),
          ...(fix ? { fix } : {}),
        }),
      );
    }
    return findings;
  },
};
