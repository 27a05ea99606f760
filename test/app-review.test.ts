// One review per evaluation, with ```suggestion comments on diff lines; re-runs edit instead of piling up.
import { afterEach, describe, expect, it } from "vitest";
import { BOT_LOGIN, FakeGitHub, testApp } from "./helpers/github.js";

const config = `tenants:
  - name: dev-team
    paths: ["apps/dev-team/**"]
    namespaces: [apps]
    serviceAccount: dev-team
`;

const deployment = (securityLines: string, podLines = "") => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: apps
spec:
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:${podLines}
      containers:
        - name: web
          image: ghcr.io/acme/web:1.2.3
          resources:
            requests:
              cpu: 10m
              memory: 32Mi
            limits:
              memory: 64Mi
          securityContext:
${securityLines}
`;

const safe = "            allowPrivilegeEscalation: false\n            privileged: false";
const privileged = "            allowPrivilegeEscalation: false\n            privileged: true";

let github: FakeGitHub | undefined;
afterEach(() => github?.done());

describe("review with suggestions", () => {
  it("posts one review whose suggestions sit on diff lines, and annotates the rest", async () => {
    github = new FakeGitHub({
      base: { ".github/fleet-warden.yml": config, "apps/dev-team/web.yaml": deployment(safe) },
      head: { "apps/dev-team/web.yaml": deployment(privileged, "\n      hostNetwork: true") },
    });
    const app = testApp();
    await app.deliver("pull_request", github.payload("pull_request", "opened"));

    const [run] = github.runsFor();
    expect(run!.conclusion).toBe("failure");
    const rules = run!.annotations.map((annotation) => annotation.title.split(":")[0]).sort();
    expect(rules).toEqual(["pod-host-namespaces", "pod-privileged"]);

    expect(github.reviewsPosted).toHaveLength(1);
    const [review] = github.reviewsPosted;
    expect(review.event).toBe("COMMENT");
    expect(review.commit_id).toBe(github.headSha);
    const byLine = Object.fromEntries(review.comments.map((comment: { line: number; body: string }) => [comment.line, comment.body]));
    expect(Object.keys(byLine).map(Number).sort((a, b) => a - b)).toEqual([15, 27]);
    expect(byLine[15]).toContain("````suggestion\n      hostNetwork: false\n````");
    expect(byLine[27]).toContain("````suggestion\n            privileged: false\n````");
    for (const comment of review.comments) expect(comment.side).toBe("RIGHT");
  });

  it("a re-run edits its own comments, removes the stale ones and never touches anybody else's", async () => {
    github = new FakeGitHub({
      base: { ".github/fleet-warden.yml": config, "apps/dev-team/web.yaml": deployment(safe) },
      head: { "apps/dev-team/web.yaml": deployment(privileged, "\n      hostNetwork: true") },
      comments: [{ path: "apps/dev-team/web.yaml", line: 27, body: "Why privileged? <!-- fleet-warden:deadbeefdeadbeef -->", user: { login: "dev-bob", type: "User" } }],
    });
    const app = testApp();
    await app.deliver("pull_request", github.payload("pull_request", "opened"));
    expect(github.comments.filter((comment) => comment.user.login === BOT_LOGIN)).toHaveLength(2);

    // Same findings again: nothing new is posted.
    await app.deliver("pull_request", github.payload("pull_request", "synchronize"));
    expect(github.reviewsPosted).toHaveLength(1);
    expect(github.comments.filter((comment) => comment.user.login === BOT_LOGIN)).toHaveLength(2);

    // The author fixes hostNetwork: that suggestion goes away; the privileged one stays, once.
    github.push({ "apps/dev-team/web.yaml": deployment(privileged) });
    await app.deliver("pull_request", github.payload("pull_request", "synchronize"));
    const ours = github.comments.filter((comment) => comment.user.login === BOT_LOGIN);
    expect(ours).toHaveLength(1);
    expect(ours[0]!.body).toContain("privileged: false");
    expect(github.calls.filter((call) => call.method === "DELETE")).toHaveLength(1);
    expect(github.comments.find((comment) => comment.user.login === "dev-bob")?.body).toBe("Why privileged? <!-- fleet-warden:deadbeefdeadbeef -->");
    expect(github.reviewsPosted).toHaveLength(1);
  });
});
