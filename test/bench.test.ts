// The benchmark's own parts at a tiny size: the synthetic fleet is clean, the shapes change what they say,
// and the App path against the local GitHub stand-in makes the calls DESIGN.md budgets.
import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { appHarness, createFleetRepository, evaluateLocally, parseOptions } from "../bench/bench.js";
import { generateFleet, pullRequestShapes } from "../bench/fleet.js";

const size = { clusters: 2, tenants: 2 };
const shapes = pullRequestShapes(size);
const repo = createFleetRepository(size, shapes);
afterAll(() => rmSync(repo.dir, { recursive: true, force: true }));

describe("the benchmark", () => {
  it("reads its flags and refuses bad ones", () => {
    expect(parseOptions([])).toEqual({ clusters: 3, tenants: 80, runs: 3, secondTenants: 20 });
    expect(parseOptions(["--tenants", "10", "--runs", "1", "--second-tenants", "0"])).toEqual({ clusters: 3, tenants: 10, runs: 1, secondTenants: 0 });
    expect(() => parseOptions(["--tenants", "0"])).toThrow(/usage: bench/);
    expect(() => parseOptions(["--fast"])).toThrow(/usage: bench/);
  });

  it("generates clusters × tenants with a base and one overlay per cluster", () => {
    const paths = Object.keys(generateFleet({ clusters: 3, tenants: 80 }));
    expect(paths.length).toBeGreaterThan(2500);
    expect(paths.filter((path) => /^apps\/team-\d{3}\/base\/kustomization\.yaml$/.test(path))).toHaveLength(80);
    expect(paths.filter((path) => /^apps\/team-\d{3}\/[a-z]+\/kustomization\.yaml$/.test(path) && !path.includes("/base/"))).toHaveLength(240);
    expect(shapes.map((shape) => [shape.id, Object.keys(shape.head).length])).toEqual([
      ["one-tenant-overlay", 1],
      ["shared-base", 1],
      ["200-files", 20],
      ["image-update", 1],
      ["no-op", 1],
    ]);
  });

  it("evaluates a one-tenant change on the clean fleet: one build per side, no findings", async () => {
    const { verdict } = await evaluateLocally(repo.dir, shapes[0]!);
    expect(verdict.problems).toEqual([]);
    expect(verdict.findings).toEqual([]);
    expect(verdict.conclusion).toBe("success");
    expect(verdict.stats.builds).toBe(2);
    expect(verdict.stats.kustomizeRuns).toBe(2);
    expect(verdict.renderedDiff.flatMap((diff) => diff.changes.map((change) => `${change.change} ${change.ref.kind} ${change.ref.name}`))).toEqual(["modified Deployment web"]);
  });

  it("counts the App's GitHub calls against the local stand-in", async () => {
    const app = await appHarness(repo);
    try {
      const result = await app.evaluate(shapes[0]!, 7);
      expect(result.conclusion).toBe("success");
      expect(app.standIn.unmatched).toEqual([]);
      expect([...app.standIn.requests].sort()).toEqual(
        [
          "POST /app/installations/42/access_tokens",
          "GET /repos/acme/fleet/pulls/7",
          `GET /repos/acme/fleet/commits/${repo.sha(shapes[0]!.branch)}/check-runs`,
          "POST /repos/acme/fleet/check-runs",
          `GET /repos/acme/fleet/compare/${repo.sha("main")}...${repo.sha(shapes[0]!.branch)}`,
          "GET /repos/acme/fleet/pulls/7/files",
          "GET /repos/acme/fleet/pulls/7/reviews",
          `GET /repos/acme/fleet/tarball/${repo.sha("main")}`,
          `GET /repos/acme/fleet/tarball/${repo.sha(shapes[0]!.branch)}`,
          "GET /repos/acme/fleet/pulls/7",
          "PATCH /repos/acme/fleet/check-runs/1",
          "GET /repos/acme/fleet/pulls/7/comments",
        ].sort(),
      );
      // The token is not counted: it is fetched once an hour, not per evaluation.
      expect(result.calls).toBe(11);
      expect(result.writes).toBe(2);
      // Again with the snapshots cached: no tarball; and cold again: both.
      expect(await app.evaluate(shapes[0]!, 7, true)).toMatchObject({ calls: 9, conclusion: "success" });
      expect(await app.evaluate(shapes[0]!, 7)).toMatchObject({ calls: 11, conclusion: "success" });
    } finally {
      await app.stop();
    }
  });

  it("merges the image update through the stand-in: every route the auto-merge gate asks for is there", async () => {
    const app = await appHarness(repo);
    try {
      const update = shapes.find((shape) => shape.id === "image-update")!;
      expect(await app.evaluate(update, 8)).toMatchObject({ conclusion: "success", writes: 4 });
      expect(app.standIn.unmatched).toEqual([]);
      expect(app.standIn.requests).toContain("PUT /repos/acme/fleet/pulls/8/merge");
    } finally {
      await app.stop();
    }
  });
});
