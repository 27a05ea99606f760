import type { Rule, RuleFinding } from "../src/core/types.js";
import { findingAt, placeOf, setScalarFix, workloadsToCheck } from "./lib/workloads.js";

/** What sharing each host namespace gives the pod. */
const HOST_NAMESPACES = {
  hostNetwork: "the node's network stack (its interfaces, localhost services and every pod's traffic)",
  hostPID: "the node's process table (it can see and signal every process on the node)",
  hostIPC: "the node's IPC namespace (shared memory of every process on the node)",
} as const;

export const podHostNamespaces: Rule = {
  meta: {
    id: "pod-host-namespaces",
    defaultSeverity: "error",
    summary: "Pods do not share the node's network, process or IPC namespace (hostNetwork, hostPID, hostIPC).",
    rationale:
      "A pod in the host's namespaces sidesteps network policies, sees other tenants' traffic and processes, and reaches services bound to the node's localhost, such as the kubelet.",
  },
  check(context) {
    const findings: RuleFinding[] = [];
    for (const workload of workloadsToCheck(context)) {
      for (const [field, exposure] of Object.entries(HOST_NAMESPACES)) {
        if (workload.pod.value[field] !== true) continue;
        const place = placeOf(context, workload, undefined, [field], true);
        const fix = setScalarFix(place, field, "false", `Keep ${workload.label} out of the host's namespace`);
        findings.push(
          findingAt(place, `${workload.label} sets ${field}: true: its pods share ${exposure}.`, fix),
        );
      }
    }
    return findings;
  },
};
