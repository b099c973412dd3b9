// @ts-check
/**
 * CPU of the consumers-and-locations breakdown per hand-off and bucket (src/breakdown/top-k.ts):
 * parse the stored breakdown of a window row, add a batch of 50 records, serialise it again, as
 * EndpointWindows.upsert does (twice per hand-off: its minute and its hour). Two cases: a batch
 * of 6 known consumers in 4 colos (the usual), and 50 consumers new to a full table (every one
 * evicts). The real TypeScript, bundled with esbuild. Usage: node bench/breakdown-cpu.mjs
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const esbuild = await import("esbuild");
const dir = mkdtempSync(join(tmpdir(), "breakdown-cpu-"));
const outfile = join(dir, "top-k.mjs");
await esbuild.build({
  entryPoints: [new URL("../src/breakdown/top-k.ts", import.meta.url).pathname],
  bundle: true,
  format: "esm",
  platform: "node",
  outfile,
  logLevel: "silent",
});
const { addRecordsInPlace, emptyBreakdown, parseBreakdown } = await import(outfile);
rmSync(dir, { recursive: true, force: true });

const rec = (/** @type {number} */ i, /** @type {string} */ consumer, /** @type {string} */ region) => ({
  status: i % 9 ? 200 : 503,
  latency_ms: 20 + ((i * 37) % 400),
  response_empty: false,
  consumer,
  region,
});
/**
 * @param {string} label
 * @param {ReturnType<typeof rec>[]} initial
 * @param {(i: number) => ReturnType<typeof rec>[]} batch
 */
function run(label, initial, batch, n = 2000) {
  let stored = JSON.stringify(addRecordsInPlace(emptyBreakdown(), initial));
  for (let i = 0; i < 100; i++) stored = JSON.stringify(addRecordsInPlace(parseBreakdown(stored), batch(i)));
  const t0 = performance.now();
  for (let i = 0; i < n; i++) stored = JSON.stringify(addRecordsInPlace(parseBreakdown(stored), batch(i)));
  return {
    case: label,
    us_per_handoff_per_bucket: Math.round(((performance.now() - t0) / n) * 1000),
    stored_bytes: stored.length,
  };
}
const usual = Array.from({ length: 2000 }, (_, i) => rec(i, `c${i % 6}`, `R${i % 4}`));
const many = Array.from({ length: 2000 }, (_, i) => rec(i, `c${i % 1000}`, `R${i % 300}`));
console.log(JSON.stringify(run("6 consumers, 4 colos", usual, () => usual.slice(0, 50))));
console.log(
  JSON.stringify(
    run("50 new consumers per batch, table full", many, (h) =>
      Array.from({ length: 50 }, (_, j) => rec(j, `n${h * 50 + j}`, `X${h * 50 + j}`)),
    ),
  ),
);
