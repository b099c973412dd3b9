#!/usr/bin/env node
// @ts-check
/**
 * Ingest benchmark (`npm run bench`): starts the worker with `wrangler dev --local` on a fresh
 * persist dir and measures, against 127.0.0.1 only:
 *   A. `GET /health/live` req/s: the baseline of the local runtime itself;
 *   B. single-record `POST /v1/logs` req/s, and its ratio to A (target >= 0.5x);
 *   C. batched `POST /v1/logs?sync=1`: records/s into the endpoint Durable Objects, and
 *      end-to-end records/s until every record is in D1 (target >= 50,000 records/s).
 * The report is printed and written to bench/results/ingest-<timestamp>.json, next to the
 * wrangler output of the run. Every phase is bounded in count and time.
 *
 * Phases A and B alternate in --rounds rounds (the --duration split between them); the ratio
 * is the median of the rounds' ratios.
 * Options: --duration <s> --rounds <n> --warmup <s> --concurrency <n> --batches <n> --batch-size <n>
 *          --batch-concurrency <n> --routes <n> --port <n> --flush-timeout <s> --log-level <level>
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { runBatches } from "./lib/batches.mjs";
import { createClient, runLoad } from "./lib/load.mjs";
import { parseBenchOptions } from "./lib/options.mjs";
import { median, sourceVersion } from "./lib/stats.mjs";
import { KEYS, freePort, startWorker, summariseServerLog } from "./lib/server.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const RESULTS = join(ROOT, "bench", "results");
const TARGET_RATIO = 0.5;
const TARGET_RECORDS_PER_S = 50_000;
const HANDOFF_SETTLE_MS = 30_000;

const OPTIONS = {
  duration: { default: 12, min: 1, max: 120 },
  rounds: { default: 4, min: 1, max: 20 },
  warmup: { default: 2, min: 0, max: 30 },
  concurrency: { default: 32, min: 1, max: 512 },
  batches: { default: 200, min: 1, max: 5_000 },
  "batch-size": { default: 500, min: 1, max: 1_000 },
  "batch-concurrency": { default: 6, min: 1, max: 16 },
  routes: { default: 10, min: 1, max: 100 },
  port: { default: 0, min: 0, max: 65_535 },
  "flush-timeout": { default: 120, min: 5, max: 600 },
};

/** @typedef {{ bench_client: number, server: number }} CpuCores */
/** @typedef {Awaited<ReturnType<typeof runLoad>> & { cpu_cores: CpuCores }} Round */
/** @typedef {{ accepted: number, received: number, settle_seconds: number }} Handoff */
/** @typedef {Round & { handoff: Handoff }} SingleRound */
/** @typedef {{ rps: number, round_rps: number[], ok_including_warmup: number, round_ratios?: number[] }} Combined */
/**
 * @typedef {object} IngestReport
 * @property {string} run_id
 * @property {string} started_at
 * @property {{ wrangler: string, node: string, cpus: number, source: ReturnType<typeof sourceVersion>, load_average_at_start: number[], load_average_at_end?: number[], log_level: string }} environment
 * @property {unknown} options
 * @property {unknown} [server_ingest_counters]
 * @property {{ health: Round & Combined, single: SingleRound & Combined & { round_ratios: number[] }, batch: Awaited<ReturnType<typeof runBatches>> & { cpu_cores: CpuCores } }} [phases]
 * @property {{ health_rps: number, single_rps: number, single_to_health_ratio: number, single_ratio_target: number, single_ratio_pass: boolean, batch_store_records_per_s: number, batch_e2e_records_per_s: number | null, batch_e2e_target: number, batch_e2e_pass: boolean }} [results]
 * @property {{ path: string, issues: ReturnType<typeof summariseServerLog> }} [server_log]
 */

/** @param {string[]} argv */
function parseOptions(argv) {
  return parseBenchOptions(argv, OPTIONS, [
    "usage: npm run bench -- [--duration 12] [--rounds 4] [--warmup 2] [--concurrency 32] [--batches 200]",
    "       [--batch-size 500] [--batch-concurrency 6] [--routes 10] [--port <free>] [--flush-timeout 120]",
    "       [--log-level warn]  (info logs every request through the wrangler process: slower)",
  ]);
}

const say = (/** @type {string} */ line) => console.log(line);
const fmt = (/** @type {number | null | undefined} */ n) =>
  n === null || n === undefined ? "n/a" : String(Math.round(n));
