// @ts-check
/**
 * The simulator's two loops. `backfill` writes history in event time as fast as the monitor
 * takes it: records in timestamp order, 1,000 per `POST /v1/logs?sync=1`, one batch at a time
 * (each endpoint object judges minutes in the order records arrive, so order matters more than
 * parallelism). `runLive` sends traffic as it happens, either as records (ingest) or as real
 * requests through the monitor's proxy to the demo origin, whose conditions it keeps in step
 * with the plan, and polls the monitor's health of the degraded endpoints for the progress line.
 */
import { generateRecords, generateRequests } from "./generator.mjs";
import { ENDPOINTS } from "./model.mjs";
import { Tally, progressLine } from "./progress.mjs";
import { conditionsAt } from "./scenarios.mjs";
import { controlOrigin, listEndpoints, postLogs } from "./client.mjs";

const BATCH = 1000;
const MAX_IN_FLIGHT = 256;

/**
 * @typedef {import("./scenarios.mjs").Degradation} Degradation
 * @typedef {import("./generator.mjs").LogRecord} LogRecord
 * @typedef {import("./generator.mjs").RequestEvent} RequestEvent
 * @typedef {import("./progress.mjs").WatchedHealth} WatchedHealth
 */

/**
 * Resolves after `ms`, or at once when `signal` aborts.
 * @param {number} ms
 * @param {AbortSignal} [signal]
 * @returns {Promise<void>}
 */
