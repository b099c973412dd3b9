// The dashboard's data code (formatters, series shaping, routing, tables) runs in plain Node:
// kept apart from the root config, whose pool runs every test inside workerd.
import { defineConfig } from "vitest/config";

export default defineConfig({
  root: import.meta.dirname,
  test: { include: ["src/**/*.test.ts"], environment: "node" },
});
