import { describeRef } from "../src/core/fleet.js";
import { validateObject } from "../src/core/build/schema.js";
import type { Rule, RuleFinding } from "../src/core/types.js";
import { findingOn, objectsToCheck } from "./lib/objects.js";

export const schema: Rule = {
  meta: {
    id: "schema",
    defaultSeverity: "error",
    summary: "Rendered objects are valid against the Kubernetes and Flux CRD schemas; unknown fields are errors.",
    rationale:
      "The API server rejects an invalid object and Flux then fails the whole Kustomization; a misspelt field (imagePullPolicy under the wrong key, a typo in a Flux spec) is silently dropped by a lenient apply and the setting never takes effect.",
  },
  check(context) {
    const findings: RuleFinding[] = [];
    for (const target of objectsToCheck(context)) {
      // Source documents may be patches: only whole rendered objects are judged. A SOPS-encrypted object is
      // judged after Flux decrypts it, which fleet-warden cannot do.
      if (!target.build || target.object.sops !== undefined) continue;
      for (const violation of validateObject(target.object) ?? []) {
        findings.push(findingOn(target, violation.path, `${describeRef(target.ref)}: ${violation.message}.`));
      }
    }
    return findings;
  },
};
