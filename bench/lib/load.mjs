// @ts-check
/**
 * A small closed-loop load generator on node:http with a keep-alive agent: C workers each send
 * the next request as soon as the previous one answered. Only responses that complete inside
 * the measuring window (after the warm-up) are counted, so the rate is not inflated by the
 * warm-up or cut short by requests still in flight at the end.
 */
import http from "node:http";

/**
 * @typedef {object} RequestOptions
 * @property {string} [method]
 * @property {string} path
 * @property {Record<string, string>} [headers]
 * @property {string | Uint8Array} [body]
 * @property {number} [timeoutMs]
 */
/** @typedef {{ status: number, text: string }} Response */
/** @typedef {{ request: (opts: RequestOptions) => Promise<Response>, close: () => void }} Client */

/**
 * A keep-alive HTTP client for one host:port; `request()` resolves to `{ status, text }`.
 * @param {{ port: number | string, maxSockets?: number }} opts
 * @returns {Client}
 */
export function createClient({ port, maxSockets }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  /** @type {(opts: RequestOptions, retried?: boolean) => Promise<Response>} */
  const request = ({ method = "GET", path, headers = {}, body, timeoutMs = 30_000 }, retried = false) =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(body);
      const req = http.request(
        {
          host: "127.0.0.1",
          port,
          method,
          path,
          agent,
          headers: payload ? { ...headers, "Content-Length": payload.length } : headers,
          timeout: timeoutMs,
        },
        (res) => {
          /** @type {Buffer[]} */
          const chunks = [];
          res.on("data", (c) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`timeout after ${timeoutMs} ms: ${method} ${path}`)));
      req.on("error", (err) => {
        // The server may close an idle keep-alive socket just as it is reused: the request never
        // reached it, so send it once more on a fresh socket (the pattern from Node's http docs).
        if (!retried && req.reusedSocket && /** @type {NodeJS.ErrnoException} */ (err).code === "ECONNRESET") {
          resolve(request({ method, path, headers, body, timeoutMs }, true));
        } else reject(err);
      });
      req.end(payload);
    });
  return { request, close: () => agent.destroy() };
}

const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The value at quantile q (0..1) of an ascending array.
 * @param {number[]} sorted
 * @param {number} q
 */
export function quantile(sorted, q) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/**
 * Runs `send(seq)` from `concurrency` workers for `warmupMs + durationMs` and reports the
 * rate of responses with `okStatus` in the measuring window, with status counts and latency
 * quantiles. `ok_including_warmup` counts every ok response and `statuses_including_warmup`
 * every response by status, warm-up and the requests still in flight at the end included.
 * @param {{ concurrency: number, warmupMs: number, durationMs: number, okStatus: number, send: (seq: number) => Promise<{ status: number }> }} opts
 */
export async function runLoad({ concurrency, warmupMs, durationMs, okStatus, send }) {
  const start = performance.now();
  const measureFrom = start + warmupMs;
  const end = measureFrom + durationMs;
  /** @type {Record<number, number>} */
  const statuses = {};
  /** @type {Record<number, number>} */
  const allStatuses = {};
  /** @type {Record<string, number>} */
  const errors = {};
  /** @type {number[]} */
  const latencies = [];
  let ok = 0;
  let okTotal = 0;
  let seq = 0;

  const worker = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      let status = 0;
      try {
        status = (await send(seq++)).status;
      } catch (err) {
        const key = err instanceof Error ? err.message.replace(/\d+/g, "N") : String(err);
        errors[key] = (errors[key] ?? 0) + 1;
        await sleep(10);
      }
      const t1 = performance.now();
      if (status === okStatus) okTotal++;
      if (status !== 0) allStatuses[status] = (allStatuses[status] ?? 0) + 1;
      if (t1 < measureFrom || t1 > end) continue;
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status === okStatus) {
        ok++;
        latencies.push(t1 - t0);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));

  latencies.sort((a, b) => a - b);
  const round = (/** @type {number | null} */ v) => (v === null ? null : Math.round(v * 100) / 100);
  return {
    rps: Math.round(ok / (durationMs / 1000)),
    ok,
    ok_including_warmup: okTotal,
    statuses,
    statuses_including_warmup: allStatuses,
    errors,
    latency_ms: {
      p50: round(quantile(latencies, 0.5)),
      p90: round(quantile(latencies, 0.9)),
      p99: round(quantile(latencies, 0.99)),
    },
  };
}
