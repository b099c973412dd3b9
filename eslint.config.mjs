// @ts-check
// Lint: typed typescript-eslint over the TypeScript of the worker, the dashboard, the tests and the
// client package. Formatting is Prettier's job: eslint-config-prettier comes last and turns off every
// rule that could fight it.
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";

export default defineConfig(
  {
    ignores: [
      "**/node_modules/**",
      "**/dist/**",
      "bench/results/**",
      ".wrangler/**",
      "src/worker-configuration.d.ts",
      "src/otlp/gen/**",
      "test/otlp/gen/**",
      "migrations/**",
    ],
  },
  {
    files: ["src/**/*.ts", "dashboard/src/**/*.ts", "test/**/*.ts", "clients/js/src/**/*.ts"],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        // Each file is checked with the tsconfig.json nearest to it (root, dashboard/, clients/js/).
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-non-null-assertion": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      // Durable Object RPC methods and interface implementations are async by contract (callers always
      // await them) even when today's body has nothing to await.
      "@typescript-eslint/require-await": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    // vitest's asymmetric matchers (expect.any, expect.stringContaining, ...) are typed `any`, and
    // tests put them inside the objects they compare: assigning them is the point there.
    files: ["test/**/*.ts"],
    rules: { "@typescript-eslint/no-unsafe-assignment": "off" },
  },
  prettier,
);
