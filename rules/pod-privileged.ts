import type { Fix, Rule, RuleFinding } from "../src/core/types.js";
import { valueAt } from "../src/core/values.js";
import { addsSysAdmin, asMapping, describeContainer, findingAt, isWindowsPod, keyColumn, lineAt, placeOf, replaceScalarOnLine, workloadsToCheck, type Container, type Place, type Workload } from "./lib/workloads.js";

const NO_ESCALATION = "allowPrivilegeEscalation: false";

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
        findings.push(
          findingAt(place, `${describeContainer(workload, container)} runs privileged (securityContext.privileged: true): it can take over the node.`, unprivilegedFix(place, workload, container)),
        );
      }
    }
    return findings;
  },
};

/**
 * `privileged: false`, and `allowPrivilegeEscalation: false` in the same securityContext: set where that mapping
 * writes it, else added next to `privileged`. Turned off alone, privileged would leave the container escalating,
 * and pod-privilege-escalation would fail the push that applies this fix.
 */
function unprivilegedFix(place: Place, workload: Workload, container: Container): Fix | undefined {
  const doc = place.target.doc;
  const line = lineAt(place);
  const lines = doc?.file.lines ?? [];
  const text = line === undefined ? undefined : lines[line - 1];
  const unprivileged = text === undefined ? undefined : replaceScalarOnLine(text, "privileged", "false");
  if (!doc || line === undefined || text === undefined || unprivileged === undefined || unprivileged === text) return undefined;
  const plain: Fix = { line, endLine: line, replacement: unprivileged, description: `Run container "${container.name}" unprivileged` };
  const description = `Run container "${container.name}" unprivileged, with ${NO_ESCALATION}`;
  if (!mayDisableEscalation(workload, container)) return plain;

  if (place.line !== undefined) {
    // Inside an inline patch's text, which the document's paths do not reach: add the setting only where the patch names none.
    const patch = valueAt(doc.value, place.path);
    if (typeof patch !== "string" || patch.includes("allowPrivilegeEscalation")) return plain;
    const opener = lines.slice(0, line).findLastIndex((candidate) => /\bsecurityContext\s*:/.test(candidate));
    const added = opener === -1 ? undefined : withSettingAdded(text, unprivileged, lines[opener]!);
    return added === undefined ? plain : { line, endLine: line, replacement: added, description };
  }

  const securityContext = place.path.slice(0, -1);
  const settingPath = [...securityContext, "allowPrivilegeEscalation"];
  const settingLine = doc.keyLine(settingPath);
  if (settingLine === undefined) {
    const opener = doc.keyLine(securityContext);
    const added = opener === undefined ? undefined : withSettingAdded(text, unprivileged, lines[opener - 1]!);
    return added === undefined ? plain : { line, endLine: line, replacement: added, description };
  }
  // A suggestion spanning lines the pull request did not touch cannot be posted (GitHub takes them within the diff
  // only): beyond the next line, the setting is left to pod-privilege-escalation's own finding and fix.
  if (valueAt(doc.value, settingPath) === false || Math.abs(settingLine - line) > 1) return plain;
  // Both keys may sit on one line (a flow mapping): each edit applies to the line as the other left it.
  const first = Math.min(line, settingLine);
  const edited = lines.slice(first - 1, Math.max(line, settingLine));
  edited[line - first] = unprivileged;
  const disabled = replaceScalarOnLine(edited[settingLine - first]!, "allowPrivilegeEscalation", "false");
  if (disabled === undefined) return plain;
  edited[settingLine - first] = disabled;
  return { line: first, endLine: first + edited.length - 1, replacement: edited.join("\n"), description };
}

/**
 * The API rejects allowPrivilegeEscalation on Windows pods and `false` next to CAP_SYS_ADMIN (pod-privilege-escalation
 * skips or reports those without a fix); a rendered `false` needs no second writing.
 */
function mayDisableEscalation(workload: Workload, container: Container): boolean {
  return !isWindowsPod(workload) && asMapping(container.value.securityContext)?.allowPrivilegeEscalation !== false && !addsSysAdmin(container);
}

/**
 * The `privileged:` line, already set to false, with the setting added beside it: on a line of its own at the key's
 * column when `securityContext:` opens a block mapping, after the value when it opens a flow mapping (`{…}`, on one
 * line or several). Undefined for any other shape.
 */
function withSettingAdded(text: string, unprivileged: string, opener: string): string | undefined {
  const column = keyColumn(text, "privileged");
  if (/securityContext\s*:\s*(#.*)?$/.test(opener)) return column === undefined ? undefined : `${unprivileged}\n${" ".repeat(column)}${NO_ESCALATION}`;
  if (!/securityContext\s*:\s*\{/.test(opener)) return undefined;
  const flow = unprivileged.replace(/(\bprivileged\s*:\s*false)/, `$1, ${NO_ESCALATION}`);
  return flow === unprivileged ? undefined : flow;
}
