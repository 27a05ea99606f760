// A synthetic fleet repository: clusters × tenants, each tenant a base and one overlay per cluster, plus an
// infrastructure layer; and the pull request shapes the benchmark evaluates on it.
export interface FleetSize {
  clusters: number;
  tenants: number;
}

/** path -> text; `null` deletes. */
export type Tree = Record<string, string | null>;

export const REPOSITORY = { owner: "acme", name: "fleet" };
const URL = `ssh://git@github.com/${REPOSITORY.owner}/${REPOSITORY.name}`;
const COMPONENTS = ["ingress-nginx", "cert-manager", "monitoring", "logging", "policy-engine"];
const EXTRA_CONFIGS = 5;

export const clusterName = (index: number) => ["production", "staging", "development", "edge", "lab"][index] ?? `cluster-${index}`;
export const tenantName = (index: number) => `team-${String(index).padStart(3, "0")}`;

const fluxKustomization = (name: string, namespace: string, path: string, extra = "") => `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  interval: 10m0s
  path: ${path}
  prune: true
  sourceRef:
    kind: GitRepository
    name: ${namespace === "flux-system" ? "flux-system" : name}
${extra}`;

const gitRepository = (name: string, namespace: string) => `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  interval: 1m0s
  ref:
    branch: main
  secretRef:
    name: ${name}
  url: ${URL}
`;

const kustomizationFile = (resources: string[], extra = "") => `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
${resources.map((resource) => `  - ${resource}`).join("\n")}
${extra}`;

function cluster(name: string): Tree {
  return {
    [`clusters/${name}/flux-system/gotk-sync.yaml`]: `${gitRepository("flux-system", "flux-system")}---\n${fluxKustomization("flux-system", "flux-system", `./clusters/${name}`)}`,
    [`clusters/${name}/flux-system/kustomization.yaml`]: kustomizationFile(["gotk-sync.yaml"]),
    [`clusters/${name}/infrastructure.yaml`]: fluxKustomization("infrastructure", "flux-system", `./infrastructure/${name}`),
    [`clusters/${name}/tenants.yaml`]: fluxKustomization("tenants", "flux-system", `./tenants/${name}`, "  dependsOn:\n    - name: infrastructure\n"),
    [`infrastructure/${name}/kustomization.yaml`]: kustomizationFile(COMPONENTS.map((component) => `../base/${component}`)),
  };
}

export function helmRelease(component: string, version: string): string {
  return `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: ${component}
  namespace: ${component}
spec:
  interval: 30m
  chart:
    spec:
      chart: ${component}
      version: "${version}"
      sourceRef:
        kind: HelmRepository
        name: ${component}
  values:
    replicaCount: 2
`;
}

function infrastructure(): Tree {
  const tree: Tree = {};
  for (const component of COMPONENTS) {
    const base = `infrastructure/base/${component}`;
    tree[`${base}/namespace.yaml`] = `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${component}\n`;
    tree[`${base}/repository.yaml`] = `apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: ${component}\n  namespace: ${component}\nspec:\n  interval: 24h\n  url: https://charts.example.com/${component}\n`;
    tree[`${base}/release.yaml`] = helmRelease(component, "4.1.0");
    tree[`${base}/kustomization.yaml`] = kustomizationFile(["namespace.yaml", "repository.yaml", "release.yaml"]);
  }
  return tree;
}

/** The tenant's definition on one cluster: namespace, account, role binding and its Flux objects. */
function tenantDefinition(tenant: string, clusterName: string): string {
  return `apiVersion: v1
kind: Namespace
metadata:
  name: ${tenant}
  labels:
    toolkit.fluxcd.io/tenant: ${tenant}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: ${tenant}
  namespace: ${tenant}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: ${tenant}-reconciler
  namespace: ${tenant}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: admin
subjects:
  - kind: ServiceAccount
    name: ${tenant}
    namespace: ${tenant}
---
${gitRepository(tenant, tenant)}---
${fluxKustomization(tenant, tenant, `./apps/${tenant}/${clusterName}`, `  serviceAccountName: ${tenant}\n  targetNamespace: ${tenant}\n`)}`;
}

