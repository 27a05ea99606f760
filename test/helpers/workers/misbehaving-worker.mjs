// A stand-in for src/app/evaluation-worker.ts that misbehaves as MISBEHAVE says, to test what isolation.ts does
// about it. JavaScript, not TypeScript: worker threads run what Node runs. "spin": starts a kustomize-like
// process through the real engine (compiled), leaves a file in its temporary folder, writes both to
// EVIDENCE_FILE, then never yields. "swell": allocates until the heap limit. "throw": fails at once.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { setTimeout } from "node:timers";
import { parentPort } from "node:worker_threads";
import { observeKustomizeProcesses, runKustomize } from "../../../dist/src/core/build/engine.js";

const behaviour = process.env.MISBEHAVE;
if (behaviour === "throw") throw new TypeError("Cannot read properties of undefined (reading 'spec')");
if (behaviour === "swell") {
  const kept = [];
  for (;;) kept.push(new Array(100_000).fill(kept.length));
}
if (behaviour === "spin") {
  let started;
  observeKustomizeProcesses((pid, running) => {
    started = pid;
    parentPort.postMessage({ kind: "process", pid, running });
  });
  const folder = mkdtempSync(join(tmpdir(), "build-"));
  void runKustomize({ description: "sleep", command: "sleep", args: () => ["600"] }, folder);
  // Give the report of the process a moment to leave, then spin.
  setTimeout(() => {
    writeFileSync(process.env.EVIDENCE_FILE, JSON.stringify({ folder, pid: started }));
    for (;;);
  }, 200);
}
