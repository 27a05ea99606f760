import { describeRef } from "../src/core/fleet.js";
import { valueAt } from "../src/core/values.js";
import { isFluxKustomization } from "../src/core/flux.js";
import type { Rule, RuleFinding } from "../src/core/types.js";
import type { YamlPath } from "../src/core/yaml.js";
import { changedFluxObjects, findingOnSpec, prepareFluxGraph, replaceSpecValueFix } from "./lib/flux-graph.js";

/** The pattern Flux's CRDs validate durations with (a Go duration restricted to ms, s, m and h). */
const FLUX_DURATION = /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const MINUTE = 60_000;

/** How often a Flux object may poll at most (paths inside spec): once a minute, and retry a failure at most twice a minute. */
const FLOORS: Array<{ path: YamlPath; floorMs: number; floor: string }> = [
  { path: ["interval"], floorMs: MINUTE, floor: "1m" },
  { path: ["chart", "spec", "interval"], floorMs: MINUTE, floor: "1m" },
  { path: ["retryInterval"], floorMs: MINUTE / 2, floor: "30s" },
];
const DURATION_PATHS: YamlPath[] = [...FLOORS.map((floor) => floor.path), ["timeout"]];

/** Milliseconds of a Flux duration such as `1h30m` or `90s`; undefined when Flux would reject it. */
export function parseFluxDuration(value: unknown): number | undefined {
  if (typeof value !== "string" || !FLUX_DURATION.test(value)) return undefined;
  let total = 0;
  for (const [, amount, , unit] of value.matchAll(/([0-9]+(\.[0-9]+)?)(ms|s|m|h)/g)) total += Number(amount) * UNIT_MS[unit!]!;
  return total;
}

export const fluxInterval: Rule = {
  meta: {
    id: "flux-interval",
    defaultSeverity: "warning",
    summary: "Flux intervals and timeouts are valid durations, no source or reconciler polls more than once a minute, and a Kustomization's timeout fits in its interval.",
    rationale:
      "Flux rejects a duration it cannot parse, so the object never reconciles. Sub-minute intervals multiply Git and registry requests (rate limits then stall every tenant's sources) and API-server load across the fleet; a timeout longer than the interval lets one stuck health check delay every later reconciliation.",
  },
  prepare: prepareFluxGraph,
  check(context) {
    const findings: RuleFinding[] = [];
    for (const object of changedFluxObjects(context)) {
      const name = describeRef(object.ref);
      for (const path of DURATION_PATHS) {
        const value = valueAt(object.spec, path);
        if (value === undefined) continue;
        const field = path.join(".");
        const milliseconds = parseFluxDuration(value);
        if (milliseconds === undefined) {
          findings.push(
            findingOnSpec(context, object, path, `${name}: ${field} ${JSON.stringify(value)} is not a duration Flux accepts (e.g. 30s, 10m, 1h30m); Flux rejects the object.`, {
              severity: "error",
            }),
          );
          continue;
        }
        const floor = FLOORS.find((candidate) => candidate.path.join(".") === field);
        if (floor && milliseconds < floor.floorMs) {
          const fix = replaceSpecValueFix(object, path, floor.floor, `Poll at most every ${floor.floor}`);
          findings.push(findingOnSpec(context, object, path, `${name}: ${field} ${String(value)} is below ${floor.floor}; use ${floor.floor} or more (a webhook Receiver gives faster updates).`, fix ? { fix } : {}));
        }
      }
      const interval = parseFluxDuration(object.spec.interval);
      const timeout = parseFluxDuration(object.spec.timeout);
      if (isFluxKustomization(object.ref) && interval !== undefined && timeout !== undefined && timeout > interval) {
        findings.push(
          findingOnSpec(
            context,
            object,
            ["timeout"],
            `${name}: timeout ${String(object.spec.timeout)} is longer than interval ${String(object.spec.interval)}; keep the timeout within the interval (Flux's default timeout is the interval).`,
          ),
        );
      }
    }
    return findings;
  },
};
