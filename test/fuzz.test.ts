// Fuzzing the manifest parser: thousands of generated inputs (mutated real manifests, random bytes, deep
// structures, anchors and merge keys), from a seeded generator so that a failure replays. Nothing may throw
// past parseYamlSafely / parseSourceFile; every failure is an error with a line inside the file.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseSourceFile, splitLines } from "../src/core/fleet.js";
import { parseYamlSafely, type ParsedYaml } from "../src/core/yaml.js";

/** mulberry32: small, fast, and good enough to spread inputs; the same seed gives the same inputs. */
function prng(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return { int, pick: <T>(items: readonly T[]): T => items[int(items.length)]!, chance: (p: number) => next() < p };
}
type Random = ReturnType<typeof prng>;

function yamlFiles(root: string, limit: number): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      if (out.length >= limit || name === ".git" || name === "node_modules") continue;
      const path = join(dir, name);
      const stat = statSync(path);
      if (stat.isDirectory()) walk(path);
      else if (/\.ya?ml$/.test(name) && stat.size < 64 * 1024) out.push(readFileSync(path, "utf8"));
    }
  };
  walk(root);
  return out;
}

const corpus = [...yamlFiles(join(import.meta.dirname, "../fixtures"), 200), ...yamlFiles("/work/shared/corpus", 400)];

// Characters that mean something to YAML, and a few that break encodings and line counting.
const SPECIAL = ["&a ", "*a", "<<: ", "<<: *a", "[", "]", "{", "}", ": ", "- ", "? ", "!!map ", "!!binary ", "!foo ", "|", ">-", "'", '"', "#", "%YAML 1.1\n", "---\n", "...\n", "\t", "\r", "\r\n", "\u0000", "\ufeff", "\u2028", "\\", "__proto__: ", "constructor: ", "${var}", "@", "`"];

function mutate(text: string, random: Random): string {
  let out = text;
  const rounds = 1 + random.int(8);
  for (let round = 0; round < rounds; round++) {
    const at = random.int(out.length + 1);
    switch (random.int(8)) {
      case 0: // insert a YAML token
        out = out.slice(0, at) + random.pick(SPECIAL) + out.slice(at);
        break;
      case 1: // delete a span
        out = out.slice(0, at) + out.slice(at + random.int(40));
        break;
      case 2: // flip one character
        out = out.slice(0, at) + String.fromCharCode(random.int(128)) + out.slice(at + 1);
        break;
      case 3: {
        // duplicate or drop a line
        const lines = out.split("\n");
        const line = random.int(lines.length);
        if (random.chance(0.5)) lines.splice(line, 0, lines[line] ?? "");
        else lines.splice(line, 1);
        out = lines.join("\n");
        break;
      }
      case 4: {
        // shift a line's indentation
        const lines = out.split("\n");
        const line = random.int(lines.length);
        lines[line] = random.chance(0.5) ? ` ${" ".repeat(random.int(6))}${lines[line]}` : (lines[line] ?? "").replace(/^ {1,4}/, "");
        out = lines.join("\n");
        break;
      }
      case 5: // truncate
        out = out.slice(0, at);
        break;
      case 6: // splice in a piece of another manifest
        out = out.slice(0, at) + random.pick(corpus).slice(0, random.int(400)) + out.slice(at);
        break;
      default: // repeat a span (duplicate keys, repeated documents)
        out = out.slice(0, at) + out.slice(at, at + random.int(200)).repeat(1 + random.int(4)) + out.slice(at);
    }
  }
  return out;
}

function randomBytes(random: Random): string {
  const length = random.int(2000);
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = random.chance(0.7) ? 32 + random.int(95) : random.int(256);
  return random.chance(0.5) ? bytes.toString("utf8") : bytes.toString("latin1");
}

function deepStructure(random: Random): string {
  const depth = 1 + random.int(random.chance(0.2) ? 3000 : 120);
  const opener = random.pick(["[", "{a: ", "- ", "? ", "a:\n", "- a:\n"]);
  if (opener.endsWith("\n")) {
    // block nesting, one more indentation step per level
    return Array.from({ length: depth }, (_, i) => `${" ".repeat(i * (1 + random.int(2)))}${opener.trimEnd()}`).join("\n");
  }
  const closer = opener === "[" ? "]" : opener === "{a: " ? "}" : "";
  return opener.repeat(depth) + random.pick(["x", "", "*a", "&a x"]) + closer.repeat(random.chance(0.8) ? depth : random.int(depth));
}

