import { isYamlPath } from "../src/core/fleet.js";
import type { Rule } from "../src/core/types.js";

export const yamlSyntax: Rule = {
  meta: {
    id: "yaml-syntax",
    defaultSeverity: "error",
    summary: "Every changed YAML file parses, within fleet-warden's safety limits.",
    rationale:
      "Flux stops reconciling a whole Kustomization on one unparseable file, and a file built to exhaust a parser (alias bombs, extreme nesting, huge files) must never reach the cluster's controllers.",
  },
  check(context) {
    return context.changedFiles
      .filter((file) => file.status !== "removed" && isYamlPath(file.path))
      .flatMap((file) => {
        const error = context.head.file(file.path)?.error;
        return error ? [{ path: file.path, line: error.line, endLine: error.line, message: `Invalid YAML: ${error.message}` }] : [];
      });
  },
};
