import type { D1Migration } from "cloudflare:test";

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      ORIGIN: Fetcher;
      /** test/fuzz.test.ts: the seed (default fixed) and a multiplier of the number of runs. */
      FUZZ_SEED: string;
      FUZZ_SCALE: string;
      /** "true": defineRoute checks each 2xx answer against its spec (src/http/route.ts). */
      CHECK_RESPONSE_SCHEMAS: string;
    }
  }
}
