#!/usr/bin/env node
// @ts-check
/**
 * Capacity and cost (`npm run bench:capacity`): starts the monitor with `npm start` (a free port
 * on 127.0.0.1, a temp MONITOR_STATE_DIR, MONITOR_CRONS=off), replays realistic traffic (1% 5xx
 * with error text, 3% 4xx, 0.5% silent failures, browser user agents, consumers, a few hundred
 * endpoints over hours of event time) through POST /v1/logs and through the proxy against a
 * local Node origin, waits until every record is flushed and published, and reads the cost meter
 * (GET /v1/stats `cost`) and D1's size (`/health` `d1_size`, and the local sqlite file) before and
 * after. Then it aggregates and prunes what it wrote (POST /v1/control/prune) and reads the rows
 * the retention deletes wrote. It prints per record: D1 bytes (and the sqlite file's growth), D1
 * and Durable Object rows written, R2 operations and bytes (the archive write-through), dollars per million monitored requests at the
 * list prices of src/cost/prices.ts, the largest average rate that fits 7 days of raw retention
 * in 10 GB, and days until full at 10 to 10,000 requests/s. The same bench measures any later
 * storage path: it only reads the meter and the sizes. Results go to bench/results/capacity-*.json.
 * Bounded by --max-seconds; loopback only.
 * Options: --records <n> --proxied <n> --endpoints <n> --hours <n> --clients <n> --max-seconds <s>
 * --raw-logs all|sampled|auto (the replayed services' `raw_logs.mode`; auto, the default, leaves
 * them unconfigured) --sample-size <n>.
 */
import { readdirSync, statSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createRng } from "../scripts/lib/prng.mjs";
import { signalGroup } from "../sim/processes.mjs";
import { startMonitor } from "../test/e2e/start-monitor.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const RESULTS = join(ROOT, "bench", "results");
const DEV_KEYS = { ingest: "dev-ingest-key", read: "dev-read-key", admin: "dev-admin-key" };
const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));
const GB10 = 10e9;
const DAY_S = 86_400;
const PUBLISH_WAIT_MS = 90_000;

const NUMBERS = {
  records: { default: 60_000, min: 1000, max: 2_000_000 },
  proxied: { default: 2_000, min: 0, max: 100_000 },
  endpoints: { default: 300, min: 1, max: 2000 },
  hours: { default: 6, min: 1, max: 160 },
  clients: { default: 4, min: 1, max: 16 },
  "max-seconds": { default: 900, min: 30, max: 7200 },
};

/**
 * @typedef {object} Options
 * @property {string} rawLogs
 * @property {number} sampleSize
 * @property {number} records
 * @property {number} proxied
 * @property {number} endpoints
 * @property {number} hours
 * @property {number} clients
 * @property {number} maxSeconds
 */

/**
 * @param {string[]} argv
 * @returns {Options}
 */
