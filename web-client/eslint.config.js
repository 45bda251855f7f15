// ESLint for the portal: typescript-eslint's type-aware recommended rules on the TypeScript
// sources (the project is small, so type information costs seconds) and React's hook rules on
// the app and its tests. Plain JavaScript (browser tests, tool configs) gets the untyped rules.
import js from "@eslint/js";
import { defineConfig, globalIgnores } from "eslint/config";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";
import tseslint from "typescript-eslint";

export default defineConfig(
  // Built or generated (from ../openapi/openapi.json): not ours to lint.
  globalIgnores(["dist/", "src/api/schema.d.ts", "e2e/screenshots/"]),
  js.configs.recommended,
  {
    files: ["**/*.{ts,tsx}"],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      globals: globals.browser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
  },
  {
    files: ["src/**/*.{ts,tsx}", "test/**/*.{ts,tsx}"],
    extends: [reactHooks.configs.flat.recommended],
  },
  {
    // Browser tests and tool configs run in Node.
    files: ["**/*.{js,mjs,cjs}", "vite.config.ts"],
    languageOptions: { globals: globals.node },
  },
  {
    // ...but the browser tests also hand functions to page.evaluate, which run in the page.
    files: ["e2e/**"],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
);
