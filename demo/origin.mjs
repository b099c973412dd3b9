// @ts-check
/**
 * The demo origin: a small shop API on node:http (127.0.0.1 only) for the simulator's proxy mode
 * and `npm run demo`. `GET /items`, `GET /items/:id`, `GET /search?q=`, `POST /checkout` answer
 * with log-normal latencies, a little 5xx noise and real validation errors, drawn from the same
 * model (sim/model.mjs) the simulator's ingest mode writes records with. The degradation is
 * changed on command, for every endpoint or one:
 *
 *   POST /__control {"latency_factor": 2, "error_rate": 0.1, "empty_rate": 0.05, "endpoint": "POST /checkout"}
 *   GET  /__control                      (the current conditions)
 *   node demo/origin.mjs --port 8790 --latency-factor 1.5 --error-rate 0.02 --empty-rate 0 [--seed N]
 *
 * "Empty" answers are the silent failures a monitor must catch: a 200 whose JSON body is `[]`,
 * `{}` or `null`. In-process: `const origin = await startDemoOrigin({ port: 0 })`.
 */
import http from "node:http";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createRng } from "../scripts/lib/prng.mjs";
import {
  BASE_CONDITIONS,
  CATALOGUE_SIZE,
  ENDPOINTS,
  drawOutcome,
  findEndpoint,
  matchEndpoint,
  validate,
} from "../sim/model.mjs";

/** @type {Record<string, [number, number]>} */
const LIMITS = { latency_factor: [0.01, 100], error_rate: [0, 1], empty_rate: [0, 1] };
const MAX_BODY = 64 * 1024;
const NAMES = [
  "espresso beans",
  "burr grinder",
  "gooseneck kettle",
  "paper filters",
  "ceramic mug",
  "coffee scale",
  "pour-over dripper",
  "milk jug",
  "tamper",
  "cold brew jar",
];

/**
 * @typedef {import("../sim/model.mjs").Endpoint} Endpoint
 * @typedef {{ latency_factor?: number; error_rate?: number; empty_rate?: number }} ControlValues
 * @typedef {{ ok: true; endpoints: Endpoint[]; values: ControlValues; error?: undefined } | { ok: false; error: string; endpoints?: undefined; values?: undefined }} ControlResult
 */

/**
 * The catalogue item with this id (deterministic).
 * @param {number} id
 */
function item(id) {
  return {
    id,
    name: `${NAMES[id % NAMES.length]} #${id}`,
    price_cents: 300 + ((id * 7919) % 9700),
    in_stock: id % 11 !== 0,
  };
}

/**
 * Checks a control body: `{latency_factor?, error_rate?, empty_rate?, endpoint?}` (or
 * `{"reset": true}`). Answers `{ok: true, endpoints, values}` or `{ok: false, error}`.
 * @param {unknown} body a parsed JSON body
 * @returns {ControlResult}
 */
export function parseControl(body) {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    return { ok: false, error: "expected a JSON object" };
  const fields = /** @type {Record<string, unknown>} */ (body);
  const unknown = Object.keys(fields).filter((k) => !(k in LIMITS) && k !== "endpoint" && k !== "reset");
  if (unknown.length > 0) return { ok: false, error: `unknown field(s): ${unknown.join(", ")}` };
  let endpoints = ENDPOINTS;
  if (fields.endpoint !== undefined) {
    const e = findEndpoint(fields.endpoint);
    if (!e) return { ok: false, error: `unknown endpoint ${JSON.stringify(fields.endpoint)}` };
    endpoints = [e];
  }
  /** @type {Record<string, number>} */
  const values =
    fields.reset === true ? { latency_factor: 1, error_rate: BASE_CONDITIONS.error_rate, empty_rate: 0 } : {};
  for (const [name, [min, max]] of Object.entries(LIMITS)) {
    if (fields[name] === undefined) continue;
    const v = fields[name];
    if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max)
      return { ok: false, error: `${name} must be a number within ${min}..${max}` };
    values[name] = v;
  }
  return { ok: true, endpoints, values };
}

/**
 * @param {http.ServerResponse} res
 * @param {number} status
 * @param {unknown} value
 */
function send(res, status, value) {
  const body = Buffer.from(value === undefined ? "" : JSON.stringify(value));
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": body.length,
    "Cache-Control": "no-store",
  });
  res.end(body);
}

/** @param {http.IncomingMessage} req */
async function readBody(req) {
  let size = 0;
  const chunks = [];
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY) throw Object.assign(new Error("body too large"), { status: 413 });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * The JSON a successful answer carries (or the empty one of a silent failure).
 * @param {Endpoint} endpoint
 * @param {URL} url
 * @param {string} body
 * @param {boolean} empty
 */
