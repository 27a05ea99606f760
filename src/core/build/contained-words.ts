// Which of many words a text contains, in one pass over the text (Aho–Corasick). Asking each word in turn costs
// words × texts, and a pull request controls both: a file of 20,000 documents renders 20,000 objects, each
// traced back to the document whose name it contains.

/** Transitions are keyed by state and UTF-16 code unit (as String.includes compares) in one map. */
const UNITS = 0x10000;

/** The smaller of two word indexes, -1 meaning none. */
const earlier = (a: number, b: number) => (a === -1 ? b : b === -1 ? a : Math.min(a, b));

export class ContainedWords {
  private readonly transitions = new Map<number, number>();
  private readonly fail: number[] = [0];
  /** Per state: the longest word that ends there (the first listed among equals), and the first listed word that ends there; -1 for none. */
  private readonly longest: number[] = [];
  private readonly first: number[] = [];

  /** `words[i]` undefined: no word at index i (indexes stay those of the caller's list). */
  constructor(private readonly words: ReadonlyArray<string | undefined>) {
    const own = [-1];
    const parent = [0];
    const unit = [0];
    const depth = [0];
    words.forEach((word, index) => {
      if (word === undefined) return;
      let state = 0;
      for (let i = 0; i < word.length; i++) {
        const key = state * UNITS + word.charCodeAt(i);
        let next = this.transitions.get(key);
        if (next === undefined) {
          next = own.length;
          this.transitions.set(key, next);
          own.push(-1);
          parent.push(state);
          unit.push(word.charCodeAt(i));
          depth.push(i + 1);
        }
        state = next;
      }
      if (own[state] === -1) own[state] = index;
    });
    // Shallower states first: a state's fail link is shallower than the state.
    const states = own.map((_, state) => state).sort((a, b) => depth[a]! - depth[b]!);
    for (const state of states) {
      if (state !== 0 && parent[state] !== 0) {
        let fallback = this.fail[parent[state]!]!;
        while (fallback !== 0 && !this.transitions.has(fallback * UNITS + unit[state]!)) fallback = this.fail[fallback]!;
        this.fail[state] = this.transitions.get(fallback * UNITS + unit[state]!) ?? 0;
      } else this.fail[state] = 0;
      // The words ending at a state: its own, and those ending at its fail state (all shorter than its own).
      const viaFail = state === 0 ? { longest: -1, first: -1 } : { longest: this.longest[this.fail[state]!]!, first: this.first[this.fail[state]!]! };
      this.longest[state] = own[state] !== -1 ? own[state]! : viaFail.longest;
      this.first[state] = earlier(own[state]!, viaFail.first);
    }
  }

  /** The index of the longest word the text contains, the first listed among words of that length. */
  longestIn(text: string): number | undefined {
    let best = -1;
    this.walk(text, (state) => {
      const candidate = this.longest[state]!;
      if (candidate === -1 || candidate === best) return;
      const length = this.words[candidate]!.length;
      if (best === -1 || length > this.words[best]!.length || (length === this.words[best]!.length && candidate < best)) best = candidate;
    });
    return best === -1 ? undefined : best;
  }

  /** The index of the first listed word the text contains. */
  firstIn(text: string): number | undefined {
    let best = -1;
    this.walk(text, (state) => {
      const candidate = this.first[state]!;
      if (candidate !== -1 && (best === -1 || candidate < best)) best = candidate;
    });
    return best === -1 ? undefined : best;
  }

  /** Visits the state after each prefix of the text, the empty one included (an empty word is in every text). */
  private walk(text: string, visit: (state: number) => void): void {
    let state = 0;
    visit(state);
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      while (state !== 0 && !this.transitions.has(state * UNITS + code)) state = this.fail[state]!;
      state = this.transitions.get(state * UNITS + code) ?? 0;
      visit(state);
    }
  }
}
