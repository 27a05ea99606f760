import semver from "semver";
import { valueAt } from "../src/core/values.js";
import { describeRef } from "../src/core/fleet.js";
import type { Rule, RuleFinding } from "../src/core/types.js";
import { changedFluxObjects, findingOnSpec, prepareFluxGraph, replaceSpecValueFix } from "./lib/flux-graph.js";

/** Inside spec. */
const RANGE_PATH = ["policy", "semver", "range"];
/** A lone lower bound such as `>=1.2.0` or `>1`: the one shape a fix can bound without changing its meaning. */
const LOWER_BOUND_ONLY = /^>=?\s*v?\d+(\.\d+){0,2}$/;

export const imagePolicyMajor: Rule = {
  meta: {
    id: "image-policy-major",
    defaultSeverity: "error",
    summary: "ImagePolicy semver ranges stay below the next major version (`1.x`, `^1.2`, `>=1.0.0 <2.0.0`).",
    rationale:
      "A major version announces breaking changes. An unbounded range lets image automation roll one out to every cluster as soon as it is tagged, with no one deciding to: an open door for a hijacked or careless upstream release.",
  },
  prepare: prepareFluxGraph,
  check(context) {
    const findings: RuleFinding[] = [];
    for (const policy of changedFluxObjects(context)) {
      if (policy.ref.kind !== "ImagePolicy" || !policy.ref.apiVersion.startsWith("image.toolkit.fluxcd.io/")) continue;
      const range = valueAt(policy.spec, RANGE_PATH);
      if (range === undefined) continue;
      const name = describeRef(policy.ref);
      // node-semver reads an empty range as "*"; Flux's semver library refuses it.
      const valid = typeof range === "string" && range.trim() !== "" ? semver.validRange(range) : null;
      const lowest = valid ? semver.minVersion(valid) : null;
      if (typeof range !== "string" || !valid || !lowest) {
        findings.push(findingOnSpec(context, policy, RANGE_PATH, `${name}: semver range ${JSON.stringify(range)} is not a valid range that any version satisfies; image automation never updates.`));
        continue;
      }
      const nextMajor = `${lowest.major + 1}.0.0`;
      if (!semver.intersects(valid, `>=${nextMajor}`)) continue;
      const bounded = `>=${lowest.version} <${nextMajor}`;
      const fix = LOWER_BOUND_ONLY.test(range.trim()) ? replaceSpecValueFix(policy, RANGE_PATH, `"${range.trim()} <${nextMajor}"`, `Stay below ${nextMajor}`) : undefined;
      findings.push(
        findingOnSpec(context, policy, RANGE_PATH, `${name}: semver range ${range} admits ${nextMajor} and later majors; bound it below the next major (e.g. "${bounded}" or "${lowest.major}.x").`, fix ? { fix } : {}),
      );
    }
    return findings;
  },
};
