#!/usr/bin/env node
// @ts-check
/**
 * Quick in-process version of the scenario suite (bench/lib/scenario-replay.ts: the product's
 * minute evaluation without a workerd), for iterating on detectors over many seeds and
 * wall-clock layouts at little CPU. Not the measurement: bench/scenarios.mjs is.
 * Options: --seeds 1,2,3,4 --only name,name --end <ISO time or ms> (the layout's end; default now)
 *          --ends <n> (also n layouts each 97 minutes earlier, to vary the time of day)
 *          --trace <ISO>/<ISO> (print the p95 detector's state per minute in that span)
 */
import { build } from "esbuild";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildScenarios } from "./lib/scenarios.mjs";

const { values } = parseArgs({
  options: {
    seeds: { type: "string", default: "1,2,3,4" },
    only: { type: "string" },
    end: { type: "string" },
    ends: { type: "string", default: "1" },
    trace: { type: "string" },
  },
});
const out = await build({
  entryPoints: [new URL("./lib/scenario-replay.ts", import.meta.url).pathname],
  bundle: true,
  format: "esm",
  platform: "node",
  write: false,
  logLevel: "silent",
});
const file = join(mkdtempSync(join(tmpdir(), "scn-sim-")), "replay.mjs");
writeFileSync(file, out.outputFiles[0].text);
/** @typedef {{ opened_at: number, severity: string, kinds: string[], explanation: string }} Opened */
/** @type {{ replayScenario: (...args: unknown[]) => Opened[] }} */
const { replayScenario } = await import(file);
const only = values.only ? values.only.split(",") : null;
const end0 = values.end
  ? /^\d+$/.test(values.end)
    ? Number(values.end)
    : Date.parse(values.end)
  : Date.now() - 2 * 60_000;
let falseTotal = 0;
for (let e = 0; e < Number(values.ends); e++) {
  const endAt = end0 - e * 97 * 60_000;
  for (const seed of values.seeds.split(",").map(Number)) {
    const line = [];
    for (const s of buildScenarios({ endAt, seed, only })) {
      const tr = values.trace ? values.trace.split("/").map((x) => Date.parse(x)) : null;
      const opened = replayScenario(s.records(), s.start, s.end, s.method, s.route, tr);
      if (s.degradation_start === null) {
        falseTotal += opened.length;
        if (opened.length)
          line.push(
            `${s.name}: FALSE ${opened.map((o) => `${new Date(o.opened_at).toISOString().slice(11, 16)} ${o.severity} ${o.kinds.join("+")} | ${o.explanation}`).join(" ;; ")}`,
          );
      } else {
        const start = s.degradation_start;
        const early = opened.filter((o) => o.opened_at < start - 2 * 60_000);
        falseTotal += early.length;
        const hit = opened.find((o) => o.opened_at >= start - 2 * 60_000);
        line.push(
          `${s.name}: ${hit ? Math.round((hit.opened_at - s.degradation_start) / 60_000) : "MISS"}${early.length ? ` (+${early.length} false: ${early.map((o) => o.kinds.join("+")).join(", ")})` : ""}`,
        );
      }
    }
    console.log(`end ${new Date(endAt).toISOString().slice(0, 16)} seed ${seed}: ${line.join(" | ")}`);
  }
}
console.log(`false incidents: ${falseTotal}`);
