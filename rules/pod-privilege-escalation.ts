import type { Fix, Rule, RuleFinding } from "../src/core/types.js";
import { valueAt } from "../src/core/values.js";
import { indentOf } from "./lib/objects.js";
import { addsSysAdmin, findingAt, addToContainerFix, asMapping, isWindowsPod, describeContainer, indentStep, keyColumn, lineAt, placeOf, setScalarFix, workloadsToCheck, type Place } from "./lib/workloads.js";

const SETTING = "allowPrivilegeEscalation: false";
const WHY = "lets its processes gain more privileges than they started with (setuid binaries, file capabilities)";

export const podPrivilegeEscalation: Rule = {
  meta: {
    id: "pod-privilege-escalation",
    defaultSeverity: "error",
    summary: "Every container sets securityContext.allowPrivilegeEscalation: false.",
    rationale:
      "Unless it is false, Kubernetes does not set no_new_privs on the container's processes: a compromised process can climb to root through a setuid binary or file capabilities, the first step of most container escapes.",
  },
  check(context) {
    const findings: RuleFinding[] = [];
    for (const workload of workloadsToCheck(context)) {
      if (isWindowsPod(workload)) continue;
      for (const container of workload.pod.containers) {
        const securityContext = asMapping(container.value.securityContext);
        const setting = securityContext?.allowPrivilegeEscalation;
        // A privileged container always escalates, and the API rejects `false` next to it: pod-privileged reports it.
        if (setting === false || securityContext?.privileged === true) continue;
        // Next to CAP_SYS_ADMIN the API rejects `false` too: report, but offer no fix.
        const fixable = !addsSysAdmin(container);
        const description = `Set ${SETTING} on container "${container.name}"`;
        let place: Place;
        let fix: Fix | undefined;
        let message: string;
        if (setting === true) {
          place = placeOf(context, workload, container, ["securityContext", "allowPrivilegeEscalation"], true);
          fix = setScalarFix(place, "allowPrivilegeEscalation", "false", description);
          message = `${describeContainer(workload, container)} sets allowPrivilegeEscalation: true, which ${WHY}.`;
        } else {
          // A kustomize patch only holds what it changes: the field may well be set in the base.
          if (workload.isPatch) continue;
          const declared = securityContext ? placeOf(context, workload, container, ["securityContext"]) : undefined;
          if (declared?.exact) {
            place = declared;
            fix = addToSecurityContextFix(place, description);
          } else {
            place = placeOf(context, workload, container, []);
            // A securityContext that no document declares comes from a JSON6902 or inline patch: adding one here could clash with it.
            fix = securityContext ? undefined : addToContainerFix(place, ["securityContext:", `  ${SETTING}`], description);
          }
          message = `${describeContainer(workload, container)} does not set ${SETTING}; unset, Kubernetes ${WHY}.`;
        }
        findings.push(
          findingAt(place, message, fixable ? fix : undefined),
        );
      }
    }
    return findings;
  },
};

/** Adds the setting to an existing `securityContext:` (block, flow or empty), as its first key. */
function addToSecurityContextFix(place: Place, description: string): Fix | undefined {
  const doc = place.target.doc;
  const line = lineAt(place);
  if (!doc || line === undefined) return undefined;
  const text = doc.file.lines[line - 1]!;
  const value = asMapping(valueAt(doc.value, place.path));
  let replacement: string | undefined;
  // A flow mapping, on one line or several: the setting goes first, after its brace.
  if (/securityContext\s*:\s*\{/.test(text)) {
    const empty = value !== undefined && Object.keys(value).length === 0;
    replacement = text.replace(/(securityContext\s*:\s*\{)\s*/, empty ? `$1${SETTING}` : `$1${SETTING}, `);
  } else if (value && Object.keys(value).length > 0) {
    const firstLine = doc.keyLine([...place.path, Object.keys(value)[0]!]);
    if (firstLine !== undefined && firstLine > line) replacement = `${text}\n${indentOf(doc, firstLine)}${SETTING}`;
  } else if (/securityContext\s*:\s*(#.*)?$/.test(text)) {
    const column = keyColumn(text, "securityContext");
    if (column !== undefined) replacement = `${text}\n${" ".repeat(column + indentStep(doc))}${SETTING}`;
  }
  return replacement === undefined ? undefined : { line, endLine: line, replacement, description };
}
