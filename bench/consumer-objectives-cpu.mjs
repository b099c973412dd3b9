// @ts-check
/**
 * CPU of judging named consumers' objectives per evaluated minute (src/breakdown/objectives.ts),
 * as DetectionRunner does when a service has `consumer_objectives`: parse 15 stored minute
 * breakdowns with full tables (20 consumers, 20 colos), sum the named consumers, compare them to
 * their objectives. The parse is counted (the runner reads the window's rows once per run of
 * minutes, so a live minute pays it and a catch-up minute does not: both are shown). The real TypeScript, bundled with esbuild.
 * Usage: node bench/consumer-objectives-cpu.mjs
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const esbuild = await import("esbuild");
const dir = mkdtempSync(join(tmpdir(), "consumer-objectives-cpu-"));
const entry = join(dir, "entry.ts");
const src = new URL("../src/breakdown/", import.meta.url).pathname;
writeFileSync(entry, `export * from "${src}top-k.ts"; export * from "${src}objectives.ts";`);
const outfile = join(dir, "bundle.mjs");
await esbuild.build({
  entryPoints: [entry],
  bundle: true,
  format: "esm",
  platform: "node",
  outfile,
  logLevel: "silent",
});
const { addRecordsInPlace, emptyBreakdown, parseBreakdown, namedConsumers, consumerBreaches } = await import(outfile);
rmSync(dir, { recursive: true, force: true });

const rec = (/** @type {number} */ i) => ({
  status: i % 9 ? 200 : 503,
  latency_ms: 20 + ((i * 37) % 400),
  response_empty: false,
  consumer: `c${i % 20}`,
  region: `R${(i * 7) % 20}`,
});
const minute = JSON.stringify(
  addRecordsInPlace(
    emptyBreakdown(),
    Array.from({ length: 2000 }, (_, i) => rec(i)),
  ),
);
const stored = Array.from({ length: 15 }, () => minute);
/**
 * @param {string} label
 * @param {number} count
 */
function run(label, count, parse = true, n = 2000) {
  const objectives = Object.fromEntries(
    Array.from({ length: count }, (_, i) => [`c${i}`, { error_rate: 0.01, latency_p95_ms: 300 }]),
  );
  const names = new Set(Object.keys(objectives));
  const parsed = stored.map(parseBreakdown);
  const once = () =>
    consumerBreaches(namedConsumers(parse ? stored.map(parseBreakdown) : parsed, names), objectives, {
      min_requests: 20,
      min_events: 5,
    });
  for (let i = 0; i < 100; i++) once();
  const t0 = performance.now();
  let breaches = 0;
  for (let i = 0; i < n; i++) breaches = once().length;
  return {
    case: label,
    us_per_minute: Math.round(((performance.now() - t0) / n) * 1000),
    breaches,
    stored_bytes_per_bucket: minute.length,
  };
}
console.log(JSON.stringify(run("1 named consumer", 1)));
console.log(JSON.stringify(run("20 named consumers", 20)));
// A run of many minutes (catch-up, re-evaluation) parses each bucket once: the per-minute part alone.
console.log(JSON.stringify(run("1 named consumer, buckets already parsed", 1, false)));
console.log(JSON.stringify(run("20 named consumers, buckets already parsed", 20, false)));
