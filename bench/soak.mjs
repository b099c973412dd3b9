#!/usr/bin/env node
/**
 * Soak (`npm run bench:soak`): starts the monitor with `npm start` (a free port on 127.0.0.1, a
 * temp MONITOR_STATE_DIR, MONITOR_CRONS=off), runs the sustained backfill tool against it
 * (/work/shared/tools/backfill-stress.mjs by default: 24 services x 3,600 minutes x 20 records in
 * 500-record batches from 6 clients, about 1.7M records) and samples the resident memory of the
 * workerd processes under wrangler every few seconds. The curve goes to bench/results/soak-<time>.json
 * (with the server's output next to it) and a summary is printed: records sent, records/s, whether
 * every answer was 2xx, workerd RSS at start / peak / end and its slope over the second half, and
 * any runtime restart wrangler reported. Bounded by --max-seconds; loopback only.
 *
 * Throughput depends on what else runs on the machine; memory is the figure that matters here.
 * Options: --tool <path> --services <n> --minutes <n> --rate <n> --clients <n> --max-seconds <s>
 *          --sample-seconds <s> --tail-seconds <s> (samples after the tool ends) --port <n> --server direct|wrangler (default direct: MONITOR_SERVER=direct,
 *          Miniflare without wrangler dev's proxy, whose keep-alive race drops POSTs; see scripts/serve-direct.mjs)
 */
