import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "coverage/**", "bench/results/**", "**/.scratch/**", ".tmp/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-console": "off",
    },
  },
  {
    // Plain Node scripts.
    files: ["scripts/**/*.mjs", "bench/**/*.mjs"],
    languageOptions: { globals: { URL: "readonly", console: "readonly", process: "readonly" } },
  },
  {
    files: ["src/**/*.ts"],
    ignores: ["src/cli/**"],
    rules: { "no-console": "error" },
  },
  {
    // The core knows no broker: only src/transports/* may import a transport.
    files: ["src/runtime/**/*.ts", "src/envelope/**/*.ts", "src/contract/**/*.ts", "src/transport/**/*.ts", "src/middleware/**/*.ts", "src/stores/*.ts", "src/index.ts", "src/connect.ts", "src/testing/**/*.ts"],
    rules: {
      // The one exception: the entry point loads the shipped transports' registrations (builtin.ts, no broker client).
      "no-restricted-imports": ["error", { patterns: [{ group: ["**/transports/**", "!./transports/builtin.js"], message: "The core must not import a transport (STYLE.md §1)." }, { group: ["better-sqlite3"], message: "The core knows no broker client." }, { group: ["pg", "mysql2", "mysql2/*", "kysely"], message: "The core knows no database client." }, { group: ["**/stores/postgres/**", "**/stores/mysql/**", "**/stores/sqlite/**", "**/stores/kysely/**", "./postgres/**", "./mysql/**", "./sqlite/**", "./kysely/**"], message: "Database stores are reached through their subpath exports, never from the core." }] }],
    },
  },
  {
    // A transport's registration loads its module lazily: a static import here would load the broker client with missive.
    files: ["src/transports/builtin.ts", "src/transports/*/register.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ group: ["./index.js", "amqplib", "@nats-io/*", "ioredis", "better-sqlite3", "pg", "mysql2", "./*-transport.js"], message: "A registration must not load its transport statically." }] }],
    },
  },
);
