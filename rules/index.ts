// The rule catalogue. One module per rule; ids are stable (see docs/rules/<id>.md).
import type { Rule } from "../src/core/types.js";
import { tenantOwnership } from "./tenant-ownership.js";
import { yamlSyntax } from "./yaml-syntax.js";

export const rules: readonly Rule[] = [
  yamlSyntax,
  tenantOwnership,
  // (rules are added here, one import and one entry per rule)
];

export function ruleById(id: string): Rule | undefined {
  return rules.find((rule) => rule.meta.id === id);
}
