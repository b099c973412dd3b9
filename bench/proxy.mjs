#!/usr/bin/env node
// @ts-check
/**
 * Proxy benchmark (`npm run bench:proxy`): in one run on workerd, against the same local Node
 * origin (test/e2e/origin.mjs in its own process, GET /items answering about 200 bytes of JSON),
 * requests/s and p50/p99 latency at the same concurrency of
 *   (a) the origin directly,
 *   (b) a bare pass-through worker (bench/passthrough-worker.js under its own `wrangler dev`),
 *   (c) the monitored proxy (`/proxy/bench/items` on the monitor, service registered through the
 *       admin API).
 * Targets: throughput (c)/(b) >= 0.9x and p50 added by (c) over (b) <= 1 ms. Both workers run
 * from snapshots of the project (bench/lib/server.mjs), so edits during a run do not reload them.
 *
 * The phases alternate in --rounds rounds (the --duration split between them, the order of (b)
 * and (c) swapped every round); the ratios are the medians of the rounds' ratios. After each
 * (c) round the bench waits until the monitor holds the round's records, so that background
 * work does not spill into the next phase. A short serial pass (concurrency 1) shows the
 * latency each layer adds without queueing. At the end, every 2xx of (c) must be counted as
 * `received` by the endpoint `GET /items` of service `bench` (waiting up to --settle-timeout).
 * The report is printed and written to bench/results/proxy-<timestamp>.json, next to the two
 * wrangler logs of the run. Every phase is bounded in count and time.
 *
 * Options: --duration <s> --rounds <n> --warmup <s> --concurrency <n> --serial-duration <s>
 *          --settle-timeout <s> --log-level <level>
 */
import { spawn } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient, runLoad } from "./lib/load.mjs";
import { parseBenchOptions } from "./lib/options.mjs";
import { KEYS, freePort, startWorker, summariseServerLog } from "./lib/server.mjs";
import { median, processCpuSeconds, sourceVersion } from "./lib/stats.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const RESULTS = join(ROOT, "bench", "results");
const SERVICE = "bench";
const ROUTE = "/items";
const TARGET_RATIO = 0.9;
const TARGET_ADDED_P50_MS = 1;

const OPTIONS = {
  duration: { default: 10, min: 1, max: 120 },
  rounds: { default: 5, min: 1, max: 20 },
  warmup: { default: 2, min: 0, max: 30 },
  concurrency: { default: 32, min: 1, max: 512 },
  "serial-duration": { default: 3, min: 0, max: 60 },
  "settle-timeout": { default: 30, min: 1, max: 300 },
};

/** @typedef {import("./lib/load.mjs").Client} Client */
/** @typedef {Awaited<ReturnType<typeof runLoad>> & { cpu_cores: Record<string, number | null> }} Measured */
/** @typedef {ReturnType<typeof combineRounds>} Combined */
/** @typedef {Awaited<ReturnType<typeof waitForRecords>>} Settle */
/** @typedef {{ origin: Combined, passthrough: Combined, proxy: Combined }} Phases */
/**
 * @typedef {object} ProxyReport
 * @property {string} started_at
 * @property {{ wrangler: string, node: string, cpus: number, source: ReturnType<typeof sourceVersion>, load_average_at_start: (number | null)[], load_average_at_end?: (number | null)[], log_level: string }} environment
 * @property {unknown} options
 * @property {Phases} [phases]
 * @property {Phases} [serial]
 * @property {{ expected_2xx: number, non_2xx_responses: number, proxy_statuses: Record<string, number>, received: number, backlog: number, settle_seconds: number, round_settles: Settle[], complete: boolean }} [records]
 * @property {{ origin_rps: number, passthrough_rps: number, proxy_rps: number, proxy_to_passthrough_ratio: number | null, round_ratios: (number | null)[], ratio_target: number, ratio_pass: boolean, p50_added_ms: number | null, round_p50_added_ms: (number | null)[], p50_added_target_ms: number, p50_added_pass: boolean, passthrough_to_origin_ratio: number | null, serial_p50_added_ms: number | null, records_complete: boolean }} [results]
 * @property {Record<string, { path: string, issues: ReturnType<typeof summariseServerLog> }>} [server_logs]
 */