const mark = (/** @type {boolean} */ ok) => (ok ? "PASS" : "MISS");

/**
 * Runs one phase and adds the CPU share (in cores) used by the bench client and by the server.
 * @template {object} T
 * @param {{ cpuSeconds: () => Promise<number> }} server
 * @param {() => Promise<T>} fn
 */
async function withCpu(server, fn) {
  const wall = performance.now();
  const client = process.cpuUsage();
  const serverCpu = await server.cpuSeconds();
  const result = /** @type {T & { cpu_cores: CpuCores }} */ (await fn());
  const seconds = (performance.now() - wall) / 1000;
  const used = process.cpuUsage(client);
  const cores = (/** @type {number} */ s) => Math.round((s / seconds) * 100) / 100;
  result.cpu_cores = {
    bench_client: cores((used.user + used.system) / 1e6),
    server: cores((await server.cpuSeconds()) - serverCpu),
  };
  return result;
}

/**
 * Rounds of one phase as one result: mean rate, summed counts, the last round's latency and CPU.
 * @template {Round} R
 * @param {R[]} rounds
 * @returns {R & Combined}
 */
function combineRounds(rounds) {
  const last = rounds[rounds.length - 1];
  const sum = (/** @type {"ok_including_warmup"} */ key) => rounds.reduce((n, r) => n + (r[key] ?? 0), 0);
  return {
    ...last,
    rps: rounds.reduce((n, r) => n + r.rps, 0) / rounds.length,
    round_rps: rounds.map((r) => Math.round(r.rps)),
    ok_including_warmup: sum("ok_including_warmup"),
  };
}

/**
 * Phase B sends its records in waitUntil: wait until the Durable Object holds all of them and flushed them to D1.
 * @param {import("./lib/load.mjs").Client} client
 * @param {number} accepted
 * @returns {Promise<Handoff>}
 */
