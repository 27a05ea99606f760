import { isYamlPath } from "../src/core/fleet.js";
import { findImageMarkers, findImagePolicies } from "../src/core/image-markers.js";
import type { Rule, RuleFinding } from "../src/core/types.js";

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
    for (const file of context.changedFiles) {
      if (file.status === "removed" || !isYamlPath(file.path)) continue;
      const source = context.head.file(file.path);
      if (!source) continue;
      const { markers, problems } = findImageMarkers(source.lines);
      const objectAt = (line: number) => {
        const ref = context.head.documentAt(file.path, line)?.ref;
        return ref ? { object: ref } : {};
      };
      for (const problem of problems) {
        findings.push({ path: file.path, line: problem.line, endLine: problem.line, message: `Image automation ignores this marker: ${problem.message}.`, ...objectAt(problem.line) });
      }
      for (const marker of markers) {
        if (findImagePolicies(context.head, marker.policy).length > 0) continue;
        const policy = `${marker.policy.namespace}:${marker.policy.name}`;
        findings.push({
          path: file.path,
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
