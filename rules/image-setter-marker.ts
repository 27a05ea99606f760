import { isYamlPath } from "../src/core/fleet.js";
import { findImageMarkers, findImagePolicies } from "../src/core/image-markers.js";
import type { Rule, RuleContext, RuleFinding } from "../src/core/types.js";

const MARKER_KEY = "$imagepolicy";

/**
 * Changed YAML files, and, when the change removes or renames an ImagePolicy (a changed file held one on
 * the base side), every file with a marker: a deleted policy strands markers in files the change does not touch.
 */
function filesToScan(context: RuleContext): string[] {
  const changed = context.changedFiles.filter((file) => file.status !== "removed" && isYamlPath(file.path)).map((file) => file.path);
  const touchesPolicies = context.changedFiles.some((file) =>
    (context.base.file(file.previousPath ?? file.path)?.documents ?? []).some((doc) => doc.ref?.kind === "ImagePolicy"),
  );
  if (!touchesPolicies) return changed;
  const marked = context.head.yamlPaths().filter((path) => (context.head.readText(path) ?? "").includes(MARKER_KEY));
  return [...new Set([...changed, ...marked])];
}

export const imageSetterMarker: Rule = {
  meta: {
    id: "image-setter-marker",
    defaultSeverity: "error",
    summary: 'Image policy markers (`# {"$imagepolicy": "<namespace>:<name>"}`, `:tag`, `:name`, `:digest`) are well formed and name an ImagePolicy of the repository.',
    rationale:
      "Image automation silently skips a marker it cannot parse or whose policy does not exist: the image stops being updated, security patches included, and nothing tells anyone. fleet-warden's auto-merge also trusts only markers that name a real policy.",
  },
  check(context) {
    const findings: RuleFinding[] = [];
    for (const path of filesToScan(context)) {
      const source = context.head.file(path);
      if (!source) continue;
      const { markers, problems } = findImageMarkers(source.lines);
      const objectAt = (line: number) => {
        const ref = context.head.documentAt(path, line)?.ref;
        return ref ? { object: ref } : {};
      };
      for (const problem of problems) {
        findings.push({ path, line: problem.line, endLine: problem.line, message: `Image automation ignores this marker: ${problem.message}.`, ...objectAt(problem.line) });
      }
      for (const marker of markers) {
        if (findImagePolicies(context.head, marker.policy).length > 0) continue;
        const policy = `${marker.policy.namespace}:${marker.policy.name}`;
        findings.push({
          path,
          line: marker.line,
          endLine: marker.line,
          message: `The image policy marker names ImagePolicy ${policy}, which this repository does not define: image automation never updates this value.`,
          ...objectAt(marker.line),
        });
      }
    }
    return findings;
  },
};