export function sleep(ms, signal) {
  return new Promise((/** @type {() => void} */ resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Writes the records of [from, to) for `service` through ingest. `onBatch({records, ms})` after
 * each batch. Returns `{records, ms}`; stops early (without error) when `signal` aborts.
 * @param {{ url: string; ingestKey: string | undefined; service: string; plan: Degradation[]; from: number; to: number; ratePerMin: number; seed: number; maxRecords?: number; onBatch?: (done: { records: number; ms: number }) => void; signal?: AbortSignal }} run
 */
export async function backfill({
  url,
  ingestKey,
  service,
  plan,
  from,
  to,
  ratePerMin,
  seed,
  maxRecords = Infinity,
  onBatch,
  signal,
}) {
  const started = Date.now();
  let batch = [];
  let records = 0;
  for (const record of generateRecords({ from, to, ratePerMin, plan, seed, service, idPrefix: `bf${seed}-${from}` })) {
    if (signal?.aborted || records >= maxRecords) break;
    batch.push(record);
    records++;
    if (batch.length === BATCH) {
      await postLogs(url, ingestKey, batch);
      batch = [];
      onBatch?.({ records, ms: Date.now() - started });
    }
  }
  if (batch.length > 0 && !signal?.aborted) await postLogs(url, ingestKey, batch);
  return { records, ms: Date.now() - started };
}

/**
 * `METHOD route` of each endpoint the plan degrades (every endpoint when it degrades none).
 * @param {Degradation[]} plan
 */
export function watchedEndpoints(plan) {
  const keys = new Set(plan.map((d) => d.endpoint));
  return ENDPOINTS.filter((e) => keys.size === 0 || keys.has(e.key)).map((e) => ({
    name: `${e.method} ${e.route}`,
    method: e.method,
    route: e.route,
  }));
}

/** @param {import("./model.mjs").Conditions} c */
const rounded = (c) =>
  JSON.stringify([c.latency_factor, c.error_rate, c.empty_rate].map((v) => Math.round(v * 1e4) / 1e4));

/**
 * Live traffic over [start, end) at `ratePerMin` under `plan`. `via`: `ingest` (records, posted
 * every second) or `proxy` (requests to `${url}/proxy/${service}`, the origin at `originUrl`
 * driven through its control endpoint). Stops at `end`, after `maxRequests`, or when `signal`
 * aborts. `progress` is createProgress()'s writer (or null). Returns `{tally, elapsedMs}`.
 * @param {{ via: "proxy" | "ingest"; url: string; keys: { ingest?: string; read?: string; admin?: string }; service: string; plan: Degradation[]; start: number; end: number; ratePerMin: number; seed: number; originUrl?: string; maxRequests?: number; signal?: AbortSignal; progress?: import("./progress.mjs").Progress | null }} run
 */
export async function runLive({
  via,
  url,
  keys,
  service,
  plan,
  start,
  end,
  ratePerMin,
  seed,
  originUrl,
  maxRequests = Infinity,
  signal,
  progress = null,
}) {
  const tally = new Tally();
  const watched = watchedEndpoints(plan);
  /** @type {WatchedHealth[] | null} */
  let health = null;
  /** @type {unknown} */
  let lastError = null;

  // The monitor's view of the degraded endpoints, every 5 s, one poll at a time.
  const pollHealth = async () => {
    try {
      const endpoints = await listEndpoints(url, keys.read, service);
      health = watched.map((w) => ({
        name: w.name,
        endpoint: endpoints.find(
          (/** @type {{ method: string; route: string }} */ e) => e.method === w.method && e.route === w.route,
        ),
      }));
    } catch {
      health = health ?? watched.map((w) => ({ name: w.name, endpoint: undefined }));
    }
  };
  const show = (force = false) =>
    progress?.update(progressLine({ elapsedMs: Date.now() - start, durationMs: end - start, tally, health }), force);

  // Proxy mode: the origin's conditions follow the plan (checked every second, sent on change).
  const sent = new Map();
  const syncOrigin = async () => {
    for (const e of ENDPOINTS) {
      const c = conditionsAt(plan, e.key, Date.now());
      if (sent.get(e.key) === rounded(c)) continue;
      // Only called in proxy mode, where the caller passes the origin.
      await controlOrigin(/** @type {string} */ (originUrl), {
        endpoint: e.key,
        latency_factor: c.latency_factor,
        error_rate: c.error_rate,
        empty_rate: c.empty_rate,
      });
      sent.set(e.key, rounded(c));
    }
  };
  if (via === "proxy") await syncOrigin();

  // Ingest mode: records collect here and go out every second, one POST at a time.
  /** @type {LogRecord[]} */
  let pending = [];
  let posting = Promise.resolve();
  const flush = () => {
    if (pending.length === 0) return posting;
    const batch = pending.splice(0, BATCH);
    posting = posting
      .then(() => postLogs(url, keys.ingest, batch))
      .catch((err) => {
        tally.dropped += batch.length;
        lastError = err;
      });
    return posting;
  };

  /** @type {Set<Promise<void>>} */
  const inFlight = new Set();
  /** @param {RequestEvent} event */
  const sendRequest = (event) => {
    if (inFlight.size >= MAX_IN_FLIGHT) {
      tally.dropped++;
      return;
    }
    const { request } = event;
    const p = fetch(`${url}/proxy/${service}${request.path}`, {
      method: request.method,
      headers: {
        "User-Agent": "edge-monitor-simulator",
        ...(request.body ? { "Content-Type": "application/json" } : {}),
      },
      body: request.body ?? undefined,
      signal: AbortSignal.timeout(30_000),
    })
      .then(async (res) => {
        const text = await res.text();
        tally.add(res.status, res.status >= 200 && res.status < 300 && ["", "[]", "{}", "null"].includes(text.trim()));
      })
      .catch(() => tally.add(null))
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };

  const timers = [
    setInterval(() => void pollHealth().then(() => show()), 5_000),
    setInterval(() => show(), 1_000),
    via === "proxy"
      ? setInterval(() => void syncOrigin().catch((err) => (lastError = err)), 1_000)
      : setInterval(() => void flush(), 1_000),
  ];
  void pollHealth().then(() => show());

  // Ingest mode draws the origin's answers too (generateRecords); proxy mode only the requests.
  const events =
    via === "proxy"
      ? generateRequests({ from: start, to: end, ratePerMin, plan, seed })
      : generateRecords({ from: start, to: end, ratePerMin, plan, seed, service, idPrefix: `live${seed}-${start}` });
  let count = 0;
  try {
    for (let next = events.next(); !next.done && !signal?.aborted && count < maxRequests;) {
      const wait = next.value.timestamp - Date.now();
      if (wait > 0) {
        await sleep(Math.min(wait, 250), signal);
        continue;
      }
      count++;
      if (via === "proxy") sendRequest(/** @type {RequestEvent} */ (next.value));
      else {
        const record = /** @type {LogRecord} */ (next.value);
        pending.push(record);
        tally.add(record.status, record.response_empty === true);
        if (pending.length >= BATCH) void flush();
      }
      next = events.next();
    }
    // The run lasts its duration even when the last request came earlier.
    if (!signal?.aborted && count < maxRequests) await sleep(Math.max(0, end - Date.now()), signal);
  } finally {
    for (const t of timers) clearInterval(t);
    await flush();
    await Promise.race([Promise.allSettled([...inFlight]), sleep(5_000)]);
  }
  await pollHealth();
  show(true);
  progress?.done();
  return { tally, health, elapsedMs: Date.now() - start, lastError };
}