function parseOptions(argv) {
  /** @type {import("node:util").ParseArgsOptionsConfig} */
  const options = Object.fromEntries(
    [...Object.keys(NUMBERS), "raw-logs", "sample-size"].map((k) => [k, { type: "string" }]),
  );
  const { values } = parseArgs({ args: argv, options });
  const rawLogs = /** @type {string} */ (values["raw-logs"] ?? "auto");
  if (!["all", "sampled", "auto"].includes(rawLogs)) throw new Error("--raw-logs must be all, sampled or auto");
  const sampleSize = Number(values["sample-size"] ?? 2);
  if (!Number.isInteger(sampleSize) || sampleSize < 1 || sampleSize > 1000)
    throw new Error("--sample-size must be an integer in 1..1000");
  /** @type {Record<string, string | number>} */
  const opts = { rawLogs, sampleSize };
  for (const [name, { default: def, min, max }] of Object.entries(NUMBERS)) {
    const n = values[name] === undefined ? def : Number(values[name]);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer in ${min}..${max}`);
    opts[name.replace(/-(\w)/g, (_, c) => c.toUpperCase())] = n;
  }
  return /** @type {Options} */ (/** @type {unknown} */ (opts));
}

const USER_AGENTS = [
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
  "okhttp/4.12.0",
  "python-requests/2.32.3",
];
const ERRORS = [
  "upstream timed out after 3000 ms while reading response header from upstream",
  "TypeError: Cannot read properties of undefined (reading 'items') at handler (/srv/app/orders.js:118:22)",
  "connection refused: postgres://db-primary:5432 (ECONNREFUSED)",
  "503 Service Unavailable: inventory service circuit open",
];
const METHODS = ["GET", "GET", "GET", "POST", "PUT", "DELETE"];

/**
 * Endpoint `i` of the replay: a service and a route with an id segment.
 * @param {number} i
 */
function endpoint(i) {
  const service = `svc-${String(i % 24).padStart(2, "0")}`;
  return { service, method: METHODS[i % METHODS.length], base: `/v1/res${Math.floor(i / 24)}-${i % 7}` };
}

/**
 * Record `n` of the replay: status 1% 5xx (with error text), 3% 4xx, 0.5% silent failures.
 * @param {() => number} rand
 * @param {number} n
 * @param {Options} opts
 * @param {number} start
 * @param {number} span
 */
function makeRecord(rand, n, opts, start, span) {
  const e = endpoint(Math.floor(rand() * opts.endpoints));
  const roll = rand();
  const status =
    roll < 0.01
      ? 500 + Math.floor(rand() * 4)
      : roll < 0.04
        ? [400, 401, 403, 404, 409, 422][Math.floor(rand() * 6)]
        : roll < 0.045
          ? 200
          : 200;
  const silent = roll >= 0.04 && roll < 0.045;
  const latency = Math.round(20 + rand() * rand() * 400);
  return {
    timestamp: Math.floor(start + (n / opts.records) * span + rand() * 1000),
    service: e.service,
    method: e.method,
    path: `${e.base}/${Math.floor(rand() * 100_000)}`,
    route: `${e.base}/:id`,
    status,
    latency_ms: latency,
    ttfb_ms: Math.round(latency * 0.8),
    id: `cap-${n}`,
    request_bytes: e.method === "GET" ? 0 : 200 + Math.floor(rand() * 2000),
    response_bytes: silent ? 0 : 300 + Math.floor(rand() * 8000),
    response_empty: silent || undefined,
    error: status >= 500 ? ERRORS[Math.floor(rand() * ERRORS.length)] : undefined,
    user_agent: USER_AGENTS[Math.floor(rand() * USER_AGENTS.length)],
    consumer: `customer-${Math.floor(rand() * 500)}`,
    client_ip: `203.0.113.${Math.floor(rand() * 250)}`,
    region: ["fra", "iad", "sin", "lhr"][Math.floor(rand() * 4)],
  };
}

/**
 * Bytes of the local D1 sqlite files under the state dir.
 * @param {string} stateDir
 */
function d1FileBytes(stateDir) {
  let total = 0;
  const walk = (/** @type {string} */ dir) => {
    for (const name of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, name.name);
      if (name.isDirectory()) walk(p);
      else if (/\.sqlite(-wal)?$/.test(name.name) && p.includes(`${join("v3", "d1")}`)) total += statSync(p).size;
    }
  };
  try {
    walk(stateDir);
  } catch {
    return null;
  }
  return total;
}

/**
 * A local origin for the proxy: status from the path's last segment, an empty 200 for silent failures.
 * @returns {Promise<import("node:http").Server>}
 */
function startOrigin() {
  const server = createServer((req, res) => {
    const status = Number(/\/s(\d{3})(?:$|\?)/.exec(req.url ?? "")?.[1] ?? 200);
    const empty = (req.url ?? "").includes("/empty");
    req.resume();
    req.on("end", () => {
      if (empty) return res.writeHead(200, { "content-type": "application/json", "content-length": "0" }).end();
      res
        .writeHead(status, { "content-type": "application/json" })
        .end(status >= 500 ? '{"error":"inventory service circuit open"}' : '{"items":[1,2,3],"next":null}');
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

async function main() {
  const opts = parseOptions(process.argv.slice(2));
  const deadline = Date.now() + opts.maxSeconds * 1000;
  await mkdir(RESULTS, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const logPath = join(RESULTS, `capacity-${stamp}.log`);
  /** @type {import("node:child_process").ChildProcess | null} */
  let child = null;
  const origin = await startOrigin();
  process.on("SIGINT", () => {
    // The monitor leads its own process group (test/e2e/start-monitor.mjs): end all of it.
    if (child?.pid) signalGroup(child.pid, "SIGTERM");
    origin.close();
    process.exit(130);
  });
  const monitor = await startMonitor("capacity", {
    env: { HOST: "127.0.0.1", NO_COLOR: "1", FORCE_COLOR: "0" },
    inspector: false,
    logPath,
    timeoutMs: Math.max(0, deadline - Date.now()),
    onSpawn: (c) => (child = c),
  }).catch((/** @type {unknown} */ err) => {
    origin.close();
    throw new Error(`the monitor did not start in time; see ${logPath}`, { cause: err });
  });
  const { url, stateDir } = monitor;
  const KEYS = {
    ingest: monitor.keys.ingest ?? DEV_KEYS.ingest,
    read: monitor.keys.read ?? DEV_KEYS.read,
    admin: monitor.keys.admin ?? DEV_KEYS.admin,
  };
  /**
   * @param {string} path
   * @param {{ method?: string, body?: string, headers?: Record<string, string> }} [init]
   */
  const api = async (path, init = {}, key = KEYS.read) => {
    const res = await fetch(`${url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...(init.headers ?? {}) },
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${init.method ?? "GET"} ${path}: ${res.status} ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : null;
  };
  try {
    const originUrl = `http://127.0.0.1:${/** @type {import("node:net").AddressInfo} */ (origin.address()).port}`;
    if (opts.rawLogs !== "auto") {
      // The replayed services with the asked raw_logs mode (a service setting needs an origin).
      const names = [...new Set(Array.from({ length: opts.endpoints }, (_, i) => endpoint(i).service))];
      for (const name of names) {
        const body = { origin: originUrl, raw_logs: { mode: opts.rawLogs, sample_size: opts.sampleSize } };
        await api(`/v1/services/${name}`, { method: "PUT", body: JSON.stringify(body) }, KEYS.admin);
      }
    }
    const before = { cost: (await api("/v1/stats")).cost, file: d1FileBytes(stateDir) };
    const rand = createRng(13).uniform; // deterministic, so that two runs replay the same traffic
    const span = opts.hours * 3_600_000;
    const start = Date.now() - span - 60_000;

    // 1. Batch ingest: 500-record batches from a few clients.
    const t0 = Date.now();
    let next = 0;
    /** @type {ReturnType<typeof makeRecord>[][]} */
    const batches = [];
    for (let n = 0; n < opts.records; n += 500)
      batches.push(
        Array.from({ length: Math.min(500, opts.records - n) }, (_, i) => makeRecord(rand, n + i, opts, start, span)),
      );
    await Promise.all(
      Array.from({ length: opts.clients }, async () => {
        while (next < batches.length && Date.now() < deadline) {
          const batch = batches[next++];
          await api("/v1/logs", { method: "POST", body: JSON.stringify(batch) }, KEYS.ingest);
        }
      }),
    );
    const ingestSeconds = (Date.now() - t0) / 1000;

    // 2. Proxy: a service whose origin is the local Node server, a few routes.
    await api("/v1/services/cap-proxy", { method: "PUT", body: JSON.stringify({ origin: originUrl }) }, KEYS.admin);
    const t1 = Date.now();
    let sentProxy = 0;
    await Promise.all(
      Array.from({ length: opts.clients }, async () => {
        while (sentProxy < opts.proxied && Date.now() < deadline) {
          const k = sentProxy++;
          const roll = rand();
          const tail = roll < 0.01 ? "s503" : roll < 0.04 ? "s404" : roll < 0.045 ? "empty" : "s200";
          const res = await fetch(`${url}/proxy/cap-proxy/api/r${k % 12}/${tail}`, {
            headers: { "user-agent": USER_AGENTS[k % USER_AGENTS.length] },
          });
          await res.arrayBuffer();
        }
      }),
    );
    const proxySeconds = (Date.now() - t1) / 1000;
    const sent = opts.records + sentProxy;

    // 3. Wait until every record is flushed and every endpoint object published its counts.
    // An endpoint publishes once a minute of its records closed: the proxied records (at the wall
    // clock) are given up to PUBLISH_WAIT_MS more; the figures divide by the records published.
    let after;
    const waitProxiedUntil = Date.now() + PUBLISH_WAIT_MS;
    for (;;) {
      const status = await api("/v1/control/status", {}, KEYS.admin);
      const stats = await api("/v1/stats");
      const published = stats.cost.records - before.cost.records;
      if (
        status.backlog.records === 0 &&
        (published >= sent || (published >= opts.records && Date.now() > waitProxiedUntil))
      ) {
        await sleep(3000);
        after = { cost: (await api("/v1/stats")).cost, file: d1FileBytes(stateDir) };
        break;
      }
      if (Date.now() > deadline)
        throw new Error(
          `not flushed in time: backlog ${status.backlog.records}, published ${stats.cost.records}/${sent}`,
        );
      await sleep(2000);
    }
    const records = after.cost.records - before.cost.records;
    const delta = (/** @type {string} */ f) => after.cost.counts[f] - before.cost.counts[f];
    const prices = after.cost.prices;

    // 4. Retention: summarise, then prune what was written, and read the rows the deletes wrote.
    // Incremental runs (no range) move the aggregation's progress, which bounds what prune may delete.
    for (let i = 0; i < 10; i++) {
      const agg = await api("/v1/control/aggregate", { method: "POST" }, KEYS.admin);
      if (agg.rows === 0) break;
    }
    let deleted = 0;
    let deleteRowsWritten = 0;
    for (let i = 0; i < 20; i++) {
      const pr = await api(`/v1/control/prune?older_than_hours=1`, { method: "POST" }, KEYS.admin);
      deleted += pr.detail?.raw_logs?.deleted ?? 0;
      deleteRowsWritten += pr.detail?.d1_rows_written ?? 0;
      if (pr.detail?.finished !== false) break;
    }

    // Raw rows left after the prune (the last hour): with the deleted ones, the rows D1 stored.
    let remaining = 0;
    let cursor = null;
    do {
      const page = await api(`/v1/logs?limit=1000${cursor ? `&cursor=${cursor}` : ""}`);
      remaining += page.logs.length;
      cursor = page.next_cursor;
    } while (cursor);
    const storedRows = deleted + remaining;

    const bytesD1 = (after.cost.d1_size.bytes - before.cost.d1_size.bytes) / records;
    const bytesFile = after.file !== null && before.file !== null ? (after.file - before.file) / records : null;
    const d1Rows = delta("d1_rows_written") / records;
    const d1DeleteRows = deleted > 0 ? deleteRowsWritten / deleted : null;
    const doRows = delta("do_rows_written") / records;
    const r2Ops = (delta("r2_class_a") + delta("r2_class_b")) / records;
    const r2OpsA = delta("r2_class_a") / records;
    // Bytes the write-through put (gzip NDJSON; the endpoint objects count them).
    const r2Bytes = (delta("r2_bytes_written") || 0) / records;
    const perMillion = (/** @type {number} */ units, /** @type {number} */ price) => (units / records) * price;
    const batchUsd =
      perMillion(delta("worker_requests") - sentProxy, prices.workers_requests_per_million) +
      perMillion(delta("do_requests"), prices.do_requests_per_million) +
      perMillion(delta("do_rows_written"), prices.do_rows_written_per_million) +
      perMillion(delta("do_rows_read"), prices.do_rows_read_per_million) +
      perMillion(delta("d1_rows_written"), prices.d1_rows_written_per_million) +
      perMillion(delta("d1_rows_read"), prices.d1_rows_read_per_million) +
      perMillion(delta("r2_class_a"), prices.r2_class_a_per_million) +
      perMillion(delta("r2_class_b"), prices.r2_class_b_per_million);
    // Every stored row is deleted by retention once: its delete rows, per record ingested.
    const d1DeleteRowsPerRecord = ((d1DeleteRows ?? 0) * storedRows) / records;
    const retentionUsd = d1DeleteRowsPerRecord * prices.d1_rows_written_per_million;
    const maxRate = GB10 / (bytesD1 * 7 * DAY_S);
    const daysUntilFull = Object.fromEntries([10, 100, 1000, 10_000].map((r) => [r, GB10 / (bytesD1 * r * DAY_S)]));
    const result = {
      at: new Date().toISOString(),
      options: opts,
      records_sent: sent,
      records_metered: records,
      proxied: sentProxy,
      ingest_records_per_s: Math.round(opts.records / ingestSeconds),
      proxy_requests_per_s: sentProxy ? Math.round(sentProxy / proxySeconds) : null,
      d1_bytes_per_record: bytesD1,
      sqlite_file_bytes_per_record: bytesFile,
      d1_rows_written_per_record: d1Rows,
      d1_rows_written_per_deleted_record: d1DeleteRows,
      d1_rows_stored: storedRows,
      d1_rows_stored_per_record: storedRows / records,
      d1_rows_written_per_record_with_deletes: d1Rows + d1DeleteRowsPerRecord,
      retention_deleted: deleted,
      do_rows_written_per_record: doRows,
      r2_ops_per_record: r2Ops,
      r2_class_a_per_record: r2OpsA,
      r2_bytes_per_record: r2Bytes,
      usd_per_million_batch: batchUsd,
      usd_per_million_batch_with_retention: batchUsd + retentionUsd,
      usd_per_million_proxy_with_retention: batchUsd + retentionUsd + prices.workers_requests_per_million,
      max_avg_rate_7d_in_10gb: maxRate,
      days_until_full_10gb: daysUntilFull,
      counts_delta: Object.fromEntries(Object.keys(after.cost.counts).map((f) => [f, delta(f)])),
      prices_taken_on: prices.taken_on,
    };
    await writeFile(join(RESULTS, `capacity-${stamp}.json`), JSON.stringify(result, null, 2));
    const f = (/** @type {number | null} */ n, d = 2) =>
      n === null ? "–" : Number(n).toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
    console.log(
      `records: ${sent} (${opts.records} batch ingest at ${result.ingest_records_per_s}/s, ${sentProxy} proxied), ${opts.endpoints} endpoints, ${opts.hours} h of event time`,
    );
    console.log("| figure | value |\n|---|---|");
    console.log(`| D1 bytes per record (size_after growth) | ${f(bytesD1, 0)} |`);
    console.log(`| local sqlite file bytes per record | ${f(bytesFile, 0)} |`);
    console.log(`| D1 rows written per record (insert) | ${f(d1Rows)} |`);
    console.log(`| D1 rows written per record deleted by retention | ${f(d1DeleteRows)} (${deleted} deleted) |`);
    console.log(`| D1 rows stored per record (raw_logs ${opts.rawLogs}) | ${f(storedRows / records, 3)} |`);
    console.log(`| D1 rows written per record, insert and retention delete | ${f(d1Rows + d1DeleteRowsPerRecord)} |`);
    console.log(`| Durable Object rows written per record | ${f(doRows)} |`);
    console.log(`| R2 operations per record (class A) | ${f(r2Ops, 4)} (${f(r2OpsA, 4)}) |`);
    console.log(`| R2 bytes per record (gzip NDJSON put by the write-through) | ${f(r2Bytes, 0)} |`);
    console.log(
      `| $ per million records, batch ingest | ${f(batchUsd)} (with retention deletes ${f(batchUsd + retentionUsd)}) |`,
    );
    console.log(
      `| $ per million requests, proxy (adds a Worker request each) | ${f(batchUsd + retentionUsd + prices.workers_requests_per_million)} |`,
    );
    console.log(`| largest average rate with 7 days in 10 GB | ${f(maxRate, 1)} requests/s |`);
    console.log(
      `| days until 10 GB at 10 / 100 / 1,000 / 10,000 requests/s | ${[10, 100, 1000, 10_000].map((r) => f(daysUntilFull[r], r >= 1000 ? 3 : 1)).join(" / ")} |`,
    );
    console.log(`prices of ${prices.taken_on}; details in bench/results/capacity-${stamp}.json`);
  } finally {
    // Ends the monitor's process group, waits until it is gone and removes its state folder.
    origin.close();
    await monitor.stop();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
