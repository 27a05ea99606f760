import { describe, expect, it } from "vitest";
import { ContainedWords } from "../../src/core/build/contained-words.js";

/** What ContainedWords answers, asked of each word in turn (the choice render.ts made before the index). */
const naiveLongest = (words: Array<string | undefined>, text: string) => {
  const hits = words.map((word, index) => ({ word, index })).filter(({ word }) => word !== undefined && text.includes(word));
  return hits.sort((a, b) => b.word!.length - a.word!.length)[0]?.index;
};
const naiveFirst = (words: Array<string | undefined>, text: string) => {
  const index = words.findIndex((word) => word !== undefined && text.includes(word));
  return index === -1 ? undefined : index;
};

/** A deterministic generator (mulberry32): the same cases on every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("contained words", () => {
  it("finds the longest word inside a text, the first listed among equals", () => {
    const words = ["app", "x-a", "a-b", "app-extra", undefined, "app"];
    const index = new ContainedWords(words);
    expect(index.longestIn("x-app-extra-long")).toBe(3);
    expect(index.longestIn("x-a-b")).toBe(1);
    expect(index.longestIn("x-app")).toBe(0);
    expect(index.longestIn("zzz")).toBeUndefined();
    expect(index.longestIn("")).toBeUndefined();
  });

  it("finds the first listed word inside a text, an empty word being inside every text", () => {
    expect(new ContainedWords(["other", "cfg-extra", "cfg"]).firstIn("x-cfg-extra-5h7g")).toBe(1);
    expect(new ContainedWords(["other", "cfg", "cfg-extra"]).firstIn("x-cfg-extra-5h7g")).toBe(1);
    expect(new ContainedWords([undefined, "token", ""]).firstIn("x-cfg")).toBe(2);
    expect(new ContainedWords(["", "x"]).firstIn("")).toBe(0);
    expect(new ContainedWords(["a", "b"]).firstIn("ccc")).toBeUndefined();
  });

  it("matches UTF-16 code units as String.includes does", () => {
    const index = new ContainedWords(["\u{1F600}", "\uDE00", "é"]);
    expect(index.firstIn("a\u{1F600}")).toBe(0);
    expect(index.longestIn("\uDE00")).toBe(1);
    expect(index.firstIn("e\u0301")).toBeUndefined();
  });

  it("answers as asking each word in turn would, on random words over a small alphabet", () => {
    const next = random(20261122);
    const text = (length: number) => Array.from({ length }, () => "ab-"[Math.floor(next() * 3)]).join("");
    for (let round = 0; round < 300; round++) {
      const words = Array.from({ length: 1 + Math.floor(next() * 12) }, () => (next() < 0.1 ? undefined : text(Math.floor(next() * 5))));
      const index = new ContainedWords(words);
      for (let query = 0; query < 10; query++) {
        const candidate = text(Math.floor(next() * 9));
        expect([index.longestIn(candidate), index.firstIn(candidate)]).toEqual([naiveLongest(words, candidate), naiveFirst(words, candidate)]);
      }
    }
  });
});