/** @param {string[]} argv */
function parseOptions(argv) {
  return parseBenchOptions(argv, OPTIONS, [
    "usage: npm run bench:proxy -- [--duration 10] [--rounds 5] [--warmup 2] [--concurrency 32]",
    "       [--serial-duration 3] [--settle-timeout 30] [--log-level warn]",
  ]);
}

const say = (/** @type {string} */ line) => console.log(line);
const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms));
const fmt = (/** @type {number | null | undefined} */ n) =>
  n === null || n === undefined ? "n/a" : String(Math.round(n));
const round2 = (/** @type {number | null | undefined} */ n) =>
  n === null || n === undefined ? null : Math.round(n * 100) / 100;
const mark = (/** @type {boolean} */ ok) => (ok ? "PASS" : "MISS");

/** Starts the origin as its own process (not in the load generator's event loop) and waits until it listens. */
/** @param {number} port */
async function startOriginProcess(port) {
  const child = spawn(process.execPath, [join(ROOT, "test", "e2e", "origin.mjs"), "--port", String(port)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const kill = () => child.exitCode === null && child.kill("SIGKILL");
  process.on("exit", kill);
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  const deadline = Date.now() + 10_000;
  while (!out.includes("origin listening on")) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the origin did not start: ${out}`);
    await sleep(50);
  }
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      for (let i = 0; i < 30 && child.exitCode === null; i++) await sleep(100);
      kill();
    }
    process.off("exit", kill);
  };
  return { pid: child.pid, url: `http://127.0.0.1:${port}`, stop };
}

/** The monitor's counters for `GET /items` of the bench service: `{ received, backlog }` (zeros while unknown). */
/** @param {Client} client */
async function endpointStats(client) {
  const res = await client.request({
    path: `/v1/endpoints/${SERVICE}/GET/${encodeURIComponent(ROUTE)}`,
    headers: { Authorization: `Bearer ${KEYS.READ_KEY}` },
  });
  if (res.status !== 200) return { received: 0, backlog: 1, status: res.status };
  const { received, backlog } = JSON.parse(res.text);
  return { received, backlog, status: res.status };
}

/** Waits until the monitor counted `expected` records of the endpoint and flushed them (bounded). */
/**
 * @param {Client} client
 * @param {number} expected
 * @param {number} timeoutMs
 */
async function waitForRecords(client, expected, timeoutMs) {
  const started = performance.now();
  let stats = { received: 0, backlog: 1 };
  while (performance.now() - started < timeoutMs) {
    stats = await endpointStats(client);
    if (stats.received >= expected && stats.backlog === 0) break;
    await sleep(100);
  }
  return {
    expected,
    received: stats.received,
    backlog: stats.backlog,
    settle_seconds: Math.round(performance.now() - started) / 1000,
  };
}

/** Runs one load phase and adds the CPU share (in cores) used meanwhile by each process involved. */
/**
 * @param {{ client: Client, path: string }} target
 * @param {{ concurrency: number, warmupMs: number, durationMs: number }} load
 * @param {Record<string, () => Promise<number>>} cpuMeters
 */
async function measure(target, load, cpuMeters) {
  const wall = performance.now();
  const client = process.cpuUsage();
  const before = await Promise.all(Object.values(cpuMeters).map((m) => m()));
  const result = /** @type {Measured} */ (
    await runLoad({ ...load, okStatus: 200, send: () => target.client.request({ path: target.path }) })
  );
  const seconds = (performance.now() - wall) / 1000;
  const after = await Promise.all(Object.values(cpuMeters).map((m) => m()));
  const used = process.cpuUsage(client);
  result.cpu_cores = { bench_client: round2((used.user + used.system) / 1e6 / seconds) };
  Object.keys(cpuMeters).forEach((name, i) => (result.cpu_cores[name] = round2((after[i] - before[i]) / seconds)));
  return result;
}

/** Rounds of one phase as one result: mean rate, summed counts, median of the rounds' p50 and p99. */
/** @param {Measured[]} rounds */
function combineRounds(rounds) {
  const sumStatuses = (/** @type {"statuses" | "statuses_including_warmup" | "errors"} */ key) => {
    /** @type {Record<string, number>} */
    const out = {};
    for (const r of rounds) for (const [s, n] of Object.entries(r[key])) out[s] = (out[s] ?? 0) + n;
    return out;
  };
  return {
    rps: Math.round(rounds.reduce((n, r) => n + r.rps, 0) / rounds.length),
    round_rps: rounds.map((r) => r.rps),
    latency_ms: {
      p50: round2(median(rounds.map((r) => r.latency_ms.p50).filter((v) => v !== null))),
      p99: round2(median(rounds.map((r) => r.latency_ms.p99).filter((v) => v !== null))),
    },
    round_p50_ms: rounds.map((r) => r.latency_ms.p50),
    round_p99_ms: rounds.map((r) => r.latency_ms.p99),
    ok_including_warmup: rounds.reduce((n, r) => n + r.ok_including_warmup, 0),
    statuses: sumStatuses("statuses"),
    statuses_including_warmup: sumStatuses("statuses_including_warmup"),
    errors: sumStatuses("errors"),
    cpu_cores: rounds[rounds.length - 1].cpu_cores,
  };
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
  await mkdir(RESULTS, { recursive: true });
  const monitorLog = join(RESULTS, `wrangler-proxy-${stamp}.log`);
  const passthroughLog = join(RESULTS, `wrangler-passthrough-${stamp}.log`);
  const wranglerVersion = JSON.parse(await readFile(join(ROOT, "node_modules/wrangler/package.json"), "utf8")).version;
  say(`edge-monitor proxy bench: wrangler ${wranglerVersion}, node ${process.version}, ${cpus().length} CPUs`);
  const source = sourceVersion(ROOT);

  const [originPort, monitorPort, passthroughPort] = [await freePort(), await freePort(), await freePort()];
  const origin = await startOriginProcess(originPort);
  say(
    `origin on ${origin.url}; starting the monitor (127.0.0.1:${monitorPort}) and the pass-through worker (127.0.0.1:${passthroughPort}) ...`,
  );
  /** @typedef {Awaited<ReturnType<typeof startWorker>>} Worker */
  /** @type {Worker | null} */
  let monitor = null;
  /** @type {Worker | null} */
  let passthrough = null;
  /** @type {Client[]} */
  const clients = [];
  /** @type {ProxyReport} */
  const report = {
    started_at: new Date().toISOString(),
    environment: {
      wrangler: wranglerVersion,
      node: process.version,
      cpus: cpus().length,
      source,
      load_average_at_start: loadavg().map(round2),
      log_level: opts.logLevel,
    },
    options: opts,
  };
  let failed = false;
  try {
    monitor = await startWorker({ cwd: ROOT, port: monitorPort, logPath: monitorLog, logLevel: opts.logLevel });
    passthrough = await startWorker({
      cwd: ROOT,
      port: passthroughPort,
      logPath: passthroughLog,
      logLevel: opts.logLevel,
      script: "bench/passthrough-worker.js",
      name: "bench-passthrough",
      vars: { ORIGIN_HOST: `127.0.0.1:${originPort}` },
      readyPath: ROUTE,
    });
    const maxSockets = opts.concurrency + 4;
    const originClient = createClient({ port: originPort, maxSockets });
    const passthroughClient = createClient({ port: passthroughPort, maxSockets });
    const monitorClient = createClient({ port: monitorPort, maxSockets });
    clients.push(originClient, passthroughClient, monitorClient);

    const put = await monitorClient.request({
      method: "PUT",
      path: `/v1/services/${SERVICE}`,
      headers: { Authorization: `Bearer ${KEYS.ADMIN_KEY}`, "Content-Type": "application/json" },
      body: JSON.stringify({ origin: origin.url }),
    });
    if (put.status !== 201 && put.status !== 200)
      throw new Error(`PUT /v1/services/${SERVICE}: ${put.status} ${put.text}`);

    /** @type {Record<string, { label: string, client: Client, path: string }>} */
    const targets = {
      origin: { label: "(a) origin directly", client: originClient, path: ROUTE },
      passthrough: { label: "(b) bare pass-through worker", client: passthroughClient, path: ROUTE },
      proxy: { label: "(c) monitored proxy", client: monitorClient, path: `/proxy/${SERVICE}${ROUTE}` },
    };
    // The three must answer the same before anything is measured; the proxy's answer is recorded too.
    const reference = await originClient.request({ path: ROUTE });
    let proxyOkOutsideLoad = 0;
    for (const [name, t] of Object.entries(targets)) {
      const res = await t.client.request({ path: t.path });
      if (res.status !== 200 || res.text !== reference.text)
        throw new Error(`${t.label} answered ${res.status}: ${res.text.slice(0, 200)}`);
      if (name === "proxy") proxyOkOutsideLoad++;
    }
    const cpuMeters = {
      // Both workers are running here (started above).
      origin: () => processCpuSeconds(/** @type {number} */ (origin.pid)),
      passthrough_worker: () => /** @type {Worker} */ (passthrough).cpuSeconds(),
      monitor_worker: () => /** @type {Worker} */ (monitor).cpuSeconds(),
    };

    /** @type {Record<string, Measured[]>} */
    const phases = { origin: [], passthrough: [], proxy: [] };
    // Between rounds the wait is shorter: a lost record must not make every round wait in full.
    const roundSettleMs = Math.min(opts.settleTimeout, 10) * 1000;
    /** @type {Settle[]} */
    const settles = [];
    const load = (/** @type {number} */ round, /** @type {number} */ concurrency, /** @type {number} */ durationS) => ({
      concurrency,
      warmupMs: round === 1 ? opts.warmup * 1000 : Math.min(opts.warmup * 1000, 500),
      durationMs: (durationS * 1000) / opts.rounds,
    });
    /** @type {Record<string, Measured[]>} */
    const serial = { origin: [], passthrough: [], proxy: [] };
    const proxyOk = () =>
      proxyOkOutsideLoad + [...phases.proxy, ...serial.proxy].reduce((n, r) => n + r.ok_including_warmup, 0);
    for (let round = 1; round <= opts.rounds; round++) {
      // (b) and (c) swap places every round, so that neither always follows the other.
      const order = round % 2 ? ["origin", "passthrough", "proxy"] : ["origin", "proxy", "passthrough"];
      say(`round ${round}/${opts.rounds}: ${order.join(", ")} at C=${opts.concurrency} ...`);
      for (const name of order) {
        phases[name].push(await measure(targets[name], load(round, opts.concurrency, opts.duration), cpuMeters));
        // The proxy's records are handed off in waitUntil: let them land before the next phase.
        if (name === "proxy") settles.push(await waitForRecords(monitorClient, proxyOk(), roundSettleMs));
      }
      if (opts.serialDuration > 0) {
        for (const name of order) {
          serial[name].push(
            await measure(targets[name], { ...load(round, 1, opts.serialDuration), warmupMs: 100 }, cpuMeters),
          );
          if (name === "proxy") settles.push(await waitForRecords(monitorClient, proxyOk(), roundSettleMs));
        }
      }
    }

    // Every 2xx of (c), warm-ups and checks included, must be one record of the endpoint.
    const expected = proxyOk();
    const final = await waitForRecords(monitorClient, expected, opts.settleTimeout * 1000);
    /** @type {Record<string, number>} */
    const proxyStatuses = {};
    for (const r of [...phases.proxy, ...serial.proxy]) {
      for (const [s, n] of Object.entries(r.statuses_including_warmup)) proxyStatuses[s] = (proxyStatuses[s] ?? 0) + n;
    }
    const non2xx = Object.entries(proxyStatuses)
      .filter(([s]) => !s.startsWith("2"))
      .reduce((n, [, c]) => n + c, 0);
    const recordsOk = final.received === expected && final.backlog === 0;

    const ratios = phases.proxy.map((c, i) => (phases.passthrough[i].rps > 0 ? c.rps / phases.passthrough[i].rps : 0));
    // null - null is 0 and a number - null the number, as they always were.
    const num = (/** @type {number | null} */ v) => /** @type {number} */ (v);
    const added = phases.proxy.map((c, i) => num(c.latency_ms.p50) - num(phases.passthrough[i].latency_ms.p50));
    const workerCost = phases.passthrough.map((b, i) => (phases.origin[i].rps > 0 ? b.rps / phases.origin[i].rps : 0));
    const serialAdded = serial.proxy.map((c, i) => num(c.latency_ms.p50) - num(serial.passthrough[i].latency_ms.p50));
    const ratio = median(ratios);
    const addedP50 = median(added);

    report.phases = {
      origin: combineRounds(phases.origin),
      passthrough: combineRounds(phases.passthrough),
      proxy: combineRounds(phases.proxy),
    };
    if (opts.serialDuration > 0) {
      report.serial = {
        origin: combineRounds(serial.origin),
        passthrough: combineRounds(serial.passthrough),
        proxy: combineRounds(serial.proxy),
      };
    }
    report.records = {
      expected_2xx: expected,
      non_2xx_responses: non2xx,
      proxy_statuses: proxyStatuses,
      received: final.received,
      backlog: final.backlog,
      settle_seconds: final.settle_seconds,
      round_settles: settles,
      complete: recordsOk,
    };
    report.results = {
      origin_rps: report.phases.origin.rps,
      passthrough_rps: report.phases.passthrough.rps,
      proxy_rps: report.phases.proxy.rps,
      proxy_to_passthrough_ratio: round2(ratio),
      round_ratios: ratios.map(round2),
      ratio_target: TARGET_RATIO,
      ratio_pass: num(ratio) >= TARGET_RATIO,
      p50_added_ms: round2(addedP50),
      round_p50_added_ms: added.map(round2),
      p50_added_target_ms: TARGET_ADDED_P50_MS,
      p50_added_pass: num(addedP50) <= TARGET_ADDED_P50_MS,
      passthrough_to_origin_ratio: round2(median(workerCost)),
      serial_p50_added_ms: opts.serialDuration > 0 ? round2(median(serialAdded)) : null,
      records_complete: recordsOk,
    };
    failed = !recordsOk || non2xx > 0;
  } catch (err) {
    for (const [name, path] of [
      ["monitor", monitorLog],
      ["pass-through", passthroughLog],
    ]) {
      const issues = summariseServerLog(await readFile(path, "utf8").catch(() => ""));
      for (const i of issues.slice(0, 6)) console.error(`  ${name} ${i.level} x${i.count}: ${i.message}`);
    }
    throw err;
  } finally {
    for (const c of clients) c.close();
    await passthrough?.stop();
    await monitor?.stop();
    await origin.stop();
  }
  report.environment.load_average_at_end = loadavg().map(round2);
  report.server_logs = {};
  for (const [name, path] of [
    ["monitor", monitorLog],
    ["passthrough", passthroughLog],
  ]) {
    report.server_logs[name] = {
      path: relative(ROOT, path),
      issues: summariseServerLog(await readFile(path, "utf8").catch(() => "")),
    };
  }
  const outPath = join(RESULTS, `proxy-${stamp}.json`);
  await writeFile(outPath, `${JSON.stringify(report, null, 2)}\n`);
  printReport(/** @type {Required<ProxyReport>} */ (report), opts, relative(ROOT, outPath));
  process.exitCode = failed ? 1 : 0;
}

/**
 * @param {Required<ProxyReport>} report
 * @param {Record<string, number>} opts
 * @param {string} outPath
 */
function printReport(report, opts, outPath) {
  const r = report.results;
  const env = report.environment;
  const lat = (/** @type {{ p50: number | null, p99: number | null }} */ l) => `p50 ${l.p50} ms, p99 ${l.p99} ms`;
  const cpu = (/** @type {Combined} */ p) =>
    ` [cpu cores: ${Object.entries(p.cpu_cores)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}]`;
  const others = (/** @type {Combined} */ p) => {
    const bad = Object.entries(p.statuses_including_warmup).filter(([s]) => s !== "200");
    const errs = Object.entries(p.errors);
    return bad.length + errs.length === 0
      ? ""
      : `  other: ${[...bad, ...errs].map(([k, v]) => `${k} x${v}`).join("; ")}`;
  };
  say("");
  say("==== proxy benchmark ====");
  say(
    `source: commit ${env.source.commit}${env.source.uncommitted_changes ? " + uncommitted changes (snapshot taken at start)" : ""}`,
  );
  say(
    `${env.cpus} CPUs shared by client, origin and workers; load average ${env.load_average_at_start[0]} at start, ${/** @type {(number | null)[]} */ (env.load_average_at_end)[0]} at end`,
  );
  say(
    `GET /items (~${200} B JSON), C=${opts.concurrency}, ${opts.rounds} alternating rounds of ${round2(opts.duration / opts.rounds)} s per phase:`,
  );
  for (const [name, label] of [
    ["origin", "(a) origin directly     "],
    ["passthrough", "(b) bare pass-through   "],
    ["proxy", "(c) monitored proxy     "],
  ]) {
    const p = report.phases[/** @type {keyof Phases} */ (name)];
    say(`  ${label} ${fmt(p.rps)} req/s (${lat(p.latency_ms)}); rounds ${p.round_rps.join(", ")}${cpu(p)}${others(p)}`);
  }
  say(
    `throughput (c)/(b): ${/** @type {number} */ (r.proxy_to_passthrough_ratio).toFixed(2)}x [target >= ${TARGET_RATIO}x] ${mark(r.ratio_pass)}  (rounds ${r.round_ratios.join(", ")})`,
  );
  say(
    `p50 added by (c) over (b): ${r.p50_added_ms} ms [target <= ${TARGET_ADDED_P50_MS} ms] ${mark(r.p50_added_pass)}  (rounds ${r.round_p50_added_ms.join(", ")})`,
  );
  say(`(b)/(a), the cost of any worker in front under wrangler dev: ${r.passthrough_to_origin_ratio}x`);
  if (report.serial) {
    const s = report.serial;
    say(
      `serial (C=1) p50: origin ${s.origin.latency_ms.p50} ms, pass-through ${s.passthrough.latency_ms.p50} ms, ` +
        `proxy ${s.proxy.latency_ms.p50} ms: proxy adds ${r.serial_p50_added_ms} ms over pass-through`,
    );
  }
  const rec = report.records;
  say(
    `records: ${rec.received} received by ${SERVICE} GET ${ROUTE} for ${rec.expected_2xx} 2xx responses of (c)` +
      `${rec.non_2xx_responses ? ` (+${rec.non_2xx_responses} non-2xx)` : ""}, backlog ${rec.backlog}, ` +
      `settled ${rec.settle_seconds} s after the run: ${rec.complete ? "OK" : "MISMATCH"}`,
  );
  for (const [name, log] of Object.entries(report.server_logs)) {
    const count = (/** @type {string} */ level) =>
      log.issues.filter((i) => i.level === level).reduce((n, i) => n + i.count, 0);
    say(`${name} log (${log.path}): ${count("error")} error(s), ${count("warn")} warning(s)`);
    for (const i of log.issues.filter((i) => i.level !== "notice").slice(0, 5))
      say(`  ${i.count}x ${i.level}: ${i.message}`);
  }
  say(`report: ${outPath}`);
}

main().catch((err) => {
  console.error(`bench failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exitCode = 1;
});
