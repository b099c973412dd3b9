// @ts-check
/**
 * The demo API as a statistical model, shared by the demo origin (demo/origin.mjs), which answers
 * real requests with it, and the simulator's ingest mode, which writes the records the origin
 * would have produced. One model for both means a scenario sent through the proxy and the same
 * scenario written as records show the monitor the same statistics. Pure: every draw comes from
 * the `rng` passed in (scripts/lib/prng.mjs's createRng).
 *
 * Client errors are properties of the request (an unknown item id, a search without `q`, an
 * invalid checkout body), so the simulator decides them when it builds a request and the origin
 * finds them by validating it, as a real API would.
 */

/**
 * @typedef {import("../scripts/lib/prng.mjs").Rng} Rng
 * @typedef {(typeof ENDPOINTS)[number]} Endpoint
 * @typedef {{ latency_factor: number; error_rate: number; empty_rate: number; traffic_factor: number }} Conditions
 * @typedef {{ method: string; path: string; body: string | null }} ClientRequest
 * @typedef {{ status: number; message: string }} ClientError
 * @typedef {{ status: number; latency_ms: number; empty: boolean; error: string | null }} Outcome
 */

/** The demo API's endpoints: share of traffic, latency (log-normal median in ms and sigma), success status. */
export const ENDPOINTS = [
  { key: "list", method: "GET", route: "/items", weight: 0.3, median: 60, sigma: 0.45, ok: 200 },
  { key: "item", method: "GET", route: "/items/:id", weight: 0.35, median: 35, sigma: 0.5, ok: 200 },
  { key: "search", method: "GET", route: "/search", weight: 0.2, median: 140, sigma: 0.55, ok: 200 },
  { key: "checkout", method: "POST", route: "/checkout", weight: 0.15, median: 220, sigma: 0.5, ok: 201 },
];

/** Items 1..CATALOGUE_SIZE exist; a request for any other id is a 404. */
export const CATALOGUE_SIZE = 5000;
/** Share of requests that are the client's fault (answered 4xx). */
export const CLIENT_ERROR_SHARE = 0.02;
/** Conditions of a healthy origin: 0.2% 5xx, usual latency, no empty bodies. */
export const BASE_CONDITIONS = Object.freeze({
  latency_factor: 1,
  error_rate: 0.002,
  empty_rate: 0,
  traffic_factor: 1,
});

const STATUS_5XX = [500, 502, 503, 503, 504];
/** @type {Record<number, string>} */
const ERROR_TEXT = {
  500: "internal error: unexpected nil in order total",
  502: "bad gateway: inventory service reset the connection",
  503: "service unavailable: database connection pool exhausted",
  504: "gateway timeout: payment provider did not answer within 2 s",
};
const WORDS = ["espresso", "grinder", "kettle", "filter", "beans", "mug", "scale", "dripper", "milk jug", "tamper"];

/** The endpoint of a `"GET /items/:id"`-style name, a key (`item`) or a route (`/items/:id`); undefined when unknown.
 * @param {unknown} name
 */
export function findEndpoint(name) {
  const text = String(name).trim();
  return ENDPOINTS.find((e) => e.key === text || e.route === text || `${e.method} ${e.route}` === text);
}

/**
 * The endpoint a concrete method and path reach, or undefined (the origin's router).
 * @param {string} method
 * @param {string} pathname
 */
export function matchEndpoint(method, pathname) {
  if (method === "GET" && pathname === "/items") return ENDPOINTS[0];
  if (method === "GET" && /^\/items\/[^/]+$/.test(pathname)) return ENDPOINTS[1];
  if (method === "GET" && pathname === "/search") return ENDPOINTS[2];
  if (method === "POST" && pathname === "/checkout") return ENDPOINTS[3];
  return undefined;
}

/**
 * A weighted pick of an endpoint.
 * @param {Rng} rng
 */
export function pickEndpoint(rng) {
  let u = rng.uniform();
  for (const e of ENDPOINTS) {
    if (u < e.weight) return e;
    u -= e.weight;
  }
  return ENDPOINTS[ENDPOINTS.length - 1];
}

