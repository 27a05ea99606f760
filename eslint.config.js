import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "coverage/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      // src/core stays pure: no GitHub client, no network.
      "no-restricted-imports": "off",
    },
  },
  {
    // Test fakes mirror GitHub's JSON, which is untyped at that level.
    files: ["test/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  {
    files: ["src/core/**/*.ts", "rules/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["probot", "@octokit/*", "node:http", "node:https", "node:net"], message: "src/core and rules/ are pure: no GitHub client, no network." },
          ],
        },
      ],
    },
  },
);
