// @ts-check
// `npm run demo`: the monitor with something to show, in one command. Starts the monitor
// (scripts/start.mjs, fresh local state) and the demo origin (demo/origin.mjs), registers the
// origin as the proxied service `demo`, writes 24 hours of its history through ingest with a
// degradation in the last hours (checkout 5xx creeping to 12%, search latency doubling), so
// incidents are open when the dashboard first loads, then keeps live traffic flowing through the
// proxy with the origin degraded the same way. Prints the dashboard URL and the keys.
// Ctrl-C (SIGINT or SIGTERM) stops everything it started: each child leads its own process group,
// which is signalled whole and waited for.
//
// Environment: PORT (monitor, 8787), DEMO_ORIGIN_PORT (8790), MONITOR_STATE_DIR (default
// .wrangler/demo-state, emptied at each start; a folder you give is used as it is),
// DEMO_BACKFILL (24h), DEMO_RATE (requests/min, 120), DEMO_LIVE (live traffic: a duration, 60m by
// default, `short` for 1m, `off`), DEMO_SEED (1).
import { spawn } from "node:child_process";
import { createWriteStream, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseDuration, parseRate } from "../sim/args.mjs";
import { aggregate, openIncidents, registerService } from "../sim/client.mjs";
import { clock, createProgress } from "../sim/progress.mjs";
import { portFree, stopGroup } from "../sim/processes.mjs";
import { backfill, runLive, sleep } from "../sim/run.mjs";
import { HOUR, MINUTE, degradation } from "../sim/scenarios.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const SERVICE = "demo";
const port = Number(process.env.PORT ?? 8787);
const originPort = Number(process.env.DEMO_ORIGIN_PORT ?? 8790);
const defaultState = !process.env.MONITOR_STATE_DIR;
const stateDir = process.env.MONITOR_STATE_DIR ?? join(root, ".wrangler", "demo-state");
const backfillMs = parseDuration(process.env.DEMO_BACKFILL ?? "24h");
const ratePerMin = parseRate(process.env.DEMO_RATE ?? "120");
const live = process.env.DEMO_LIVE ?? "60m";
const liveMs = live === "off" ? 0 : live === "short" ? MINUTE : parseDuration(live);
const seed = Number(process.env.DEMO_SEED ?? 1);
const url = `http://127.0.0.1:${port}`;

/** @typedef {{ name: string; pid: number; signal: NodeJS.Signals; child: import("node:child_process").ChildProcess; output: string }} Child */
/** @type {Child[]} */
const children = [];
const abort = new AbortController();
/** @type {Promise<never> | null} */
let stopping = null;

/**
 * Stops every child's process group (the monitor gets SIGINT, as Ctrl-C would give it), then exits.
 * @param {number} code
 */
function shutdown(code) {
  stopping ??= (async () => {
    abort.abort();
    process.stdout.write("\nstopping the demo...\n");
    const results = await Promise.all(children.map((c) => stopGroup(c.pid, c.signal)));
    if (results.some((gone) => !gone)) console.error("some processes did not stop: see ps");
    else console.log(`stopped (process groups ${children.map((c) => c.pid).join(", ")} are gone)`);
    process.exit(code);
  })();
  return stopping;
}
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => void shutdown(0));

/**
 * Starts a child as the leader of its own process group; `onLine` sees its output, which also goes to `log` when given.
 * @param {string} name
 * @param {string[]} args
 * @param {{ env?: Record<string, string>; log?: import("node:fs").WriteStream | null; signal?: NodeJS.Signals }} [options]
 * @returns {Child}
 */
function start(name, args, { env = {}, log = null, signal = "SIGTERM" } = {}) {
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  // A spawned child without a pid failed to start; its "error" ends the demo like an exit.
  const entry = { name, pid: /** @type {number} */ (child.pid), signal, child, output: "" };
  children.push(entry);
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on("data", (chunk) => {
      entry.output = (entry.output + chunk).slice(-64 * 1024);
      log?.write(chunk);
    });
  }
  child.on("exit", (code, sig) => {
    if (stopping) return;
    console.error(`\nthe ${name} exited (${sig ?? code}); last output:\n${entry.output.slice(-3000)}`);
    void shutdown(1);
  });
  return entry;
}

/**
 * @param {Child} entry
 * @param {RegExp} pattern
 * @param {number} ms
 * @param {string} what
 */
async function waitFor(entry, pattern, ms, what) {
  const deadline = Date.now() + ms;
  while (!pattern.test(entry.output)) {
    if (Date.now() > deadline)
      throw new Error(`${what} did not start within ${ms / 1000} s; last output:\n${entry.output.slice(-3000)}`);
    await sleep(200, abort.signal);
    if (abort.signal.aborted) throw new Error("stopped");
  }
  return /** @type {RegExpExecArray} */ (pattern.exec(entry.output)); // it matched just above
}

/**
 * The demo's story, anchored at `end` (now): search's latency doubles over 90 minutes starting
 * 3 h ago, checkout's 5xx creep from 0.2% to 12% over 45 minutes starting 2 h ago; both hold.
 * @param {number} end
 */
function demoPlan(end) {
  return [
    degradation("latency-creep", { at: end - 3 * HOUR, ramp_ms: 90 * MINUTE, target: 2 }),
    degradation("error-creep", { at: end - 2 * HOUR, ramp_ms: 45 * MINUTE, target: 0.12 }),
  ];
}

