import type { Rule, RuleFinding } from "../src/core/types.js";
import { valueAt } from "../src/core/values.js";
import { describeContainer, findingAt, placeOf, setScalarFix, workloadsToCheck } from "./lib/workloads.js";

export const podPrivileged: Rule = {
  meta: {
    id: "pod-privileged",
    defaultSeverity: "error",
    summary: "No container runs privileged.",
    rationale:
      "A privileged container gets every capability and the host's devices: escaping to the node, and from there to every tenant's pods and secrets on it, is one command away.",
  },
  check(context) {
    const findings: RuleFinding[] = [];
    for (const workload of workloadsToCheck(context)) {
      for (const container of workload.pod.containers) {
        if (valueAt(container.value, ["securityContext", "privileged"]) !== true) continue;
        const place = placeOf(context, workload, container, ["securityContext", "privileged"], true);
        const fix = setScalarFix(place, "privileged", "false", `Run container "${container.name}" unprivileged`);
        findings.push(
          findingAt(place, `${describeContainer(workload, container)} runs privileged (securityContext.privileged: true): it can take over the node.`, fix),
        );
      }
    }
    return findings;
  },
};
