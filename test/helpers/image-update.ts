// An image-update pull request for the auto-merge tests: a tag bump under an image-policy marker, and the other
// apps' checks around it.
import type { CheckRunState, FakeGitHub } from "./github.js";
import { semverImagePolicy } from "./manifests.js";

const policies = `apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: web
  namespace: flux-system
spec:
  image: ghcr.io/acme/web
  interval: 5m
---
${semverImagePolicy("web", "1.x")}`;

const kustomization = (tag: string) => `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - configmap.yaml
images:
  - name: ghcr.io/acme/web
    newName: ghcr.io/acme/web # {"$imagepolicy": "flux-system:web:name"}
    newTag: ${tag} # {"$imagepolicy": "flux-system:web:tag"}
`;

export const configMap = (level: string) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: web-settings
  namespace: apps
data:
  level: ${level}
`;

export const base = {
  "clusters/production/image-automation.yaml": policies,
  "apps/web/kustomization.yaml": kustomization("1.4.2"),
  "apps/web/configmap.yaml": configMap("info"),
};
export const bump = { "apps/web/kustomization.yaml": kustomization("1.4.3") };

export const imageUpdate = { author: "fluxcdbot", headBranch: "flux-image-updates" };

/** GitHub Actions' app. */
export const ACTIONS_APP = { id: 15368, slug: "github-actions" };

/** Another app's check run on the head (e.g. GitHub Actions CI). */
export function otherCheck(fake: FakeGitHub, status: "in_progress" | "completed", conclusion: string | null = null): CheckRunState {
  const run: CheckRunState = {
    id: 77,
    head_sha: fake.headSha,
    name: "ci/build",
    status,
    conclusion,
    output: {},
    annotations: [],
    app: ACTIONS_APP,
  };
  fake.checkRuns.push(run);
  return run;
}

export function checkSuiteCompleted(fake: FakeGitHub): Record<string, any> {
  const payload = fake.payload("check_suite", "completed");
  payload.check_suite = { ...payload.check_suite, head_sha: fake.headSha, app: { id: ACTIONS_APP.id }, pull_requests: [{ number: fake.number, head: { sha: fake.headSha, ref: "flux-image-updates" } }] };
  return payload;
}

export const mergeCalls = (fake: FakeGitHub) => fake.calls.filter((call) => call.method === "PUT" && call.path.endsWith("/merge"));
export const ourRun = (fake: FakeGitHub, sha = fake.headSha) => fake.runsFor(sha).find((run) => run.app.slug === "fleet-warden")!;

/** The calls of a recheck that merges: only the gate is looked at again (no evaluation, no second check run). */
export const mergingRecheckCalls = (fake: FakeGitHub) => [
  `GET /repos/${fake.owner}/${fake.repo}/pulls/${fake.number}`,
  `GET /repos/${fake.owner}/${fake.repo}/commits/${fake.headSha}/check-runs`,
  `GET /repos/${fake.owner}/${fake.repo}/commits/${fake.headSha}/status`,
  `GET /repos/${fake.owner}/${fake.repo}/commits/${fake.headSha}/check-suites`,
  `PUT /repos/${fake.owner}/${fake.repo}/pulls/${fake.number}/merge`,
  `PATCH /repos/${fake.owner}/${fake.repo}/check-runs/${ourRun(fake).id}`,
];
