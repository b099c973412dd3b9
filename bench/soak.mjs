#!/usr/bin/env node
// @ts-check
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
 * Memory is split by kind (/proc status and smaps_rollup: anonymous, file-backed, shared) and by
 * what backs each mapping (smaps: every SQLite file by name, the binary, anonymous memory; see
 * lib/proc-mem.mjs), with the V8 heaps beside it; each gets a slope after --warmup-seconds, and
 * the run a verdict on "flat" (anonymous RSS, --flat-mib-per-min over at least
 * --min-window-seconds). See --help for the experiment options (--gc-every, --env, --var,
 * --keep-state, --state-dir).
 *
 * Throughput depends on what else runs on the machine; memory is the figure that matters here.
 * Options: --tool <path> --services <n> --minutes <n> --rate <n> --clients <n> --max-seconds <s>
 *          --sample-seconds <s> --tail-seconds <s> (samples after the tool ends) --port <n> --server direct|wrangler (default direct: MONITOR_SERVER=direct,
 *          Miniflare without wrangler dev's proxy, whose keep-alive race drops POSTs; see scripts/serve-direct.mjs)
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { freePort } from "./lib/server.mjs";
import { flatVerdict, linearSlope, rssSummary, slopeBetween } from "./lib/rss.mjs";
import { mergeGroups, readProcessMemory } from "./lib/proc-mem.mjs";
import { heapSampler } from "./lib/heap.mjs";
import { startMonitor } from "../test/e2e/start-monitor.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const RESULTS = join(ROOT, "bench", "results");
const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

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
  // Slopes "after warm-up" start here: the first minutes fill caches and create every object.
  "warmup-seconds": { default: 120, min: 0, max: 3600 },
  // A verdict needs at least this much load after warm-up; shorter: inconclusive, never a pass.
  "min-window-seconds": { default: 300, min: 0, max: 7200 },
  // Read /proc/PID/smaps (by mapping) every n-th sample; status and smaps_rollup every sample.
  "smaps-every": { default: 1, min: 1, max: 100 },
  // Experiment: force a full collection (gc() in every isolate) every n seconds during the load, 0
  // for never: anonymous memory that then stays flat was garbage waiting for V8, not native growth.
  "gc-every": { default: 0, min: 0, max: 3600 },
  // Read workerd's native counters (SQLite's and tcmalloc's, through gdb: bench/native-mem.sh) every
  // n seconds, 0 for never; also once after the final collection, then with tcmalloc's free pages
  // released. Each read pauses workerd for about a second.
  "native-every": { default: 0, min: 0, max: 3600 },
};
/**
 * "Flat": anonymous RSS after warm-up grows at most this much a minute while the load runs
 * (MiB/min, --flat-mib-per-min; a decimal). Over a default run (1.7M records, 3-25 minutes on
 * this machine) 1 MiB/min is at most 25 MiB, inside the 30-55 MiB the V8 heaps swing between
 * collections; growth that follows the records or the data stored is tens of MiB/min at this load
 * (31 MiB/min measured at 5,300 records/s).
 */
const FLAT_DEFAULT_MIB_PER_MIN = 1;
const USAGE = [
  "usage: npm run bench:soak -- [--tool ../shared/tools/backfill-stress.mjs] [--services 24] [--minutes 3600]",
  "       [--rate 20] [--clients 6] [--max-seconds 1200] [--sample-seconds 3] [--tail-seconds 60] [--port <free>] [--server direct|wrangler]",
  "       [--warmup-seconds 120] [--min-window-seconds 300] [--flat-mib-per-min 1] [--smaps-every 1] [--gc-every 0] [--native-every 0] [--env NAME=VALUE ...] (passed to npm start and so to workerd) [--var NAME:VALUE ...] (a worker variable)",
  "       [--keep-state] (print and keep the state folder) [--state-dir <folder>] (start on a kept one)",
];

/**
 * The options once parsed (the numeric ones camel-cased from NUMBERS).
 * @typedef {object} SoakOptions
 * @property {string} tool
 * @property {string} server
 * @property {number} services
 * @property {number} minutes
 * @property {number} rate
 * @property {number} clients
 * @property {number} maxSeconds
 * @property {number} sampleSeconds
 * @property {number} tailSeconds
 * @property {number} port
 * @property {number} maxInFlight
 * @property {number} warmupSeconds
 * @property {number} minWindowSeconds
 * @property {number} smapsEvery
 * @property {number} gcEvery
 * @property {number} nativeEvery
 * @property {number} flatMibPerMin
 * @property {string | null} stateDir
 * @property {boolean} keepState
 * @property {string[]} vars
 * @property {Record<string, string>} env
 */
/** @typedef {NonNullable<Awaited<ReturnType<typeof readProcessMemory>>>} ProcessMemory */
/** @typedef {{ pid: number, rss_kb: number, anon_kb: number, file_kb: number, shmem_kb: number }} ProcessSample */
/**
 * One point of the curve.
 * @typedef {object} Sample
 * @property {number} t_s
 * @property {number} rss_kb
 * @property {number} anon_kb
 * @property {number} file_kb
 * @property {number} shmem_kb
 * @property {Record<string, number>} rollup_kb
 * @property {Record<string, number> | null} mappings_kb
 * @property {number | null} v8_heap_kb
 * @property {number | null} worker_heap_kb
 * @property {number | null} v8_backing_kb
 * @property {number} state_mb
 * @property {ProcessSample[]} processes
 */