function anchors(random: Random): string {
  const count = 1 + random.int(40);
  const lines = ["a0: &a0 [x, y]"];
  for (let i = 1; i < count; i++) {
    const refs = Array.from({ length: 1 + random.int(9) }, () => `*a${random.int(i)}`);
    const form = random.int(4);
    if (form === 0) lines.push(`a${i}: &a${i} [${refs.join(", ")}]`);
    else if (form === 1) lines.push(`a${i}: &a${i}\n  <<: ${refs[0]}\n  k: v`);
    else if (form === 2) lines.push(`a${i}: &a${i} {<<: [${refs.join(", ")}], __proto__: {p: ${i}}}`);
    else lines.push(`a${i}: ${refs[0]}`);
  }
  if (random.chance(0.2)) lines.push(`self: &self [*self]`);
  return lines.join("\n");
}

/** The parser's promise: documents, or one error on a line of the file; never an exception. */
function expectWellFormed(text: string, parsed: ParsedYaml) {
  const lines = Math.max(1, splitLines(text).length + 1);
  if (parsed.error) {
    expect(parsed.documents).toEqual([]);
    expect(typeof parsed.error.message).toBe("string");
    expect(parsed.error.message.length).toBeGreaterThan(0);
    expect(parsed.error.line).toBeGreaterThanOrEqual(1);
    expect(parsed.error.line).toBeLessThanOrEqual(lines);
  }
  for (const doc of parsed.documents) {
    expect(doc.startLine).toBeGreaterThanOrEqual(1);
    expect(doc.endLine).toBeGreaterThanOrEqual(doc.startLine);
    expect(doc.endLine).toBeLessThanOrEqual(lines);
  }
}

function check(text: string, label: string) {
  let parsed: ParsedYaml;
  try {
    parsed = parseYamlSafely(text, "fuzz.yaml");
    expectWellFormed(text, parsed);
    const file = parseSourceFile("fuzz.yaml", text);
    expect(file.error).toEqual(parsed.error);
    for (const doc of file.documents) {
      // Line lookups on whatever paths the value has, and on paths it does not have.
      const keys = doc.value !== null && typeof doc.value === "object" ? Object.keys(doc.value).slice(0, 5) : [];
      for (const key of [...keys, "metadata", "__proto__"]) {
        doc.keyLine([key]);
        doc.valueLine([key, 0]);
        doc.valueEndLine([key, "name"]);
      }
    }
  } catch (error) {
    throw new Error(`${label} failed on input ${JSON.stringify(text.slice(0, 300))}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

describe("the manifest parser under fuzzing", () => {
  it("has real manifests to mutate", () => {
    expect(corpus.length).toBeGreaterThan(100);
    // A few fixtures are broken on purpose (the sample pull request, the hostile inputs); the rest parse.
    const parsing = corpus.filter((text) => parseYamlSafely(text, "real.yaml").error === undefined);
    expect(parsing.length).toBeGreaterThan(corpus.length * 0.9);
  });

  it("never throws on mutated real manifests (1,500 inputs)", () => {
    const random = prng(7);
    for (let i = 0; i < 1500; i++) check(mutate(random.pick(corpus), random), `mutation ${i}`);
  });

  it("never throws on random bytes (600 inputs)", () => {
    const random = prng(11);
    for (let i = 0; i < 600; i++) check(randomBytes(random), `random bytes ${i}`);
  });

  it("never throws on deep structures, and refuses the deep ones (400 inputs)", () => {
    const random = prng(13);
    let refused = 0;
    for (let i = 0; i < 400; i++) {
      const text = deepStructure(random);
      check(text, `deep structure ${i}`);
      if (parseYamlSafely(text, "deep.yaml").error?.message.startsWith("nesting deeper than")) refused++;
    }
    expect(refused).toBeGreaterThan(100);
  });

  it("never throws on anchors, aliases and merge keys, and leaves Object.prototype alone (400 inputs)", () => {
    const random = prng(17);
    for (let i = 0; i < 400; i++) check(anchors(random), `anchors ${i}`);
    expect(Object.keys(Object.prototype)).toEqual([]);
    expect(({} as Record<string, unknown>).p).toBeUndefined();
  });
});