export function deployment(tenant: string, tag: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      serviceAccountName: web
      containers:
        - name: web
          image: ghcr.io/acme/${tenant}-web:${tag} # {"$imagepolicy": "${tenant}:web"}
          ports:
            - name: http
              containerPort: 8080
          resources:
            requests:
              cpu: 100m
              memory: 64Mi
            limits:
              memory: 128Mi
          securityContext:
            allowPrivilegeEscalation: false
            runAsNonRoot: true
`;
}

export const configMap = (name: string, value: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  value: "${value}"\n`;
export const replicasPatch = (replicas: number) => `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: ${replicas}\n`;

function tenantApps(tenant: string, clusters: string[]): Tree {
  const base = `apps/${tenant}/base`;
  const extras = Array.from({ length: EXTRA_CONFIGS }, (_, i) => `config/extra-${i}.yaml`);
  const tree: Tree = {
    [`${base}/kustomization.yaml`]: kustomizationFile(["deployment.yaml", "service.yaml", "serviceaccount.yaml", "configmap.yaml", "hpa.yaml", "pdb.yaml", "networkpolicy.yaml", "image-automation.yaml", ...extras]),
    [`${base}/deployment.yaml`]: deployment(tenant, "1.4.2"),
    [`${base}/service.yaml`]: `apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector:\n    app: web\n  ports:\n    - name: http\n      port: 80\n      targetPort: http\n`,
    [`${base}/serviceaccount.yaml`]: `apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: web\n`,
    [`${base}/configmap.yaml`]: configMap("web-settings", "base"),
    [`${base}/hpa.yaml`]: `apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: web\nspec:\n  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: web\n  minReplicas: 2\n  maxReplicas: 6\n`,
    [`${base}/pdb.yaml`]: `apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: web\nspec:\n  minAvailable: 1\n  selector:\n    matchLabels:\n      app: web\n`,
    [`${base}/networkpolicy.yaml`]: `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: web\nspec:\n  podSelector:\n    matchLabels:\n      app: web\n  policyTypes:\n    - Ingress\n`,
    [`${base}/image-automation.yaml`]: `apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: web\nspec:\n  image: ghcr.io/acme/${tenant}-web\n  interval: 5m\n---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: web\nspec:\n  imageRepositoryRef:\n    name: web\n  policy:\n    semver:\n      range: ">=1.0.0 <2.0.0"\n`,
  };
  extras.forEach((extra, i) => (tree[`${base}/${extra}`] = configMap(`extra-${i}`, "base")));
  for (const cluster of clusters) {
    const overlay = `apps/${tenant}/${cluster}`;
    tree[`${overlay}/kustomization.yaml`] = kustomizationFile(["../base", "ingress.yaml", "secret-store.yaml"], "patches:\n  - path: replicas.yaml\n  - path: config.yaml\n");
    tree[`${overlay}/replicas.yaml`] = replicasPatch(2);
    tree[`${overlay}/config.yaml`] = configMap("web-settings", cluster);
    tree[`${overlay}/ingress.yaml`] = `apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: web\nspec:\n  rules:\n    - host: ${tenant}.${cluster}.example.com\n      http:\n        paths:\n          - path: /\n            pathType: Prefix\n            backend:\n              service:\n                name: web\n                port:\n                  name: http\n`;
    tree[`${overlay}/secret-store.yaml`] = configMap("web-secret-store", `vault/${cluster}/${tenant}`);
    tree[`${overlay}/README.md`] = `# ${tenant} on ${cluster}\n`;
  }
  return tree;
}

export function generateFleet(size: FleetSize): Tree {
  const clusters = Array.from({ length: size.clusters }, (_, i) => clusterName(i));
  const tenants = Array.from({ length: size.tenants }, (_, i) => tenantName(i));
  const tree: Tree = { "README.md": "# fleet\n", ...infrastructure() };
  for (const name of clusters) {
    Object.assign(tree, cluster(name));
    tree[`tenants/${name}/kustomization.yaml`] = kustomizationFile(tenants.map((tenant) => `${tenant}.yaml`));
    for (const tenant of tenants) tree[`tenants/${name}/${tenant}.yaml`] = tenantDefinition(tenant, name);
  }
  for (const tenant of tenants) Object.assign(tree, tenantApps(tenant, clusters));
  return tree;
}

export interface PullRequestShape {
  id: string;
  description: string;
  head: Tree;
  /** The head branch and author (image updates come from Flux's bot, on its branch). */
  branch: string;
  author: string;
}

export const NO_OP_SHAPE = "no-op";

export function pullRequestShapes(size: FleetSize): PullRequestShape[] {
  const clusters = Array.from({ length: size.clusters }, (_, i) => clusterName(i));
  const middle = tenantName(Math.floor(size.tenants / 2));
  // 200 files: ten per tenant (base config, extras, every overlay's config) over as many tenants as it takes.
  const wide: Tree = {};
  for (let t = 0; Object.keys(wide).length < 200 && t < size.tenants; t++) {
    const tenant = tenantName(t);
    const candidates = [
      `apps/${tenant}/base/configmap.yaml`,
      ...Array.from({ length: EXTRA_CONFIGS }, (_, i) => `apps/${tenant}/base/config/extra-${i}.yaml`),
      ...clusters.map((cluster) => `apps/${tenant}/${cluster}/config.yaml`),
      ...clusters.map((cluster) => `apps/${tenant}/${cluster}/secret-store.yaml`),
    ];
    for (const path of candidates) if (Object.keys(wide).length < 200) wide[path] = configMap(path.includes("secret-store") ? "web-secret-store" : path.includes("extra-") ? `extra-${/extra-(\d)/.exec(path)![1]}` : "web-settings", "changed");
  }
  return [
    { id: "one-tenant-overlay", description: `${middle} replicas on ${clusters[0]}`, head: { [`apps/${middle}/${clusters[0]}/replicas.yaml`]: replicasPatch(3) }, branch: "scale-up", author: "dev-alice" },
    { id: "shared-base", description: "monitoring chart bump (every cluster)", head: { "infrastructure/base/monitoring/release.yaml": helmRelease("monitoring", "4.2.0") }, branch: "monitoring-4.2", author: "platform-bob" },
    { id: "200-files", description: `${Object.keys(wide).length} files across tenants`, head: wide, branch: "bulk-config", author: "platform-bob" },
    { id: "image-update", description: `${middle} web 1.4.2 → 1.4.3`, head: { [`apps/${middle}/base/deployment.yaml`]: deployment(middle, "1.4.3") }, branch: "flux-image-updates", author: "fluxcdbot" },
    // Nothing to build: what judging any change costs before its builds (reading, parsing, planning, rules).
    { id: NO_OP_SHAPE, description: "README.md edited, nothing to build", head: { "README.md": "# fleet\n\nOwned by the platform team.\n" }, branch: "readme", author: "platform-bob" },
  ];
}
