// @ts-check
/**
 * The HTTP calls of the simulator and the demo: the monitor's ingest, services, endpoints,
 * incidents and control APIs, and the demo origin's control endpoint. Every call is bounded by a
 * timeout; errors carry the status and the start of the answer.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * The development keys `npm start` uses (.dev.vars, else .dev.vars.example), overridden by `given`.
 * @param {{ ingest?: string; read?: string; admin?: string }} [given]
 */
export function resolveKeys(given = {}) {
  const file = [join(root, ".dev.vars"), join(root, ".dev.vars.example")].find((f) => existsSync(f));
  const vars = file
    ? Object.fromEntries(
        readFileSync(file, "utf8")
          .split("\n")
          .map((l) => l.trim())
          .filter((l) => l && !l.startsWith("#") && l.includes("="))
          .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
      )
    : {};
  return {
    ingest: given.ingest ?? vars.INGEST_KEYS?.split(",")[0] ?? "dev-ingest-key",
    read: given.read ?? vars.READ_KEY ?? "dev-read-key",
    admin: given.admin ?? vars.ADMIN_KEY ?? "dev-admin-key",
  };
}

/**
 * @param {string} url
 * @param {{ method?: string; key?: string; body?: unknown; timeoutMs?: number }} [options]
 * @returns {Promise<{ status: number; ok: boolean; json: any; text: string }>}
 */
async function call(url, { method = "GET", key, body, timeoutMs = 30_000 } = {}) {
  /** @type {Record<string, string>} */
  const headers = {};
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON
  }
  return { status: res.status, ok: res.ok, json, text };
}

/**
 * @param {string} what
 * @param {{ status: number; text: string }} res
 */
function fail(what, res) {
  return new Error(`${what}: ${res.status} ${res.text.slice(0, 300)}`);
}

/**
 * Posts records to `POST /v1/logs?sync=1` (committed before the answer). Retries a 503 or a
 * network error up to 3 times (records carry ids, so a resent batch is stored once).
 * @param {string} base
 * @param {string | undefined} ingestKey
 * @param {object[]} records
 */
export async function postLogs(base, ingestKey, records) {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await call(`${base}/v1/logs?sync=1`, {
        method: "POST",
        key: ingestKey,
        body: records,
        timeoutMs: 60_000,
      });
      if (res.status === 202) {
        const rejected = res.json?.rejected ?? [];
        if (rejected.length > 0)
          throw new Error(`POST /v1/logs rejected ${rejected.length} record(s), e.g. ${JSON.stringify(rejected[0])}`);
        return res.json;
      }
      if (res.status !== 503 || attempt >= 3) throw fail("POST /v1/logs", res);
    } catch (err) {
      if (attempt >= 3 || !(err instanceof TypeError || (err instanceof Error && err.name === "TimeoutError")))
        throw err;
    }
    await new Promise((r) => setTimeout(r, 500 * attempt));
  }
}

/**
 * Creates or updates a proxied service (`PUT /v1/services/:name`, admin key).
 * @param {string} base
 * @param {string | undefined} adminKey
 * @param {string} name
 * @param {string} origin
 */
export async function registerService(base, adminKey, name, origin) {
  const res = await call(`${base}/v1/services/${encodeURIComponent(name)}`, {
    method: "PUT",
    key: adminKey,
    body: { origin },
  });
  if (res.status !== 200 && res.status !== 201) throw fail(`PUT /v1/services/${name}`, res);
  return res.json;
}

/**
 * Every evaluated endpoint of a service (`GET /v1/endpoints?service=`, read key).
 * @param {string} base
 * @param {string | undefined} readKey
 * @param {string} service
 */
export async function listEndpoints(base, readKey, service) {
  const res = await call(`${base}/v1/endpoints?service=${encodeURIComponent(service)}`, {
    key: readKey,
    timeoutMs: 10_000,
  });
  if (!res.ok) throw fail("GET /v1/endpoints", res);
  return res.json.endpoints;
}

/**
 * Open incidents of a service (`GET /v1/incidents?status=open`, read key).
 * @param {string} base
 * @param {string | undefined} readKey
 * @param {string} service
 */
export async function openIncidents(base, readKey, service) {
  const res = await call(`${base}/v1/incidents?status=open&service=${encodeURIComponent(service)}`, {
    key: readKey,
    timeoutMs: 10_000,
  });
  if (!res.ok) throw fail("GET /v1/incidents", res);
  return res.json.incidents;
}

/**
 * Runs the hourly aggregation over [from, now] (`POST /v1/control/aggregate`, admin key).
 * @param {string} base
 * @param {string | undefined} adminKey
 * @param {number} from
 */
export async function aggregate(base, adminKey, from) {
  const res = await call(`${base}/v1/control/aggregate?from=${Math.floor(from)}`, {
    method: "POST",
    key: adminKey,
    timeoutMs: 120_000,
  });
  if (!res.ok) throw fail("POST /v1/control/aggregate", res);
  return res.json;
}

/**
 * Sets the demo origin's conditions (`POST /__control`), for one endpoint or all.
 * @param {string} originUrl
 * @param {object} body
 */
export async function controlOrigin(originUrl, body) {
  const res = await call(`${originUrl}/__control`, { method: "POST", body, timeoutMs: 5_000 });
  if (!res.ok) throw fail("POST /__control", res);
  return res.json;
}