/**
 * A request to `endpoint` as a client would send it: `{method, path, body}` (path with its query,
 * body a JSON string or null). About CLIENT_ERROR_SHARE of them are invalid.
 * @param {Rng} rng
 * @param {Endpoint} endpoint
 * @returns {ClientRequest}
 */
export function drawRequest(rng, endpoint) {
  const bad = rng.uniform() < CLIENT_ERROR_SHARE;
  switch (endpoint.key) {
    case "list":
      // A bad page number is the list's client error.
      return {
        method: "GET",
        path: bad ? "/items?page=0" : `/items?page=${1 + Math.floor(rng.uniform() * 5)}`,
        body: null,
      };
    case "item": {
      const id = bad
        ? CATALOGUE_SIZE + 1 + Math.floor(rng.uniform() * 90_000)
        : 1 + Math.floor(rng.uniform() * CATALOGUE_SIZE);
      return { method: "GET", path: `/items/${id}`, body: null };
    }
    case "search":
      return { method: "GET", path: bad ? "/search" : `/search?q=${encodeURIComponent(rng.pick(WORDS))}`, body: null };
    default: {
      const lines = bad
        ? []
        : Array.from({ length: 1 + Math.floor(rng.uniform() * 3) }, () => ({
            id: 1 + Math.floor(rng.uniform() * CATALOGUE_SIZE),
            qty: 1 + Math.floor(rng.uniform() * 3),
          }));
      return { method: "POST", path: "/checkout", body: JSON.stringify({ items: lines }) };
    }
  }
}

/** The client error a request carries (`{status, message}`), or null when it is valid: the origin's validation.
 * @param {Endpoint} endpoint
 * @param {URL} url
 * @param {string | null | undefined} body
 * @returns {ClientError | null}
 */
export function validate(endpoint, url, body) {
  switch (endpoint.key) {
    case "list": {
      const page = Number(url.searchParams.get("page") ?? "1");
      return Number.isInteger(page) && page >= 1 ? null : { status: 400, message: "page must be a positive integer" };
    }
    case "item": {
      const id = Number(url.pathname.split("/")[2]);
      return Number.isInteger(id) && id >= 1 && id <= CATALOGUE_SIZE ? null : { status: 404, message: "no such item" };
    }
    case "search":
      return (url.searchParams.get("q") ?? "").trim() ? null : { status: 400, message: "q is required" };
    default: {
      let parsed = null;
      try {
        parsed = JSON.parse(body || "null");
      } catch {
        return { status: 400, message: "body is not JSON" };
      }
      const lines = parsed?.items;
      const valid =
        Array.isArray(lines) &&
        lines.length > 0 &&
        lines.every(
          (/** @type {{ id?: unknown; qty?: number } | null} */ l) =>
            Number.isInteger(l?.id) && Number.isInteger(l?.qty) && (l?.qty ?? 0) > 0,
        );
      return valid ? null : { status: 422, message: "items must be a non-empty list of {id, qty}" };
    }
  }
}

/**
 * How the origin answers a request under `conditions` ({latency_factor, error_rate,
 * empty_rate}): `{status, latency_ms, empty, error}`. `clientError` is validate()'s result.
 * Client errors are answered early (validation costs less than the work); 5xx and empty bodies
 * only hit valid requests.
 * @param {Rng} rng
 * @param {Endpoint} endpoint
 * @param {ClientError | null} clientError
 * @param {Partial<Conditions>} conditions
 * @returns {Outcome}
 */
export function drawOutcome(rng, endpoint, clientError, conditions) {
  const c = { ...BASE_CONDITIONS, ...conditions };
  const spread = Math.exp(endpoint.sigma * rng.normal());
  if (clientError) {
    return {
      status: clientError.status,
      latency_ms: round1(endpoint.median * 0.4 * spread),
      empty: false,
      error: null,
    };
  }
  const latency = round1(endpoint.median * c.latency_factor * spread);
  if (rng.uniform() < c.error_rate) {
    const status = rng.pick(STATUS_5XX);
    return { status, latency_ms: latency, empty: false, error: ERROR_TEXT[status] };
  }
  return { status: endpoint.ok, latency_ms: latency, empty: rng.uniform() < c.empty_rate, error: null };
}

/** @param {number} x */
const round1 = (x) => Math.round(x * 10) / 10;