async function waitForHandOff(client, accepted) {
  const started = performance.now();
  let received = 0;
  while (performance.now() - started < HANDOFF_SETTLE_MS) {
    const res = await client.request({
      path: `/v1/endpoints/bench/GET/${encodeURIComponent("/items/:id")}`,
      headers: { Authorization: `Bearer ${KEYS.READ_KEY}` },
    });
    let backlog = 1;
    if (res.status === 200) ({ received, backlog } = JSON.parse(res.text));
    if (received >= accepted && backlog === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { accepted, received, settle_seconds: Math.round(performance.now() - started) / 1000 };
}

async function main() {
  let opts;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    console.error(`bench: ${err instanceof Error ? err.message : String(err)} (see --help)`);
    process.exit(2);
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const runId = Date.now().toString(36) + Math.random().toString(36).slice(2, 6);
  await mkdir(RESULTS, { recursive: true });
  const logPath = join(RESULTS, `wrangler-${stamp}.log`);
  const port = await freePort(opts.port);
  const wranglerVersion = JSON.parse(await readFile(join(ROOT, "node_modules/wrangler/package.json"), "utf8")).version;
  const load = { concurrency: opts.concurrency, warmupMs: opts.warmup * 1000, durationMs: opts.duration * 1000 };

  say(
    `edge-monitor ingest bench, run ${runId}: wrangler ${wranglerVersion}, node ${process.version}, ${cpus().length} CPUs`,
  );
  say(
    `starting wrangler dev on 127.0.0.1:${port} (log level ${opts.logLevel}, output in ${relative(ROOT, logPath)}) ...`,
  );
  const source = sourceVersion(ROOT);
  const t0 = performance.now();
  const server = await startWorker({ cwd: ROOT, port, logPath, logLevel: opts.logLevel });
  say(`worker ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const client = createClient({ port, maxSockets: Math.max(opts.concurrency, opts.batchConcurrency) + 4 });
  /** @type {IngestReport} */
  const report = {
    run_id: runId,
    started_at: new Date().toISOString(),
    environment: {
      wrangler: wranglerVersion,
      node: process.version,
      cpus: cpus().length,
      source,
      load_average_at_start: loadavg().map((l) => Math.round(l * 100) / 100),
      log_level: opts.logLevel,
    },
    options: opts,
  };
  let failed = false;
  try {
    // A and B alternate in rounds, so that drift in the shared machine's load hits both alike;
    // the ratio is the median of the rounds' ratios.
    const sendOne = (/** @type {number} */ n) =>
      client.request({
        method: "POST",
        path: "/v1/logs",
        headers: { Authorization: `Bearer ${KEYS.INGEST_KEYS}`, "Content-Type": "application/json" },
        body: JSON.stringify({
          timestamp: Date.now(),
          service: "bench",
          method: "GET",
          path: `/items/${n}`,
          status: 200,
          latency_ms: 12.5,
        }),
      });
    const roundLoad = (/** @type {number} */ round) => ({
      ...load,
      warmupMs: round === 1 ? load.warmupMs : Math.min(load.warmupMs, 500),
      durationMs: load.durationMs / opts.rounds,
    });
    /** @type {Round[]} */
    const healthRounds = [];
    /** @type {SingleRound[]} */
    const singleRounds = [];
    for (let round = 1; round <= opts.rounds; round++) {
      say(
        `round ${round}/${opts.rounds}: phase A GET /health/live, then phase B single-record POST /v1/logs, C=${opts.concurrency} ...`,
      );
      healthRounds.push(
        await withCpu(server, () =>
          runLoad({ ...roundLoad(round), okStatus: 200, send: () => client.request({ path: "/health/live" }) }),
        ),
      );
      singleRounds.push(
        // Its hand-off is set just below.
        /** @type {SingleRound} */ (
          await withCpu(server, () => runLoad({ ...roundLoad(round), okStatus: 202, send: sendOne }))
        ),
      );
      // B's background work (hand-offs in waitUntil, the flush to D1) must not spill into the next A.
      const accepted = singleRounds.reduce((n, r) => n + r.ok_including_warmup, 0);
      singleRounds[singleRounds.length - 1].handoff = await waitForHandOff(client, accepted);
    }
    const ratios = healthRounds.map((h, i) => (h.rps > 0 ? (singleRounds[i]?.rps ?? 0) / h.rps : 0));
    const health = combineRounds(healthRounds);
    const single = /** @type {SingleRound & Combined & { round_ratios: number[] }} */ (combineRounds(singleRounds));
    single.round_ratios = ratios.map((r) => Math.round(r * 100) / 100);
    // At least one round (--rounds >= 1): never null.
    const ratio = /** @type {number} */ (median(ratios));

    say(
      `phase C: ${opts.batches} batches x ${opts.batchSize} records, ?sync=1, concurrency ${opts.batchConcurrency} ...`,
    );
    const batchOptions = {
      runId,
      batches: opts.batches,
      batchSize: opts.batchSize,
      concurrency: opts.batchConcurrency,
      routes: opts.routes,
      flushTimeoutMs: opts.flushTimeout * 1000,
      stallMs: 30_000,
      progress: say,
    };
    const batch = await withCpu(server, () => runBatches(client, batchOptions));
    const serverHealth = await client.request({ path: "/health" });
    report.server_ingest_counters = serverHealth.status === 200 ? JSON.parse(serverHealth.text).ingest : null;

    report.phases = { health, single, batch };
    report.results = {
      health_rps: health.rps,
      single_rps: single.rps,
      single_to_health_ratio: Math.round(ratio * 100) / 100,
      single_ratio_target: TARGET_RATIO,
      single_ratio_pass: ratio >= TARGET_RATIO,
      batch_store_records_per_s: batch.store_records_per_s,
      batch_e2e_records_per_s: batch.d1.e2e_records_per_s,
      batch_e2e_target: TARGET_RECORDS_PER_S,
      batch_e2e_pass: (batch.d1.e2e_records_per_s ?? 0) >= TARGET_RECORDS_PER_S,
    };
    failed =
      single.handoff.received < single.handoff.accepted ||
      !batch.d1.complete ||
      batch.d1.logs_found === 0 ||
      batch.records_stored < batch.records_sent;
  } catch (err) {
    const issues = summariseServerLog(await readFile(logPath, "utf8"));
    for (const i of issues.slice(0, 8)) console.error(`  server ${i.level} x${i.count}: ${i.message}`);
    throw err;
  } finally {
    client.close();
    await server.stop();
  }
  report.environment.load_average_at_end = loadavg().map((l) => Math.round(l * 100) / 100);
  report.server_log = { path: relative(ROOT, logPath), issues: summariseServerLog(await readFile(logPath, "utf8")) };
  const outPath = join(RESULTS, `ingest-${stamp}.json`);
  await writeFile(outPath, `${JSON.stringify(report, null, 2)}\n`);
  printReport(/** @type {Required<IngestReport>} */ (report), relative(ROOT, outPath));
  process.exitCode = failed ? 1 : 0;
}

/**
 * @param {Required<IngestReport>} report
 * @param {string} outPath
 */
function printReport(report, outPath) {
  const { health, single, batch } = report.phases;
  const r = report.results;
  const cpu = (/** @type {{ cpu_cores: CpuCores }} */ p) =>
    ` [cpu cores: client ${p.cpu_cores.bench_client}, server ${p.cpu_cores.server}]`;
  const lat = (/** @type {{ p50: number | null, p99: number | null }} */ l) => `p50 ${l.p50} ms, p99 ${l.p99} ms`;
  const others = (/** @type {Round} */ p, /** @type {number} */ ok) => {
    const bad = Object.entries(p.statuses).filter(([s]) => Number(s) !== ok);
    const errs = Object.entries(p.errors);
    return bad.length + errs.length === 0
      ? ""
      : `  other: ${[...bad, ...errs].map(([k, v]) => `${k} x${v}`).join("; ")}`;
  };
  say("");
  say("==== ingest benchmark ====");
  const env = report.environment;
  const src = env.source;
  say(
    `source: commit ${src.commit}${src.uncommitted_changes ? " + uncommitted changes (snapshot taken at start)" : ""}`,
  );
  say(
    `${env.cpus} CPUs shared by client and server; load average ${env.load_average_at_start[0]} at start, ${/** @type {number[]} */ (env.load_average_at_end)[0]} at end`,
  );
  say(`health baseline: ${fmt(health.rps)} req/s (${lat(health.latency_ms)})${cpu(health)}${others(health, 200)}`);
  say(
    `single-record ingest: ${fmt(single.rps)} req/s = ${r.single_to_health_ratio.toFixed(2)}x health baseline ` +
      `(${fmt(health.rps)} req/s) [target >= ${TARGET_RATIO}x] ${mark(r.single_ratio_pass)}`,
  );
  say(
    `  median of ${single.round_ratios.length} alternating rounds: ratios ${single.round_ratios.join(", ")}; health req/s ${health.round_rps.join(", ")}; ingest req/s ${single.round_rps.join(", ")}`,
  );
  say(`  ${lat(single.latency_ms)}${cpu(single)}${others(single, 202)}`);
  say(
    `  hand-off (waitUntil): ${fmt(single.handoff.received)} of ${fmt(single.handoff.accepted)} accepted records ` +
      `in the Durable Object, settled ${single.handoff.settle_seconds} s after the phase`,
  );
  say(
    `batch ingest to Durable Object storage: ${fmt(batch.store_records_per_s)} records/s ` +
      `(${fmt(batch.records_stored)}/${fmt(batch.records_sent)} records in ${batch.store_seconds} s, ` +
      `${batch.batches} x ${batch.batch_size}, concurrency ${batch.concurrency}, batch ${lat(batch.batch_latency_ms)})${cpu(batch)}`,
  );
  for (const [k, v] of Object.entries(batch.failed_batches)) say(`  failed batches: ${v}x ${k}`);
  const d1 = batch.d1;
  say(
    `batch ingest end-to-end to D1: ${fmt(d1.e2e_records_per_s)} records/s ` +
      `(${fmt(d1.counters.flushed)}/${fmt(batch.records_stored)} records flushed in ${d1.e2e_seconds} s) ` +
      `[target >= ${fmt(TARGET_RECORDS_PER_S)} records/s] ${mark(r.batch_e2e_pass)}`,
  );
  if (!d1.complete) say(`  D1 flush incomplete: ${d1.outcome}; flush failures ${d1.counters.flush_failures}`);
  say(`  GET /v1/logs?service=${batch.service}&limit=1: ${d1.logs_query_status}, ${d1.logs_found} log(s)`);
  const issues = report.server_log.issues;
  const count = (/** @type {string} */ level) =>
    issues.filter((i) => i.level === level).reduce((n, i) => n + i.count, 0);
  say(
    `server log (${report.server_log.path}): ${count("error")} error(s), ${count("warn")} warning(s), ` +
      `${count("notice")} startup notice(s)`,
  );
  for (const i of issues.filter((i) => i.level !== "notice").slice(0, 8)) say(`  ${i.count}x ${i.level}: ${i.message}`);
  say(`report: ${outPath}`);
}

main().catch((err) => {
  console.error(`bench failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exitCode = 1;
});
