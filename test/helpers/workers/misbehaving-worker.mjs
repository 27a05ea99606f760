// A stand-in for src/app/evaluation-worker.ts that misbehaves as MISBEHAVE says once the facts arrive, to test
// what isolation.ts does about it. JavaScript, not TypeScript: worker threads run what Node runs.
// "spin": asks for a kustomize run in a folder of its own, then never yields. "swell": allocates until the heap
// limit. "throw": fails. "escape", "escape-sandbox", "escape-folder": asks for a kustomize run of the root, of a
// sandbox that is the evaluation's folder itself, of a folder outside its sandbox, and fails with the answer.
// Without MISBEHAVE, the facts' author says what to do: "count" answers how many evaluations this worker has
// had, "fail" fails, "die" answers and exits, "die-next" answers and then exits without a word once the next
// evaluation's facts arrive (a kept worker that died unseen), "linger" answers, and then, once the next evaluation
// started, asks for a kustomize run in that evaluation's folder as work left running by the first would.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { parentPort } from "node:worker_threads";

let evaluations = 0;
let current;
let lingering;
let dieOnNext = false;

parentPort.on("message", (message) => {
  if (message.kind === "answer") parentPort.postMessage({ kind: "failed", evaluation: current, name: "Answer", message: JSON.stringify(message.value) });
  if (message.kind !== "input") return;
  if (dieOnNext) process.exit(0);
  current = message.evaluation;
  process.env.TMPDIR = message.temporary;
  // Work of an earlier evaluation asks for a build in this one's folder, where its sandbox now goes.
  if (lingering !== undefined) {
    const sandbox = mkdtempSync(join(tmpdir(), "late-"));
    parentPort.postMessage({ kind: "kustomize", evaluation: lingering, id: 99, build: { sandbox, folder: sandbox }, limits: { timeoutMs: 1000, maxOutputBytes: 1024 } });
    lingering = undefined;
  }
  const reply = (body) => parentPort.postMessage({ ...body, evaluation: message.evaluation });
  evaluations++;
  if (message.input.facts.author === "count") reply({ kind: "verdict", verdict: { evaluations } });
  if (message.input.facts.author === "fail") reply({ kind: "failed", name: "Error", message: "failed" });
  if (message.input.facts.author === "die") {
    reply({ kind: "verdict", verdict: { evaluations } });
    process.exit(0);
  }
  if (message.input.facts.author === "die-next") {
    reply({ kind: "verdict", verdict: { evaluations } });
    dieOnNext = true;
  }
  if (message.input.facts.author === "linger") {
    reply({ kind: "verdict", verdict: { evaluations } });
    lingering = message.evaluation;
  }
  const behaviour = process.env.MISBEHAVE;
  if (behaviour === "throw") throw new TypeError("Cannot read properties of undefined (reading 'spec')");
  if (behaviour === "swell") {
    const kept = [];
    for (;;) kept.push(new Array(100_000).fill(kept.length));
  }
  // Made only when asked for: the evaluation's folder may be gone once a verdict was given.
  const escapes = {
    escape: () => ({ sandbox: "/", folder: "/" }),
    "escape-sandbox": () => ({ sandbox: tmpdir(), folder: mkdtempSync(join(tmpdir(), "build-")) }),
    "escape-folder": () => ({ sandbox: mkdtempSync(join(tmpdir(), "build-")), folder: "/etc" }),
  };
  if (behaviour in escapes) reply({ kind: "kustomize", id: 1, build: escapes[behaviour](), limits: { timeoutMs: 600_000, maxOutputBytes: 1024 } });
  if (behaviour === "spin") {
    const sandbox = mkdtempSync(join(tmpdir(), "build-"));
    reply({ kind: "kustomize", id: 1, build: { sandbox, folder: sandbox }, limits: { timeoutMs: 600_000, maxOutputBytes: 1024 } });
    for (;;);
  }
});
