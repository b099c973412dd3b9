#!/usr/bin/env node
// @ts-check
/**
 * What zod costs on reading the engine state (issue 14): the endpoint object reads `engine_state`
 * and `season_profile` at each evaluation and hand-off slice; this compares the checked read
 * (JSON.parse + the schemas of src/detect/state-schemas.ts) with the cast it replaced, on a state
 * after a simulated week (the daily profile full, an incident open). In-process, no workerd.
 * Options: --days 7 --n 5000 --rounds 5
 */
import { build } from "esbuild";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    days: { type: "string", default: "7" },
    n: { type: "string", default: "5000" },
    rounds: { type: "string", default: "5" },
  },
});
const out = await build({
  entryPoints: [new URL("./lib/engine-state-parse.ts", import.meta.url).pathname],
  bundle: true,
  format: "esm",
  platform: "node",
  write: false,
  logLevel: "silent",
});
const file = join(mkdtempSync(join(tmpdir(), "state-parse-")), "parse.mjs");
writeFileSync(file, out.outputFiles[0].text);
/** @type {{ measureParse: (days: number, n: number, rounds: number) => { engine_state_bytes: number, season_profile_bytes: number, us: Record<string, number> } }} */
const { measureParse } = await import(file);
const r = measureParse(Number(values.days), Number(values.n), Number(values.rounds));
const { us } = r;
console.log(`engine_state ${r.engine_state_bytes} B: cast ${us.cast_engine_state} µs, zod ${us.zod_engine_state} µs`);
console.log(
  `season_profile ${r.season_profile_bytes} B: cast ${us.cast_season_profile} µs, zod ${us.zod_season_profile} µs`,
);
const cast = us.cast_engine_state + us.cast_season_profile;
const zod = us.zod_engine_state + us.zod_season_profile;
console.log(
  `one read of both rows: cast ${cast.toFixed(1)} µs, zod ${zod.toFixed(1)} µs (+${(zod - cast).toFixed(1)} µs)`,
);
