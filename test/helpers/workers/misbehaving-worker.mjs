// A stand-in for src/app/evaluation-worker.ts that misbehaves as MISBEHAVE says once the facts arrive, to test
// what isolation.ts does about it. JavaScript, not TypeScript: worker threads run what Node runs.
// "spin": asks for a kustomize run in a folder of its own, then never yields. "swell": allocates until the heap
// limit. "throw": fails. "escape": asks for a kustomize run outside its folder, and fails with the answer.
// Without MISBEHAVE, the facts' author says what to do: "count" answers how many evaluations this worker has
// had, "fail" fails.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { parentPort } from "node:worker_threads";

let evaluations = 0;

parentPort.on("message", (message) => {
  if (message.kind === "answer") parentPort.postMessage({ kind: "failed", name: "Answer", message: JSON.stringify(message.value) });
  if (message.kind !== "input") return;
  process.env.TMPDIR = message.temporary;
  evaluations++;
  if (message.input.facts.author === "count") parentPort.postMessage({ kind: "verdict", verdict: { evaluations } });
  if (message.input.facts.author === "fail") parentPort.postMessage({ kind: "failed", name: "Error", message: "failed" });
  const behaviour = process.env.MISBEHAVE;
  if (behaviour === "throw") throw new TypeError("Cannot read properties of undefined (reading 'spec')");
  if (behaviour === "swell") {
    const kept = [];
    for (;;) kept.push(new Array(100_000).fill(kept.length));
  }
  if (behaviour === "escape") parentPort.postMessage({ kind: "kustomize", id: 1, folder: "/", limits: { timeoutMs: 600_000, maxOutputBytes: 1024 } });
  if (behaviour === "spin") {
    const folder = mkdtempSync(join(tmpdir(), "build-"));
    parentPort.postMessage({ kind: "kustomize", id: 1, folder, limits: { timeoutMs: 600_000, maxOutputBytes: 1024 } });
    for (;;);
  }
});
