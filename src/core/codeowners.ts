// CODEOWNERS, with GitHub's semantics.

/** Where GitHub looks for CODEOWNERS, in order; the first one found is used. */
export const CODEOWNERS_PATHS = [".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"] as const;
