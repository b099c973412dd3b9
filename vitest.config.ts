import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

// Offline: never let wrangler or the AI binding reach Cloudflare.
process.env.WRANGLER_SEND_METRICS = "false";
process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";

const TEST_MIGRATIONS = await readD1Migrations("./migrations");

export default defineConfig({
  plugins: [
    cloudflareTest({
      remoteBindings: false,
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          TEST_MIGRATIONS,
          INGEST_KEYS: "test-ingest-key,second-ingest-key",
          READ_KEY: "test-read-key",
          ADMIN_KEY: "test-admin-key",
          MAX_ROUTES_PER_SERVICE: "5",
        },
      },
    }),
  ],
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["./test/apply-migrations.ts"],
  },
});