import { execFileSync, spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdtempSync, rmSync } from "node:fs";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { freePort } from "./lib/server.mjs";
import { rssSummary } from "./lib/rss.mjs";
import { heapSampler } from "./lib/heap.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const RESULTS = join(ROOT, "bench", "results");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const NUMBERS = {
  services: { default: 24, min: 1, max: 200 },
  minutes: { default: 3600, min: 1, max: 4320 },
  rate: { default: 20, min: 1, max: 200 },
  clients: { default: 6, min: 1, max: 32 },
  "max-seconds": { default: 1200, min: 10, max: 7200 },
  "sample-seconds": { default: 3, min: 1, max: 60 },
  // Keep sampling this long after the tool ends: whether memory falls back once the flushes settle.
  "tail-seconds": { default: 60, min: 0, max: 1800 },
  port: { default: 0, min: 0, max: 65_535 },
  // 0: wrangler.toml's INGEST_MAX_IN_FLIGHT; otherwise passed to the worker (--server direct only).
  "max-in-flight": { default: 0, min: 0, max: 1_000_000 },
};
const USAGE = [
  "usage: npm run bench:soak -- [--tool ../shared/tools/backfill-stress.mjs] [--services 24] [--minutes 3600]",
  "       [--rate 20] [--clients 6] [--max-seconds 1200] [--sample-seconds 3] [--tail-seconds 60] [--port <free>] [--server direct|wrangler]",
];

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: { ...Object.fromEntries(Object.keys(NUMBERS).map((k) => [k, { type: "string" }])), tool: { type: "string" }, server: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    for (const line of USAGE) console.log(line);
    process.exit(0);
  }
  const opts = { tool: values.tool ? resolve(values.tool) : defaultTool(), server: values.server ?? "direct" };
  if (!["direct", "wrangler"].includes(opts.server)) throw new Error("--server must be direct or wrangler");
  for (const [name, { default: def, min, max }] of Object.entries(NUMBERS)) {
    const n = values[name] === undefined ? def : Number(values[name]);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer in ${min}..${max}`);
    opts[name.replace(/-(\w)/g, (_, c) => c.toUpperCase())] = n;
  }
  if (!existsSync(opts.tool)) throw new Error(`the backfill tool is not at ${opts.tool} (pass --tool <path>)`);
  return opts;
}

/** Live processes as {pid, ppid, comm} (Linux /proc). */
async function processes() {
  const out = [];
  for (const entry of await readdir("/proc").catch(() => [])) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    const open = stat.indexOf("("), close = stat.lastIndexOf(")");
    if (open < 0 || close < 0) continue;
    out.push({ pid: Number(entry), comm: stat.slice(open + 1, close), ppid: Number(stat.slice(close + 2).split(" ")[1]) });
  }
  return out;
}

/** The workerd processes below `rootPid`, each with its resident set in KiB. */
async function workerdRss(rootPid) {
  const all = await processes();
  const below = new Set([rootPid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of all) if (!below.has(p.pid) && below.has(p.ppid)) (below.add(p.pid), (grew = true));
  }
  const found = [];
  for (const p of all) {
    if (!below.has(p.pid) || p.comm !== "workerd") continue;
    const status = await readFile(`/proc/${p.pid}/status`, "utf8").catch(() => "");
    const field = (name) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
    const kb = field("VmRSS");
    // RssAnon: the heaps (V8, SQLite's page caches, workerd's own); RssFile: mapped files (the
    // binary, and SQLite databases when they are memory-mapped), which the kernel can reclaim.
    if (Number.isFinite(kb)) found.push({ pid: p.pid, rss_kb: kb, anon_kb: field("RssAnon"), file_kb: field("RssFile"), shmem_kb: field("RssShmem") });
  }
  return found;
}

/** Resident memory of workerd `pids` by mapping (file path, or [heap]/anonymous), MiB, largest first. */
async function rssByMapping(pids) {
  const by = new Map();
  for (const pid of pids) {
    const text = await readFile(`/proc/${pid}/smaps`, "utf8").catch(() => "");
    let name = "";
    for (const line of text.split("\n")) {
      const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
      if (head) name = head[1] || "(anonymous)";
      const rss = /^Rss:\s+(\d+) kB/.exec(line);
      if (rss) by.set(name, (by.get(name) ?? 0) + Number(rss[1]));
    }
  }
  return [...by].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([mapping, kb]) => ({ mapping, mib: Math.round(kb / 102.4) / 10 }));
}

/** Size on disk of the local state (D1 and Durable Object SQLite files), MB. */
async function stateMb(dir) {
  let bytes = 0;
  const walk = async (d) => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else bytes += (await stat(join(d, e.name)).catch(() => ({ size: 0 }))).size;
    }
  };
  await walk(dir);
  return Math.round(bytes / 1e5) / 10;
}

function signalGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * ../shared/tools/backfill-stress.mjs next to the repository; from a git worktree elsewhere, next
 * to the main checkout (the parent of the common .git directory).
 */
function defaultTool() {
  const relativePath = join("..", "shared", "tools", "backfill-stress.mjs");
  const candidates = [resolve(ROOT, relativePath)];
  try {
    const common = execFileSync("git", ["rev-parse", "--path-format=absolute", "--git-common-dir"], { cwd: ROOT, encoding: "utf8" }).trim();
    candidates.push(resolve(dirname(common), relativePath));
  } catch {
    // not a git checkout
  }
  return candidates.find((p) => existsSync(p)) ?? candidates[0];
}

/** Median, p99 and max of the liveness probes' waits. */
function stallSummary(stalls) {
  const ms = stalls.map((s) => s.ms).sort((a, b) => a - b);
  const at = (q) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))] ?? null;
  const worst = stalls.reduce((w, s) => (w === null || s.ms > w.ms ? s : w), null);
  return { probes: ms.length, median: at(0.5), p99: at(0.99), max: worst?.ms ?? null, max_at_s: worst?.t_s ?? null, over_1s: ms.filter((m) => m > 1000).length };
}

async function main() {
  const opts = parseOptions(process.argv.slice(2));
  await mkdir(RESULTS, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const logPath = join(RESULTS, `soak-${stamp}.log`);
  const resultPath = join(RESULTS, `soak-${stamp}.json`);
  const port = opts.port === 0 ? await freePort() : await freePort(opts.port);
  const stateDir = mkdtempSync(join(tmpdir(), "edge-monitor-soak-"));
  const log = createWriteStream(logPath);
  let output = "";
  const spawnedAt = Date.now();
  // The direct server takes workerd's inspector port: the soak reads the V8 heaps through it.
  const inspectorPort = opts.server === "direct" ? await freePort() : 0;
  const server = spawn("npm", ["start", ...(inspectorPort ? ["--", "--inspector-port", String(inspectorPort)] : [])], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), HOST: "127.0.0.1", MONITOR_STATE_DIR: stateDir, MONITOR_CRONS: "off", MONITOR_SERVER: opts.server, ...(opts.maxInFlight > 0 ? { INGEST_MAX_IN_FLIGHT: String(opts.maxInFlight) } : {}), NO_COLOR: "1", FORCE_COLOR: "0" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let partial = "";
  const onData = (d) => {
    // Each line of the server's output gets the time since start, to match it with the curve.
    const lines = (partial + d).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) log.write(`[${((Date.now() - spawnedAt) / 1000).toFixed(1)}s] ${line}\n`);
    if (output.length < 1_000_000) output += d;
  };
  server.stdout.on("data", onData);
  server.stderr.on("data", onData);
  let tool = null;
  const cleanup = () => {
    if (tool && tool.exitCode === null) tool.kill("SIGKILL");
    signalGroup(server.pid, "SIGKILL");
    rmSync(stateDir, { recursive: true, force: true, maxRetries: 3 });
  };
  const onSignal = (signal) => {
    cleanup();
    process.stderr.write(`\nsoak: ${signal}, monitor stopped\n`);
    process.exit(130);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("exit", cleanup);

  const started = Date.now();
  while (!output.includes("edge-monitor is running at")) {
    if (server.exitCode !== null) throw new Error(`npm start exited (${server.exitCode}); see ${logPath}`);
    if (Date.now() - started > 180_000) throw new Error(`the monitor did not start within 180 s; see ${logPath}`);
    await sleep(250);
  }
  const ingestKey = /ingest key: (\S+)/.exec(output)?.[1] ?? "dev-ingest-key";
  const url = `http://127.0.0.1:${port}`;
  console.log(`soak: monitor at ${url}, ${opts.services} services x ${opts.minutes} min x ${opts.rate}/min (${opts.services * opts.minutes * opts.rate} records), ${opts.clients} clients, at most ${opts.maxSeconds} s`);

  const samples = [];
  const t0 = Date.now();
  const heaps = inspectorPort ? await heapSampler(inspectorPort).catch(() => null) : null;
  const sample = async () => {
    const procs = await workerdRss(server.pid);
    const sum = (k) => procs.reduce((n, p) => n + (p[k] || 0), 0);
    // V8 heaps of every isolate (the worker and its objects, local D1, ...): what of the anonymous
    // memory is JavaScript; the rest is SQLite's caches and workerd's own.
    const heap = heaps ? await heaps.usage() : null;
    const heapKb = heap ? Object.values(heap).reduce((n, h) => n + h.total_kb, 0) : null;
    const workerHeapKb = heap?.["core:user:edge-monitor"]?.total_kb ?? null;
    samples.push({ t_s: Math.round((Date.now() - t0) / 100) / 10, rss_kb: sum("rss_kb"), anon_kb: sum("anon_kb"), file_kb: sum("file_kb"), shmem_kb: sum("shmem_kb"), v8_heap_kb: heapKb, worker_heap_kb: workerHeapKb, state_mb: await stateMb(stateDir), processes: procs });
  };
  await sample();
  const loadBefore = loadavg();
  let toolOut = "";
  tool = spawn(process.execPath, [opts.tool, "--url", url, "--ingest", ingestKey, "--services", String(opts.services), "--minutes", String(opts.minutes), "--rate", String(opts.rate), "--clients", String(opts.clients)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  tool.stdout.on("data", (d) => (toolOut += d));
  tool.stderr.on("data", (d) => (toolOut += d));
  const toolExit = new Promise((res) => tool.on("exit", (code, signal) => res(code ?? signal)));
  let timedOut = false;
  const deadline = setTimeout(() => {
    timedOut = true;
    tool.kill("SIGKILL");
  }, opts.maxSeconds * 1000);
  let lastShown = 0;
  let exit = null;
  void toolExit.then((code) => (exit = code));
  // Stalls of the workerd thread, seen from outside: the time GET /health/live waits for an
  // answer (the worker, every object and local D1 share one thread), 4 times a second.
  const stalls = [];
  const probe = (async () => {
    while (exit === null) {
      const at = performance.now();
      const ok = await fetch(`${url}/health/live`).then((r) => r.ok, () => false);
      stalls.push({ t_s: Math.round((Date.now() - t0) / 100) / 10, ms: Math.round(performance.now() - at), ok });
      await sleep(250);
    }
  })();
  while (exit === null) {
    await sample();
    const s = samples[samples.length - 1];
    if (s.t_s - lastShown >= 30) {
      lastShown = s.t_s;
      console.log(`  ${s.t_s.toFixed(0).padStart(5)} s  workerd RSS ${(s.rss_kb / 1024).toFixed(0)} MiB (${s.processes.map((p) => `${p.pid}:${(p.rss_kb / 1024).toFixed(0)}`).join(" ")})${s.v8_heap_kb !== null ? `, V8 heaps ${(s.v8_heap_kb / 1024).toFixed(0)} MiB` : ""}, state ${s.state_mb} MB`);
    }
    await Promise.race([sleep(opts.sampleSeconds * 1000), toolExit]);
  }
  clearTimeout(deadline);
  await probe;
  const toolEnded = Math.round((Date.now() - t0) / 100) / 10;
  for (const until = Date.now() + opts.tailSeconds * 1000; Date.now() < until; ) {
    await sleep(opts.sampleSeconds * 1000);
    await sample();
  }
  await sample();
  const seconds = toolEnded;
  const loadAfter = loadavg();
  // The worker's own view: records still in background hand-offs, requests held back, drops.
  const health = await fetch(`${url}/health`).then((r) => r.json()).catch(() => null);

  const sentLine = /sent (\d+) records of .* (\d+) records\/s, every answer 2xx/.exec(toolOut);
  const failLine = /after (\d+) records in ([\d.]+) s: (.*)/.exec(toolOut);
  // Stopped by --max-seconds, the tool prints nothing: what the worker accepted is what was sent.
  let sent = Number(sentLine?.[1] ?? failLine?.[1] ?? 0);
  if (!sentLine && !failLine && typeof health?.ingest?.accepted === "number") sent = health.ingest.accepted;
  const restarts = (output.match(/The Workers runtime crashed unexpectedly/g) ?? []).length;
  const pids = [...new Set(samples.flatMap((s) => s.processes.map((p) => p.pid)))];
  const mappings = await rssByMapping((samples[samples.length - 1]?.processes ?? []).map((p) => p.pid));
  const rss = rssSummary(samples.map((s) => ({ t_s: s.t_s, rss_kb: s.rss_kb })));
  const anon = rssSummary(samples.map((s) => ({ t_s: s.t_s, rss_kb: s.anon_kb })));
  const file = rssSummary(samples.map((s) => ({ t_s: s.t_s, rss_kb: s.file_kb })));
  // Then a full collection in every isolate: the JavaScript the worker and its objects still hold.
  const afterGc = heaps ? await heaps.afterGc() : null;
  const withHeap = samples.filter((s) => s.v8_heap_kb !== null);
  const v8 = rssSummary(withHeap.map((s) => ({ t_s: s.t_s, rss_kb: s.v8_heap_kb })));
  const workerHeap = rssSummary(withHeap.filter((s) => s.worker_heap_kb !== null).map((s) => ({ t_s: s.t_s, rss_kb: s.worker_heap_kb })));
  const nonHeap = rssSummary(withHeap.map((s) => ({ t_s: s.t_s, rss_kb: s.anon_kb - s.v8_heap_kb })));
  heaps?.close();
  const summary = {
    records_planned: opts.services * opts.minutes * opts.rate,
    records_sent: sent,
    seconds: Math.round(seconds * 10) / 10,
    records_per_s: Math.round(sent / seconds),
    all_2xx: Boolean(sentLine) && exit === 0,
    /** No answer other than 2xx before --max-seconds stopped the tool. */
    no_failure_before_stop: timedOut && !failLine,
    first_failure: failLine ? failLine[3].slice(0, 300) : timedOut ? `stopped after --max-seconds ${opts.maxSeconds}` : null,
    runtime_restarts: restarts,
    workerd_pids: pids,
    rss_mib: rss,
    /** RSS when the tool ended and at the end of the idle tail (--tail-seconds later). */
    rss_tool_end_mib: Math.round((samples.filter((x) => x.t_s <= toolEnded).at(-1)?.rss_kb ?? 0) / 102.4) / 10,
    tail_seconds: opts.tailSeconds,
    rss_anon_mib: anon,
    rss_file_mib: file,
    v8_heap_mib: withHeap.length ? v8 : null,
    /** Every isolate's heap after a forced full collection at the end: used (live) and committed, MiB. */
    v8_after_gc_mib: afterGc
      ? Object.fromEntries(Object.entries(afterGc).filter(([, h]) => h.total_kb > 2048).map(([id, h]) => [id, { used: Math.round(h.used_kb / 102.4) / 10, total: Math.round(h.total_kb / 102.4) / 10 }]))
      : null,
    worker_heap_mib: withHeap.length ? workerHeap : null,
    anon_outside_v8_mib: withHeap.length ? nonHeap : null,
    state_mb_end: samples[samples.length - 1]?.state_mb ?? null,
    rss_by_mapping_end: mappings,
    server: opts.server,
    load_average_before: loadBefore.map((n) => Math.round(n * 100) / 100),
    load_average_after: loadAfter.map((n) => Math.round(n * 100) / 100),
    ingest: health?.ingest ?? null,
    liveness_ms: stallSummary(stalls),
  };
  await writeFile(resultPath, JSON.stringify({ options: { ...opts, tool: opts.tool }, summary, samples, liveness: stalls }, null, 2));

  // Stop the monitor (SIGINT to the group, as Ctrl-C would) before printing.
  signalGroup(server.pid, "SIGINT");
  for (let i = 0; i < 50 && signalGroup(server.pid, 0); i++) await sleep(100);
  cleanup();
  log.end();

  console.log("");
  console.log(`records sent     ${sent} of ${summary.records_planned} in ${summary.seconds} s: ${summary.records_per_s} records/s (shared machine: noisy)`);
  console.log(`every answer 2xx ${summary.all_2xx ? "yes" : summary.no_failure_before_stop ? `yes until --max-seconds ${opts.maxSeconds} stopped the tool (not all records sent)` : `NO: ${summary.first_failure ?? toolOut.trim().slice(-300)}`}`);
  console.log(`runtime restarts ${restarts}${restarts > 0 ? " (wrangler: the Workers runtime crashed unexpectedly)" : ""}`);
  console.log(`workerd RSS      start ${rss.start} MiB, peak ${rss.peak} MiB, end ${rss.end} MiB; second half slope ${rss.slope_second_half_mib_per_min} MiB/min (${samples.length} samples)`);
  if (opts.tailSeconds > 0) console.log(`  idle tail      ${summary.rss_tool_end_mib} MiB when the tool ended, ${rss.end} MiB ${opts.tailSeconds} s later`);
  console.log(`  of which        anon (heaps) ${anon.start} -> ${anon.end} MiB (slope ${anon.slope_second_half_mib_per_min}/min), file-backed ${file.start} -> ${file.end} MiB (slope ${file.slope_second_half_mib_per_min}/min); state on disk ${summary.state_mb_end} MB at end`);
  if (withHeap.length) console.log(`  V8 heaps       all isolates ${v8.start} -> ${v8.end} MiB (slope ${v8.slope_second_half_mib_per_min}/min; the worker and its objects ${workerHeap.start} -> ${workerHeap.end}); anon outside V8 (SQLite caches, workerd) ${nonHeap.start} -> ${nonHeap.end} MiB (slope ${nonHeap.slope_second_half_mib_per_min}/min)`);
  if (summary.v8_after_gc_mib) console.log(`  after full GC  ${Object.entries(summary.v8_after_gc_mib).map(([id, h]) => `${id} ${h.used}/${h.total}`).join(", ")} MiB (used/committed)`);
  console.log(`  by mapping      ${mappings.map((m) => `${m.mapping.split("/").pop()} ${m.mib}`).join(", ")} MiB`);
  console.log(`server           ${opts.server === "direct" ? "MONITOR_SERVER=direct (Miniflare, no wrangler dev proxy)" : "wrangler dev"}; load average ${summary.load_average_before.join(" ")} before, ${summary.load_average_after.join(" ")} after (2 cores)`);
  const l = summary.liveness_ms;
  console.log(`thread stalls    GET /health/live waited median ${l.median} ms, p99 ${l.p99} ms, max ${l.max} ms (at ${l.max_at_s} s); ${l.over_1s} of ${l.probes} over 1 s`);
  if (summary.ingest) console.log(`ingest           accepted ${summary.ingest.accepted}, held back for backpressure ${summary.ingest.backpressured_requests} requests (in flight at most ${summary.ingest.backpressured_max_in_flight}), in flight at end ${summary.ingest.in_flight_records}, dropped ${summary.ingest.dropped}, fallback to D1 ${summary.ingest.fallback_to_d1}`);
  console.log(`curve            ${relative(ROOT, resultPath)}; server output ${relative(ROOT, logPath)}`);
  process.exitCode = summary.all_2xx ? 0 : 1;
}

main().catch((err) => {
  console.error(`soak: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