function successBody(endpoint, url, body, empty) {
  switch (endpoint.key) {
    case "list": {
      if (empty) return [];
      const page = Number(url.searchParams.get("page") ?? "1");
      return { items: Array.from({ length: 20 }, (_, i) => item((((page - 1) * 20 + i) % CATALOGUE_SIZE) + 1)), page };
    }
    case "item":
      return empty ? {} : item(Number(url.pathname.split("/")[2]));
    case "search": {
      if (empty) return [];
      const q = (url.searchParams.get("q") ?? "").toLowerCase();
      const results = NAMES.map((name, i) => item(i + 1 + 10 * (q.length % 7))).filter((it) =>
        it.name.includes(q.split(" ")[0]),
      );
      return { q, results };
    }
    default: {
      if (empty) return null;
      const lines = JSON.parse(body).items;
      const total = lines.reduce(
        (/** @type {number} */ sum, /** @type {{ id: number; qty: number }} */ l) =>
          sum + item(l.id).price_cents * l.qty,
        0,
      );
      return {
        order_id: `ord_${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`,
        total_cents: total,
        items: lines.length,
      };
    }
  }
}

/**
 * Starts the demo origin on 127.0.0.1 (`port` 0: a free one) with `conditions` for every
 * endpoint. Returns `{port, url, conditions(), control(body), close()}`.
 * @param {{ port?: number; conditions?: ControlValues; seed?: number }} [options]
 */
export async function startDemoOrigin({ port = 0, conditions = {}, seed = Date.now() } = {}) {
  const rng = createRng(seed);
  const state = Object.fromEntries(
    ENDPOINTS.map((e) => [
      e.key,
      { latency_factor: 1, error_rate: BASE_CONDITIONS.error_rate, empty_rate: 0, ...conditions },
    ]),
  );
  /** @param {unknown} body */
  const control = (body) => {
    const parsed = parseControl(body);
    if (parsed.ok) for (const e of parsed.endpoints) Object.assign(state[e.key], parsed.values);
    return parsed;
  };
  const snapshot = () => Object.fromEntries(ENDPOINTS.map((e) => [`${e.method} ${e.route}`, { ...state[e.key] }]));

  /**
   * @param {http.IncomingMessage} req
   * @param {http.ServerResponse} res
   */
  const handle = async (req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const method = (req.method ?? "GET").toUpperCase();
    if (url.pathname === "/__control") {
      if (method === "GET") return send(res, 200, { conditions: snapshot() });
      if (method !== "POST") return send(res, 405, { error: { message: "GET or POST" } });
      let body;
      try {
        body = JSON.parse(await readBody(req));
      } catch {
        return send(res, 400, { error: { message: "body is not JSON" } });
      }
      const result = control(body);
      return result.ok
        ? send(res, 200, { conditions: snapshot() })
        : send(res, 400, { error: { message: result.error } });
    }
    if (url.pathname === "/health") return send(res, 200, { ok: true });
    const endpoint = matchEndpoint(method, url.pathname);
    if (!endpoint) return send(res, 404, { error: { message: `no route ${method} ${url.pathname}` } });
    const body = method === "POST" ? await readBody(req) : "";
    const outcome = drawOutcome(rng, endpoint, validate(endpoint, url, body), state[endpoint.key]);
    await new Promise((resolve) => setTimeout(resolve, outcome.latency_ms));
    if (outcome.status >= 400)
      return send(res, outcome.status, { error: { message: outcome.error ?? validate(endpoint, url, body)?.message } });
    return send(res, outcome.status, successBody(endpoint, url, body, outcome.empty));
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) send(res, err.status ?? 500, { error: { message: err.message } });
      else res.destroy(err);
    });
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise((/** @type {(v?: unknown) => void} */ resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const actual = /** @type {import("node:net").AddressInfo} */ (server.address()).port;
  /** @returns {Promise<void>} */
  const close = () =>
    new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return { port: actual, url: `http://127.0.0.1:${actual}`, conditions: snapshot, control, close };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: process.env.DEMO_ORIGIN_PORT ?? "8790" },
      "latency-factor": { type: "string" },
      "error-rate": { type: "string" },
      "empty-rate": { type: "string" },
      seed: { type: "string" },
    },
  });
  /** @type {Record<string, number>} */
  const initial = {};
  for (const name of /** @type {const} */ (["latency-factor", "error-rate", "empty-rate"]))
    if (values[name] !== undefined) initial[name.replace("-", "_")] = Number(values[name]);
  const checked = parseControl(initial);
  if (!checked.ok) {
    console.error(checked.error);
    process.exit(2);
  }
  const origin = await startDemoOrigin({
    port: Number(values.port),
    conditions: checked.values,
    seed: values.seed === undefined ? Date.now() : Number(values.seed),
  });
  console.log(
    `demo origin listening on ${origin.url} (GET /items, GET /items/:id, GET /search?q=, POST /checkout; POST /__control to degrade)`,
  );
  const stop = () => origin.close().then(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
