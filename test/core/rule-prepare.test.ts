// A rule's `prepare`: work done on both sides' models before its check, never a way to lose the check's findings.
import { describe, expect, it } from "vitest";
import type { FleetModel } from "../../src/core/fleet.js";
import type { Rule, RuleContext } from "../../src/core/types.js";
import { evaluateChange } from "../helpers/fleet.js";

const configMap = (value: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: ${value}\n`;

function recordingRule(prepare: (model: FleetModel) => void): { rule: Rule; checked: RuleContext[] } {
  const checked: RuleContext[] = [];
  const rule: Rule = {
    meta: { id: "probe", defaultSeverity: "error", summary: "probe", rationale: "probe" },
    prepare,
    check(context) {
      checked.push(context);
      const doc = context.changedDocuments[0];
      return doc ? [{ path: doc.path, line: doc.startLine, endLine: doc.endLine, message: `mode is ${String((doc.object?.data as Record<string, unknown>).mode)}` }] : [];
    },
  };
  return { rule, checked };
}

describe("a rule's prepare", () => {
  it("runs on the head and the base models before the checks that read them", async () => {
    const prepared: FleetModel[] = [];
    const { rule, checked } = recordingRule((model) => {
      expect(checked).toHaveLength(0);
      prepared.push(model);
    });
    const verdict = await evaluateChange({ "settings.yaml": configMap("slow") }, { "settings.yaml": configMap("fast") }, { rules: [rule] });
    expect(prepared).toHaveLength(2);
    expect(new Set(prepared)).toEqual(new Set(checked.map((context) => context.head)));
    expect(verdict.findings.map((finding) => finding.message)).toEqual(["mode is fast"]);
  });

  it("that throws leaves the check to run and report", async () => {
    const { rule } = recordingRule(() => {
      throw new Error("graph too large");
    });
    const verdict = await evaluateChange({ "settings.yaml": configMap("slow") }, { "settings.yaml": configMap("fast") }, { rules: [rule] });
    expect(verdict.problems).toEqual([]);
    expect(verdict.findings.map((finding) => finding.message)).toEqual(["mode is fast"]);
    expect(verdict.conclusion).toBe("failure");
  });
});