try {
  for (const [name, p] of /** @type {[string, number][]} */ ([
    ["PORT", port],
    ["DEMO_ORIGIN_PORT", originPort],
  ])) {
    if (!(await portFree(p))) throw new Error(`port ${p} is in use: stop what listens there or set ${name}`);
  }
  if (defaultState) rmSync(stateDir, { recursive: true, force: true });
  mkdirSync(stateDir, { recursive: true });
  const logPath = join(stateDir, "demo-monitor.log");
  const log = createWriteStream(logPath);

  console.log(`starting the demo origin on 127.0.0.1:${originPort} and the monitor on ${url} (its log: ${logPath})`);
  const origin = start("demo origin", ["demo/origin.mjs", "--port", String(originPort), "--seed", String(seed)]);
  const monitor = start("monitor", ["scripts/start.mjs"], {
    env: { PORT: String(port), HOST: "127.0.0.1", MONITOR_STATE_DIR: stateDir },
    log,
    signal: "SIGINT",
  });
  const originUrl = (await waitFor(origin, /listening on (http:\/\/\S+)/, 10_000, "the demo origin"))[1];
  // The keys are printed after the "running at" line, possibly in a later chunk of output.
  await waitFor(monitor, /edge-monitor is running at[\s\S]*admin key: +\S+\n/, 180_000, "the monitor");
  /** @param {string} label */
  const key = (label) => new RegExp(`${label} key: +(\\S+)`).exec(monitor.output)?.[1];
  const keys = { ingest: key("ingest"), read: key("read"), admin: key("admin") };

  await registerService(url, keys.admin, SERVICE, originUrl);
  const anchor = Date.now();
  const plan = demoPlan(anchor);
  const expected = Math.round((ratePerMin * backfillMs) / MINUTE);
  const progress = createProgress(process.stdout, { everyMs: 5_000 });
  let records = 0;
  if (backfillMs > 0) {
    const done = await backfill({
      url,
      ingestKey: keys.ingest,
      service: SERVICE,
      plan,
      from: anchor - backfillMs,
      to: anchor,
      ratePerMin,
      seed,
      signal: abort.signal,
      onBatch: ({ records: n, ms }) =>
        progress.update(
          `writing ${clock(backfillMs)} of history: ${n.toLocaleString("en")} of about ${expected.toLocaleString("en")} records (${(ms / 1000).toFixed(0)} s)`,
        ),
    });
    records = done.records;
    progress.done();
  }
  // Catch up the seconds the backfill took, so live traffic continues the history without a gap.
  let end = anchor;
  for (let round = 1; round <= 3 && Date.now() - end > 1_000 && !abort.signal.aborted; round++) {
    const now = Date.now();
    records += (
      await backfill({
        url,
        ingestKey: keys.ingest,
        service: SERVICE,
        plan,
        from: end,
        to: now,
        ratePerMin,
        seed: seed + round,
        signal: abort.signal,
      })
    ).records;
    end = now;
  }
  console.log(
    `wrote ${records.toLocaleString("en")} records of history in ${((Date.now() - anchor) / 1000).toFixed(1)} s`,
  );
  await aggregate(url, keys.admin, anchor - backfillMs).catch((err) =>
    console.log(`(hourly summaries not refreshed yet: ${err.message})`),
  );

  // The endpoint objects publish incidents to D1 in their alarm, a moment after the records.
  /** @type {{ id: string; explanation: string }[]} */
  let incidents = [];
  for (
    const deadline = Date.now() + 30_000;
    incidents.length === 0 && Date.now() < deadline && !abort.signal.aborted;
    await sleep(500, abort.signal)
  ) {
    incidents = await openIncidents(url, keys.read, SERVICE).catch(() => []);
  }

  console.log(`
edge-monitor demo is running
  dashboard:   ${url}/  (sign in with the read key, or the admin key for Settings)
  ingest key:  ${keys.ingest}
  read key:    ${keys.read}
  admin key:   ${keys.admin}
  proxy:       ${url}/proxy/${SERVICE}/items -> demo origin ${originUrl} (degrade it: POST ${originUrl}/__control)`);
  for (const i of incidents) console.log(`  incident:    ${url}/#/incidents/${i.id}\n               ${i.explanation}`);
  if (incidents.length === 0)
    console.log("  incidents:   none open yet (the detector is still catching up; refresh in a minute)");
  console.log(`  processes:   monitor group ${monitor.pid}, origin group ${origin.pid}; Ctrl-C stops them all\n`);

  if (liveMs > 0 && !abort.signal.aborted) {
    console.log(`live traffic: ${ratePerMin}/min through the proxy for ${clock(liveMs)}`);
    const startAt = Date.now();
    await runLive({
      via: "proxy",
      url,
      keys,
      service: SERVICE,
      plan,
      start: startAt,
      end: startAt + liveMs,
      ratePerMin,
      seed,
      originUrl,
      signal: abort.signal,
      progress,
    });
    if (!abort.signal.aborted)
      console.log("live traffic finished; the monitor and the origin keep running until Ctrl-C");
  }
  await new Promise(() => {}); // until a signal
} catch (err) {
  if (!stopping) {
    console.error(`demo: ${/** @type {Error} */ (err).message}`);
    await shutdown(1);
  }
}
