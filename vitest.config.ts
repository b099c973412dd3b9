import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

const TEST_MIGRATIONS = await readD1Migrations("./migrations");

export default defineConfig({
  plugins: [
    cloudflareTest({
      // Offline: the AI binding must not try to reach Cloudflare (tests stub env.AI.run).
      remoteBindings: false,
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          TEST_MIGRATIONS,
          INGEST_KEYS: "test-ingest-key,second-ingest-key",
          READ_KEY: "test-read-key",
          ADMIN_KEY: "test-admin-key",
          MAX_ROUTES_PER_SERVICE: "5",
          // Alarms far away: tests run each flush themselves with runDurableObjectAlarm.
          FLUSH_DELAY_MS: "600000",
        },
      },
    }),
  ],
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["./test/apply-migrations.ts"],
  },
});