/** @typedef {{ t_s: number, ms: number, ok: boolean }} Stall */
/**
 * Slopes after warm-up (MiB/min; `anon_mib_per_gb_stored` is set after the rest).
 * @typedef {object} AfterWarmup
 * @property {number} from_s
 * @property {number} to_s
 * @property {number | null} rss
 * @property {number | null} anon
 * @property {number | null} file
 * @property {number | null} shmem
 * @property {number | null} v8_heaps
 * @property {number | null} anon_outside_v8
 * @property {number | null} v8_backing_stores
 * @property {number | null} state_on_disk_mb
 * @property {Record<string, number | null>} by_mapping
 * @property {number | null} anon_mib_per_gb_stored
 */

/**
 * @param {string[]} argv
 * @returns {SoakOptions}
 */
function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...Object.fromEntries(Object.keys(NUMBERS).map((k) => [k, { type: "string" }])),
      tool: { type: "string" },
      server: { type: "string" },
      "flat-mib-per-min": { type: "string" },
      env: { type: "string", multiple: true },
      var: { type: "string", multiple: true },
      "state-dir": { type: "string" },
      "keep-state": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    for (const line of USAGE) console.log(line);
    process.exit(0);
  }
  const opts = /** @type {SoakOptions} */ ({
    tool: values.tool ? resolve(values.tool) : defaultTool(),
    server: values.server ?? "direct",
  });
  const numbers = /** @type {Record<string, string | undefined>} */ (values);
  if (!["direct", "wrangler"].includes(opts.server)) throw new Error("--server must be direct or wrangler");
  for (const [name, { default: def, min, max }] of Object.entries(NUMBERS)) {
    const n = numbers[name] === undefined ? def : Number(numbers[name]);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer in ${min}..${max}`);
    /** @type {Record<string, unknown>} */ (opts)[name.replace(/-(\w)/g, (_, c) => c.toUpperCase())] = n;
  }
  opts.flatMibPerMin =
    values["flat-mib-per-min"] === undefined ? FLAT_DEFAULT_MIB_PER_MIN : Number(values["flat-mib-per-min"]);
  if (!Number.isFinite(opts.flatMibPerMin) || opts.flatMibPerMin <= 0)
    throw new Error("--flat-mib-per-min must be a positive number");
  opts.stateDir = values["state-dir"] ? resolve(values["state-dir"]) : null;
  if (opts.stateDir && !existsSync(opts.stateDir)) throw new Error(`--state-dir ${opts.stateDir} does not exist`);
  opts.keepState = Boolean(values["keep-state"]);
  // --var NAME:VALUE (repeatable): a worker variable for this run, passed to `npm start -- --var`.
  opts.vars = values.var ?? [];
  for (const v of opts.vars) if (!/^[A-Z_][A-Z0-9_]*:/.test(v)) throw new Error(`--var takes NAME:VALUE, not ${v}`);
  opts.env = {};
  for (const pair of values.env ?? []) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(pair);
    if (!m) throw new Error(`--env takes NAME=VALUE, not ${pair}`);
    opts.env[m[1]] = m[2];
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
    const open = stat.indexOf("("),
      close = stat.lastIndexOf(")");
    if (open < 0 || close < 0) continue;
    out.push({
      pid: Number(entry),
      comm: stat.slice(open + 1, close),
      ppid: Number(stat.slice(close + 2).split(" ")[1]),
    });
  }
  return out;
}

/**
 * The workerd processes below `rootPid` (there may be several), each with its memory as
 * `readProcessMemory` reads it (RssAnon: heaps, the V8 ones, SQLite's page caches, workerd's own;
 * RssFile: mapped files, which the kernel can drop and read again). `smaps`: also sum
 * /proc/PID/smaps by mapping.
 * @param {number | undefined} rootPid
 * @param {boolean} smaps
 */
async function workerdMemory(rootPid, smaps) {
  const all = await processes();
  const below = new Set([rootPid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const p of all) if (!below.has(p.pid) && below.has(p.ppid)) (below.add(p.pid), (grew = true));
  }
  /** @type {ProcessMemory[]} */
  const found = [];
  for (const p of all) {
    if (!below.has(p.pid) || p.comm !== "workerd") continue;
    const mem = await readProcessMemory(p.pid, { smaps });
    if (mem) found.push(mem);
  }
  return found;
}

/**
 * Mapping groups as {group: rss_kb} for the curve (groups under 1 MiB resident left out).
 * @param {Record<string, import("./lib/proc-mem.mjs").SmapsGroup>} groups
 */
function groupRss(groups) {
  return Object.fromEntries(
    Object.entries(groups)
      .filter(([, g]) => g.rss_kb >= 1024)
      .map(([k, g]) => [k, g.rss_kb]),
  );
}

/**
 * Sizes on disk of the SQLite files under `dir`, {name: bytes}.
 * @param {string} dir
 */
async function sqliteSizes(dir) {
  /** @type {Record<string, number>} */
  const out = {};
  const walk = async (/** @type {string} */ d) => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else if (/\.sqlite(-shm|-wal)?$/.test(e.name))
        out[e.name] = (await stat(join(d, e.name)).catch(() => ({ size: 0 }))).size;
    }
  };
  await walk(dir);
  return out;
}

/**
 * Size on disk of the local state (D1 and Durable Object SQLite files), MB.
 * @param {string} dir
 */
async function stateMb(dir) {
  let bytes = 0;
  const walk = async (/** @type {string} */ d) => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else bytes += (await stat(join(d, e.name)).catch(() => ({ size: 0 }))).size;
    }
  };
  await walk(dir);
  return Math.round(bytes / 1e5) / 10;
}

/**
 * SQLite's and tcmalloc's counters of a workerd process (bench/native-mem.sh, gdb), or null.
 * @param {number} pid
 * @param {boolean} release
 * @returns {Record<string, number> | null}
 */
function nativeMemory(pid, release) {
  try {
    const out = execFileSync(join(ROOT, "bench", "native-mem.sh"), [String(pid), ...(release ? ["release"] : [])], {
      encoding: "utf8",
      timeout: 30_000,
      stdio: ["ignore", "pipe", "ignore"],
    });
    const n = JSON.parse(out.trim().split("\n").at(-1) ?? "");
    return "generic.current_allocated_bytes" in n ? n : null;
  } catch {
    return null;
  }
}

/**
 * @param {number | undefined} pgid
 * @param {NodeJS.Signals | 0} signal
 */
function signalGroup(pgid, signal) {
  try {
    process.kill(-(/** @type {number} */ (pgid)), signal);
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
    const common = execFileSync("git", ["rev-parse", "--path-format=absolute", "--git-common-dir"], {
      cwd: ROOT,
      encoding: "utf8",
    }).trim();
    candidates.push(resolve(dirname(common), relativePath));
  } catch {
    // not a git checkout
  }
  return candidates.find((p) => existsSync(p)) ?? candidates[0];
}

/**
 * Median, p99 and max of the liveness probes' waits.
 * @param {Stall[]} stalls
 */
function stallSummary(stalls) {
  const ms = stalls.map((s) => s.ms).sort((a, b) => a - b);
  const at = (/** @type {number} */ q) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))] ?? null;
  const worst = stalls.reduce((w, s) => (w === null || s.ms > w.ms ? s : w), /** @type {Stall | null} */ (null));
  return {
    probes: ms.length,
    median: at(0.5),
    p99: at(0.99),
    max: worst?.ms ?? null,
    max_at_s: worst?.t_s ?? null,
    over_1s: ms.filter((m) => m > 1000).length,
  };
}

async function main() {
  const opts = parseOptions(process.argv.slice(2));
  await mkdir(RESULTS, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const logPath = join(RESULTS, `soak-${stamp}.log`);
  const resultPath = join(RESULTS, `soak-${stamp}.json`);
  const port = opts.port === 0 ? await freePort() : await freePort(opts.port);
  // --state-dir: start on (and keep) an existing state folder, e.g. the databases a previous run
  // filled (with --keep-state): what a fresh workerd holds over large databases.
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), "edge-monitor-soak-"));
  /** @type {import("node:child_process").ChildProcess | null} */
  let server = null;
  /** @type {import("node:child_process").ChildProcessByStdio<null, import("node:stream").Readable, import("node:stream").Readable> | null} */
  let tool = null;
  const cleanup = () => {
    if (tool && tool.exitCode === null) tool.kill("SIGKILL");
    signalGroup(server?.pid, "SIGKILL");
    if (!opts.stateDir && !opts.keepState) rmSync(stateDir, { recursive: true, force: true, maxRetries: 3 });
  };
  const onSignal = (/** @type {string} */ signal) => {
    cleanup();
    process.stderr.write(`\nsoak: ${signal}, monitor stopped\n`);
    process.exit(130);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("exit", cleanup);

  // The direct server takes workerd's inspector port: the soak reads the V8 heaps through it, and
  // with --expose-gc forces a full collection in each isolate at the end (lib/heap.mjs).
  const direct = opts.server === "direct";
  // --var NAME:VALUE as startMonitor takes it (split at the first colon).
  const vars = Object.fromEntries(opts.vars.map((v) => [v.slice(0, v.indexOf(":")), v.slice(v.indexOf(":") + 1)]));
  const monitor = await startMonitor("soak", {
    server: direct ? "direct" : "wrangler",
    port,
    stateDir,
    vars,
    inspector: direct,
    env: {
      HOST: "127.0.0.1",
      ...(direct ? { MINIFLARE_WORKERD_V8_FLAGS: "--expose-gc" } : {}),
      ...opts.env,
      ...(opts.maxInFlight > 0 ? { INGEST_MAX_IN_FLIGHT: String(opts.maxInFlight) } : {}),
      NO_COLOR: "1",
      FORCE_COLOR: "0",
    },
    // Each line of the server's output gets the time since the spawn, to match it with the curve.
    logPath,
    maxOutput: 1_000_000,
    timeoutMs: 180_000,
    onSpawn: (child) => (server = child),
  }).catch((/** @type {unknown} */ err) => {
    throw new Error(`the monitor did not start within 180 s; see ${logPath}`, { cause: err });
  });
  // Spawned detached, the npm process leads the group the memory sampling walks.
  const serverPid = /** @type {number} */ (monitor.child.pid);
  const inspectorPort = monitor.inspectorPort;
  const ingestKey = monitor.keys.ingest ?? "dev-ingest-key";
  const url = `http://127.0.0.1:${port}`;
  console.log(
    `soak: monitor at ${url}, ${opts.services} services x ${opts.minutes} min x ${opts.rate}/min (${opts.services * opts.minutes * opts.rate} records), ${opts.clients} clients, at most ${opts.maxSeconds} s`,
  );

  /** @type {Sample[]} */
  const samples = [];
  const t0 = Date.now();
  const heaps = inspectorPort ? await heapSampler(inspectorPort).catch(() => null) : null;
  /** @type {ProcessMemory[]} */
  let lastMemory = [];
  const sample = async () => {
    const withSmaps = samples.length % opts.smapsEvery === 0;
    const procs = await workerdMemory(serverPid, withSmaps);
    if (procs.length) lastMemory = procs;
    const sum = (/** @type {"rss_kb" | "anon_kb" | "file_kb" | "shmem_kb"} */ k) =>
      procs.reduce((n, p) => n + (p[k] || 0), 0);
    // V8 heaps of every isolate (the worker and its objects, local D1, ...): what of the anonymous
    // memory is JavaScript; the rest is SQLite's caches and workerd's own.
    // An isolate too busy to answer is left out; none answering is "not read" (null), not 0 MiB.
    const read = heaps ? await heaps.usage() : null;
    const heap = read && Object.keys(read).length > 0 ? read : null;
    const heapKb = heap ? Object.values(heap).reduce((n, h) => n + h.total_kb, 0) : null;
    const workerHeapKb = heap?.["core:user:edge-monitor"]?.total_kb ?? null;
    const backingKb = heap ? Object.values(heap).reduce((n, h) => n + (h.backing_kb ?? 0), 0) : null;
    /** @type {Record<string, number>} */
    const rollup = {};
    for (const p of procs) for (const [k, v] of Object.entries(p.rollup)) rollup[k] = (rollup[k] ?? 0) + v;
    samples.push({
      t_s: Math.round((Date.now() - t0) / 100) / 10,
      rss_kb: sum("rss_kb"),
      anon_kb: sum("anon_kb"),
      file_kb: sum("file_kb"),
      shmem_kb: sum("shmem_kb"),
      rollup_kb: rollup,
      // Resident kB by what backs it (smaps): each SQLite file, the binary, anonymous memory.
      mappings_kb: withSmaps ? groupRss(mergeGroups(procs.map((p) => p.groups ?? {}))) : null,
      v8_heap_kb: heapKb,
      worker_heap_kb: workerHeapKb,
      /** ArrayBuffer backing stores of every isolate (outside the V8 heap, freed when V8 collects their owners). */
      v8_backing_kb: backingKb,
      state_mb: await stateMb(stateDir),
      processes: procs.map((p) => ({
        pid: p.pid,
        rss_kb: p.rss_kb,
        anon_kb: p.anon_kb,
        file_kb: p.file_kb,
        shmem_kb: p.shmem_kb,
      })),
    });
  };
  await sample();
  const loadBefore = loadavg();
  let toolOut = "";
  tool = spawn(
    process.execPath,
    [
      opts.tool,
      "--url",
      url,
      "--ingest",
      ingestKey,
      "--services",
      String(opts.services),
      "--minutes",
      String(opts.minutes),
      "--rate",
      String(opts.rate),
      "--clients",
      String(opts.clients),
    ],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
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
  /** @type {Stall[]} */
  const stalls = [];
  const probe = (async () => {
    while (exit === null) {
      const at = performance.now();
      const ok = await fetch(`${url}/health/live`).then(
        (r) => r.ok,
        () => false,
      );
      stalls.push({ t_s: Math.round((Date.now() - t0) / 100) / 10, ms: Math.round(performance.now() - at), ok });
      await sleep(250);
    }
  })();
  let lastGc = 0;
  const forcedGcs = [];
  // --native-every: SQLite's and tcmalloc's own counters over time (each workerd process).
  /** @type {Record<string, number>[]} */
  const natives = [];
  let lastNative = -Infinity;
  const nativeSample = (release = false) => {
    for (const p of lastMemory) {
      const n = nativeMemory(p.pid, release);
      if (n) natives.push({ t_s: Math.round((Date.now() - t0) / 100) / 10, ...n });
    }
  };
  while (exit === null) {
    if (heaps && opts.gcEvery > 0 && (Date.now() - t0) / 1000 - lastGc >= opts.gcEvery) {
      lastGc = (Date.now() - t0) / 1000;
      const at = performance.now();
      const gc = await heaps.afterGc();
      forcedGcs.push({
        t_s: Math.round(lastGc * 10) / 10,
        collected: gc.collected,
        ms: Math.round(performance.now() - at),
      });
    }
    if (opts.nativeEvery > 0 && (Date.now() - t0) / 1000 - lastNative >= opts.nativeEvery) {
      lastNative = (Date.now() - t0) / 1000;
      nativeSample();
    }
    await sample();
    const s = samples[samples.length - 1];
    if (s.t_s - lastShown >= 30) {
      lastShown = s.t_s;
      console.log(
        `  ${s.t_s.toFixed(0).padStart(5)} s  workerd RSS ${(s.rss_kb / 1024).toFixed(0)} MiB (anon ${(s.anon_kb / 1024).toFixed(0)}, file ${(s.file_kb / 1024).toFixed(0)}; ${s.processes.map((p) => `${p.pid}:${(p.rss_kb / 1024).toFixed(0)}`).join(" ")})${s.v8_heap_kb !== null ? `, V8 heaps ${(s.v8_heap_kb / 1024).toFixed(0)} MiB` : ""}, state ${s.state_mb} MB`,
      );
    }
    await Promise.race([sleep(opts.sampleSeconds * 1000), toolExit]);
  }
  clearTimeout(deadline);
  await probe;
  const toolEnded = Math.round((Date.now() - t0) / 100) / 10;
  for (const until = Date.now() + opts.tailSeconds * 1000; Date.now() < until;) {
    await sleep(opts.sampleSeconds * 1000);
    if (opts.nativeEvery > 0 && (Date.now() - t0) / 1000 - lastNative >= opts.nativeEvery) {
      lastNative = (Date.now() - t0) / 1000;
      nativeSample();
    }
    await sample();
  }
  await sample();
  const seconds = toolEnded;
  const loadAfter = loadavg();
  // The worker's own view: records still in background hand-offs, requests held back, drops.
  const health = await fetch(`${url}/health`)
    .then((r) => r.json())
    .catch(() => null);

  const sentLine = /sent (\d+) records of .* (\d+) records\/s, every answer 2xx/.exec(toolOut);
  const failLine = /after (\d+) records in ([\d.]+) s: (.*)/.exec(toolOut);
  // Stopped by --max-seconds, the tool prints nothing: what the worker accepted is what was sent.
  let sent = Number(sentLine?.[1] ?? failLine?.[1] ?? 0);
  if (!sentLine && !failLine && typeof health?.ingest?.accepted === "number") sent = health.ingest.accepted;
  const restarts = (monitor.output().match(/The Workers runtime crashed unexpectedly/g) ?? []).length;
  const pids = [...new Set(samples.flatMap((s) => s.processes.map((p) => p.pid)))];
  // Every mapping at the end of the run, before and after the forced collection below.
  const endMemory = await workerdMemory(serverPid, true);
  const endGroups = mergeGroups(endMemory.map((p) => p.groups ?? {}));
  const mappings = Object.entries(endGroups)
    .sort((a, b) => b[1].rss_kb - a[1].rss_kb)
    .slice(0, 12)
    .map(([mapping, g]) => ({
      mapping,
      mib: Math.round(g.rss_kb / 102.4) / 10,
      mapped_mib: Math.round(g.size_kb / 102.4) / 10,
      mappings: g.mappings,
      file_backed: g.file_backed,
    }));
  const diskSqlite = await sqliteSizes(stateDir);
  const sqliteFiles = {
    on_disk: Object.keys(diskSqlite).length,
    on_disk_mb: Math.round(Object.values(diskSqlite).reduce((n, b) => n + b, 0) / 1e5) / 10,
    open: new Set(endMemory.flatMap((p) => p.open_sqlite)).size,
    mapped: Object.keys(endGroups).filter((g) => g.startsWith("sqlite:")).length,
    mapped_resident_mib:
      Math.round(
        Object.entries(endGroups)
          .filter(([g]) => g.startsWith("sqlite:"))
          .reduce((n, [, g]) => n + g.rss_kb, 0) / 102.4,
      ) / 10,
    /** The mapped files, by name: which of a database's files (.sqlite, -shm, -wal) are mapped, and how much of each is resident. */
    mapped_files: Object.fromEntries(
      Object.entries(endGroups)
        .filter(([g]) => g.startsWith("sqlite:"))
        .map(([g, x]) => [g.replace(/^sqlite:/, ""), { mapped_kb: x.size_kb, rss_kb: x.rss_kb }]),
    ),
  };
  const threads = [...new Set(endMemory.flatMap((p) => p.threads))];
  const rss = rssSummary(samples.map((s) => ({ t_s: s.t_s, rss_kb: s.rss_kb })));
  const anon = rssSummary(samples.map((s) => ({ t_s: s.t_s, rss_kb: s.anon_kb })));
  const file = rssSummary(samples.map((s) => ({ t_s: s.t_s, rss_kb: s.file_kb })));
  // Then a full collection in every isolate: the JavaScript the worker and its objects still hold.
  const afterGc = heaps ? await heaps.afterGc() : null;
  const withHeap = samples.filter((s) => s.v8_heap_kb !== null);
  const v8 = rssSummary(withHeap.map((s) => ({ t_s: s.t_s, rss_kb: /** @type {number} */ (s.v8_heap_kb) })));
  const workerHeap = rssSummary(
    withHeap
      .filter((s) => s.worker_heap_kb !== null)
      .map((s) => ({ t_s: s.t_s, rss_kb: /** @type {number} */ (s.worker_heap_kb) })),
  );
  const nonHeap = rssSummary(
    withHeap.map((s) => ({ t_s: s.t_s, rss_kb: s.anon_kb - /** @type {number} */ (s.v8_heap_kb) })),
  );
  heaps?.close();
  const afterGcMemory = await workerdMemory(serverPid, false);
  // After the collection: what SQLite and tcmalloc hold, then with tcmalloc's free pages released.
  const nativeBeforeGc = natives.length;
  if (opts.nativeEvery > 0) nativeSample(true);
  const afterGcKb = (/** @type {"rss_kb" | "anon_kb" | "file_kb"} */ k) => afterGcMemory.reduce((n, p) => n + p[k], 0);

  // Slopes after warm-up while the load runs (MiB/min): which part of RSS keeps growing.
  const from = opts.warmupSeconds;
  const slope = (/** @type {(s: Sample) => number} */ pick) =>
    slopeBetween(
      samples.map((s) => ({ t_s: s.t_s, kb: pick(s) })).filter((s) => Number.isFinite(s.kb)),
      from,
      toolEnded,
    );
  const groupNames = [...new Set(samples.flatMap((s) => Object.keys(s.mappings_kb ?? {})))];
  const afterWarmup = /** @type {AfterWarmup} */ ({
    from_s: from,
    to_s: toolEnded,
    rss: slope((s) => s.rss_kb),
    anon: slope((s) => s.anon_kb),
    file: slope((s) => s.file_kb),
    shmem: slope((s) => s.shmem_kb),
    v8_heaps: withHeap.length ? slope((s) => s.v8_heap_kb ?? NaN) : null,
    anon_outside_v8: withHeap.length ? slope((s) => (s.v8_heap_kb === null ? NaN : s.anon_kb - s.v8_heap_kb)) : null,
    v8_backing_stores: withHeap.length ? slope((s) => s.v8_backing_kb ?? NaN) : null,
    /** State on disk, MB a minute (not MiB). */
    state_on_disk_mb: slope((s) => s.state_mb * 1024),
    by_mapping: Object.fromEntries(
      groupNames
        .map(
          (g) =>
            /** @type {[string, number | null]} */ ([g, slope((s) => (s.mappings_kb ? (s.mappings_kb[g] ?? 0) : NaN))]),
        )
        .filter(([, v]) => v !== null && Math.abs(v) >= 0.05)
        .sort((a, b) => /** @type {number} */ (b[1]) - /** @type {number} */ (a[1])),
    ),
  });
  // Anonymous RSS against the data stored (MiB per GB on disk, after warm-up): a figure that does
  // not depend on how fast this shared machine let the run go.
  const warm = samples.filter((s) => s.t_s >= from && s.t_s <= toolEnded);
  afterWarmup.anon_mib_per_gb_stored =
    warm.length > 1 ? Math.round(linearSlope(warm.map((s) => ({ x: s.state_mb / 1000, y: s.anon_kb / 1024 })))) : null;
  const verdict = flatVerdict(afterWarmup.anon, opts.flatMibPerMin, toolEnded - from, opts.minWindowSeconds);
  const summary = {
    records_planned: opts.services * opts.minutes * opts.rate,
    records_sent: sent,
    seconds: Math.round(seconds * 10) / 10,
    records_per_s: Math.round(sent / seconds),
    all_2xx: Boolean(sentLine) && exit === 0,
    /** No answer other than 2xx before --max-seconds stopped the tool. */
    no_failure_before_stop: timedOut && !failLine,
    first_failure: failLine
      ? failLine[3].slice(0, 300)
      : timedOut
        ? `stopped after --max-seconds ${opts.maxSeconds}`
        : null,
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
    /** Isolates that confirmed the forced collection, of those asked (0: the heaps below are not live data). */
    gc_confirmed: afterGc ? `${afterGc.collected} of ${afterGc.isolates}` : null,
    v8_after_gc_mib: afterGc
      ? Object.fromEntries(
          Object.entries(afterGc.heaps)
            .filter(([, h]) => h.total_kb > 2048)
            .map(([id, h]) => [
              id,
              { used: Math.round(h.used_kb / 102.4) / 10, total: Math.round(h.total_kb / 102.4) / 10 },
            ]),
        )
      : null,
    worker_heap_mib: withHeap.length ? workerHeap : null,
    anon_outside_v8_mib: withHeap.length ? nonHeap : null,
    state_mb_end: samples[samples.length - 1]?.state_mb ?? null,
    rss_by_mapping_end: mappings,
    /** Slopes in MiB/min from --warmup-seconds to the end of the load, by kind of memory and by mapping. */
    slope_after_warmup_mib_per_min: afterWarmup,
    /** "Flat": anonymous RSS slope after warm-up at most --flat-mib-per-min. */
    flat: {
      ...verdict,
      threshold_mib_per_min: opts.flatMibPerMin,
      warmup_seconds: from,
      min_window_seconds: opts.minWindowSeconds,
    },
    /** RSS, anonymous and file-backed, MiB, right after the forced full collection at the end. */
    after_gc_rss_mib: afterGcMemory.length
      ? {
          rss: Math.round(afterGcKb("rss_kb") / 102.4) / 10,
          anon: Math.round(afterGcKb("anon_kb") / 102.4) / 10,
          file: Math.round(afterGcKb("file_kb") / 102.4) / 10,
        }
      : null,
    /** Local SQLite files: on disk, open in workerd, and mapped into its memory (with what of them is resident). */
    sqlite_files: sqliteFiles,
    workerd_threads: threads,
    env: opts.env,
    vars: opts.vars,
    /** --gc-every: the forced collections during the load (time, isolates collected, how long it took). */
    /** --native-every: SQLite's and tcmalloc's counters (bytes), during the run and after the final collection. */
    native: opts.nativeEvery > 0 ? { samples: natives, after_gc: natives.slice(nativeBeforeGc) } : null,
    forced_gcs:
      opts.gcEvery > 0
        ? {
            count: forcedGcs.length,
            every_s: opts.gcEvery,
            max_ms: Math.max(0, ...forcedGcs.map((g) => g.ms)),
            collected_min: Math.min(...forcedGcs.map((g) => g.collected)),
          }
        : null,
    server: opts.server,
    load_average_before: loadBefore.map((n) => Math.round(n * 100) / 100),
    load_average_after: loadAfter.map((n) => Math.round(n * 100) / 100),
    ingest: health?.ingest ?? null,
    liveness_ms: stallSummary(stalls),
  };
  await writeFile(
    resultPath,
    JSON.stringify({ options: { ...opts, tool: opts.tool }, summary, samples, liveness: stalls }, null, 2),
  );

  // Stop the monitor (SIGINT to the group, as Ctrl-C would) before printing.
  await monitor.stop();
  cleanup();

  console.log("");
  console.log(
    `records sent     ${sent} of ${summary.records_planned} in ${summary.seconds} s: ${summary.records_per_s} records/s (shared machine: noisy)`,
  );
  console.log(
    `every answer 2xx ${summary.all_2xx ? "yes" : summary.no_failure_before_stop ? `yes until --max-seconds ${opts.maxSeconds} stopped the tool (not all records sent)` : `NO: ${summary.first_failure ?? toolOut.trim().slice(-300)}`}`,
  );
  console.log(
    `runtime restarts ${restarts}${restarts > 0 ? " (wrangler: the Workers runtime crashed unexpectedly)" : ""}`,
  );
  console.log(
    `workerd RSS      start ${rss.start} MiB, peak ${rss.peak} MiB, end ${rss.end} MiB; second half slope ${rss.slope_second_half_mib_per_min} MiB/min (${samples.length} samples)`,
  );
  if (opts.tailSeconds > 0)
    console.log(
      `  idle tail      ${summary.rss_tool_end_mib} MiB when the tool ended, ${rss.end} MiB ${opts.tailSeconds} s later`,
    );
  console.log(
    `  of which        anon (heaps) ${anon.start} -> ${anon.end} MiB (slope ${anon.slope_second_half_mib_per_min}/min), file-backed ${file.start} -> ${file.end} MiB (slope ${file.slope_second_half_mib_per_min}/min); state on disk ${summary.state_mb_end} MB at end`,
  );
  if (withHeap.length)
    console.log(
      `  V8 heaps       all isolates ${v8.start} -> ${v8.end} MiB (slope ${v8.slope_second_half_mib_per_min}/min; the worker and its objects ${workerHeap.start} -> ${workerHeap.end}); anon outside V8 (workerd's malloc heap, SQLite's caches in it) ${nonHeap.start} -> ${nonHeap.end} MiB (slope ${nonHeap.slope_second_half_mib_per_min}/min)`,
    );
  if (summary.v8_after_gc_mib)
    console.log(
      `  after full GC  (collection confirmed by ${summary.gc_confirmed} isolates) ${Object.entries(
        summary.v8_after_gc_mib,
      )
        .map(([id, h]) => `${id} ${h.used}/${h.total}`)
        .join(", ")} MiB (used/committed)`,
    );
  console.log(
    `  by mapping      ${mappings
      .slice(0, 6)
      .map(
        (m) =>
          `${m.mapping.replace(/[0-9a-f]{64}/, (h) => h.slice(0, 8))} ${m.mib}${m.mapping.startsWith("anon") ? ` (${m.mappings} maps)` : ""}`,
      )
      .join(", ")} MiB resident at end`,
  );
  const sq = summary.sqlite_files;
  console.log(
    `  SQLite files    ${sq.on_disk} on disk (${sq.on_disk_mb} MB), ${sq.open} open in workerd, ${sq.mapped} mapped (${sq.mapped_resident_mib} MiB resident${sq.mapped ? `; mapped kinds: ${[...new Set(Object.keys(sq.mapped_files).map((n) => n.replace(/^.*\.sqlite/, ".sqlite")))].join(", ")}` : ""})`,
  );
  if (summary.after_gc_rss_mib)
    console.log(
      `  after full GC   RSS ${summary.after_gc_rss_mib.rss} MiB (anon ${summary.after_gc_rss_mib.anon}, file ${summary.after_gc_rss_mib.file})`,
    );
  const w = afterWarmup;
  const f = (/** @type {number | null} */ v) => (v === null ? "n/a" : `${v >= 0 ? "+" : ""}${v}`);
  console.log(
    `slope after warm-up (${w.from_s}-${w.to_s} s, MiB/min): RSS ${f(w.rss)}, anon ${f(w.anon)}, file-backed ${f(w.file)}, shmem ${f(w.shmem)}${w.v8_heaps !== null ? `, V8 heaps ${f(w.v8_heaps)}, anon outside V8 ${f(w.anon_outside_v8)} (of it ArrayBuffer backing stores ${f(w.v8_backing_stores)})` : ""}; state on disk ${f(w.state_on_disk_mb)} MB/min; anon ${f(w.anon_mib_per_gb_stored)} MiB per GB stored`,
  );
  console.log(
    `  by mapping      ${
      Object.entries(w.by_mapping)
        .slice(0, 8)
        .map(([g, v]) => `${g} ${f(v)}`)
        .join(", ") || "none above 0.05"
    }`,
  );
  if (summary.native && natives.length) {
    const mib = (/** @type {number} */ b) => Math.round(b / 104857.6) / 10;
    const line = (/** @type {Record<string, number>} */ n) =>
      `SQLite ${mib(n.sqlite_used)}, tcmalloc allocated ${mib(n["generic.current_allocated_bytes"])} of ${mib(n["generic.heap_size"])} held (free in page heap ${mib(n["tcmalloc.pageheap_free_bytes"])}, in caches ${mib(n["tcmalloc.central_cache_free"] + n["tcmalloc.transfer_cache_free"] + n["tcmalloc.thread_cache_free"] + n["tcmalloc.cpu_free"])})`;
    const during = natives.slice(0, nativeBeforeGc);
    console.log(
      `native (MiB)     first: ${line(during[0] ?? natives[0])}; last under load: ${line(during.at(-1) ?? natives[0])}`,
    );
    const ag = natives.slice(nativeBeforeGc)[0];
    if (ag)
      console.log(
        `  after full GC  ${line(ag)}; RssAnon ${mib(ag.rss_anon_kb * 1024)}, after releasing tcmalloc's free pages ${mib((ag.rss_anon_after_release_kb ?? 0) * 1024)}`,
      );
    const sl = (/** @type {string} */ k) =>
      slopeBetween(
        during.map((n) => ({ t_s: n.t_s, kb: n[k] / 1024 })),
        from,
        toolEnded,
      );
    console.log(
      `  slope after warm-up (MiB/min): SQLite ${f(sl("sqlite_used"))}, tcmalloc allocated ${f(sl("generic.current_allocated_bytes"))}, tcmalloc held ${f(sl("generic.heap_size"))}`,
    );
  }
  if (summary.forced_gcs)
    console.log(
      `forced GCs       ${summary.forced_gcs.count} during the load (every ${opts.gcEvery} s; each collected in at least ${summary.forced_gcs.collected_min} isolates, longest ${summary.forced_gcs.max_ms} ms)`,
    );
  console.log(
    `memory flat      ${verdict.flat ? "PASS" : verdict.reason.startsWith("inconclusive") ? "INCONCLUSIVE (not a pass)" : "FAIL"}: ${verdict.reason} (threshold --flat-mib-per-min ${opts.flatMibPerMin}, at least --min-window-seconds ${opts.minWindowSeconds} after --warmup-seconds ${opts.warmupSeconds}: over a default run, 3-25 min here, at most 25 MiB, inside the 30-55 MiB the V8 heaps swing between collections; growth that follows the records or the data stored is tens of MiB/min at this load)`,
  );
  console.log(
    `server           ${opts.server === "direct" ? "MONITOR_SERVER=direct (Miniflare, no wrangler dev proxy)" : "wrangler dev"}; load average ${summary.load_average_before.join(" ")} before, ${summary.load_average_after.join(" ")} after (2 cores)`,
  );
  const l = summary.liveness_ms;
  console.log(
    `thread stalls    GET /health/live waited median ${l.median} ms, p99 ${l.p99} ms, max ${l.max} ms (at ${l.max_at_s} s); ${l.over_1s} of ${l.probes} over 1 s`,
  );
  if (summary.ingest)
    console.log(
      `ingest           accepted ${summary.ingest.accepted}, held back for backpressure ${summary.ingest.backpressured_requests} requests (in flight at most ${summary.ingest.backpressured_max_in_flight}), in flight at end ${summary.ingest.in_flight_records}, dropped ${summary.ingest.dropped}, fallback to D1 ${summary.ingest.fallback_to_d1}`,
    );
  if (opts.keepState || opts.stateDir) console.log(`state kept       ${stateDir}`);
  console.log(`curve            ${relative(ROOT, resultPath)}; server output ${relative(ROOT, logPath)}`);
  process.exitCode = summary.all_2xx ? 0 : 1;
}

main().catch((err) => {
  console.error(`soak: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
