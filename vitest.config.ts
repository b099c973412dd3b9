import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Node's process (no @types/node here): the fuzz suite's FUZZ_SEED and FUZZ_SCALE come from it.
declare const process: { env: Record<string, string | undefined> };

const TEST_MIGRATIONS = await readD1Migrations("./migrations");

export default defineConfig({
  plugins: [
    cloudflareTest({
      // Offline: the AI binding must not try to reach Cloudflare (tests stub env.AI.run).
      remoteBindings: false,
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        // Every outbound fetch of the monitor reaches a real origin worker (test/fixtures).
        outboundService: "origin",
        serviceBindings: { ORIGIN: "origin" },
        workers: [
          {
            name: "origin",
            modules: true,
            scriptPath: "./test/fixtures/origin-worker.js",
            compatibilityDate: "2026-04-01",
          },
        ],
        bindings: {
          TEST_MIGRATIONS,
          INGEST_KEYS: "test-ingest-key,second-ingest-key",
          READ_KEY: "test-read-key",
          ADMIN_KEY: "test-admin-key",
          MAX_ROUTES_PER_SERVICE: "5",
          // test/fuzz.test.ts: replay another seed, or scale the number of generated inputs.
          FUZZ_SEED: process.env.FUZZ_SEED ?? "",
          FUZZ_SCALE: process.env.FUZZ_SCALE ?? "",
          // Alert tests send to a receiver on loopback (the origin worker answers every outbound fetch).
          ALLOW_LOOPBACK_ALERT_URLS: "true",
          // A service's first incident alerts at once (no grace for a group to form; test/incident-groups.test.ts).
          INCIDENT_GROUP_GRACE_SECONDS: "0",
          // Every 2xx answer of a defineRoute route is checked against its documented zod schema (src/http/route.ts).
          CHECK_RESPONSE_SCHEMAS: "true",
          // Alarms far away: tests run each flush themselves with runDurableObjectAlarm.
          FLUSH_DELAY_MS: "600000",
          // test/proxy.test.ts: the proxy names the consumer from this request header.
          PROXY_CONSUMER_HEADER: "x-consumer-id",
          SERVICES: JSON.stringify([
            { name: "shop", origin: "http://origin.test", hostnames: ["api.shop.test"], timeout_ms: 300 },
            { name: "based", origin: "http://origin.test/base" },
            { name: "quiet", origin: "http://origin.test", recording: { enabled: false } },
            { name: "sampled", origin: "http://origin.test", recording: { sample_rate: 4 } },
          ]),
        },
      },
    }),
  ],
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["./test/apply-migrations.ts"],
    // Two shared cores: a test that takes 2 s alone can take over 5 s (vitest's default) while
    // other files run beside it. No test here is a timing assertion through this limit.
    testTimeout: 30_000,
  },
});
