// @ts-check
/**
 * Command-line options of `npm run simulate`, checked before anything is sent: durations and
 * rates with units, bounds on time and volume, and the loopback rule (the simulator generates
 * real load, so it only targets this machine unless told otherwise).
 */
import { parseArgs } from "node:util";
import { HOUR, MINUTE, SCENARIO_NAMES } from "./scenarios.mjs";

export const LIMITS = {
  duration_ms: 24 * HOUR,
  backfill_ms: 6 * 24 * HOUR, // inside the monitor's 7-day window for event times
  rate_per_min: 6000,
  max_requests: 5_000_000,
};

/** @type {Record<string, number>} */
const UNITS = { ms: 1, s: 1000, m: MINUTE, h: HOUR, d: 24 * HOUR };

/**
 * Milliseconds of a duration such as `90s`, `10m`, `1h30m`, `24h`, `-2h` (a bare number is seconds).
 * @param {string | number} text
 */
export function parseDuration(text) {
  const raw = String(text).trim();
  const sign = raw.startsWith("-") ? -1 : 1;
  const body = raw.replace(/^[-+]/, "");
  if (/^\d+(\.\d+)?$/.test(body)) return sign * Number(body) * 1000;
  const parts = [...body.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== body)
    throw new Error(`not a duration: ${JSON.stringify(text)} (e.g. 90s, 10m, 1h30m, 24h)`);
  return sign * parts.reduce((sum, [, n, unit]) => sum + Number(n) * UNITS[unit], 0);
}

/**
 * Requests per minute of a rate such as `50` or `50/min` (per minute) or `5/s` (per second).
 * @param {string | number} text
 */
export function parseRate(text) {
  const m = /^(\d+(?:\.\d+)?)(?:\/(s|sec|m|min))?$/.exec(String(text).trim());
  if (!m) throw new Error(`not a rate: ${JSON.stringify(text)} (e.g. 50 or 50/min, 5/s)`);
  return Number(m[1]) * (m[2] === "s" || m[2] === "sec" ? 60 : 1);
}

/**
 * Throws unless `url` is on this machine (127.0.0.0/8, localhost, ::1) or `allowRemote`.
 * @param {string} url
 * @param {string} what
 * @param {boolean | undefined} allowRemote
 */
export function checkTarget(url, what, allowRemote) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${what} is not a URL: ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
    throw new Error(`${what} must be http or https: ${url}`);
  const host = parsed.hostname;
  const loopback = host === "localhost" || host === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
  if (!loopback && !allowRemote)
    throw new Error(
      `${what} ${url} is not on this machine: the simulator sends real load, so it only targets 127.0.0.1/localhost unless you pass --allow-remote`,
    );
  return parsed.origin + parsed.pathname.replace(/\/+$/, "");
}

export const USAGE = `npm run simulate -- --scenario NAME [options]

  --url URL            the monitor (default http://127.0.0.1:8787; loopback only unless --allow-remote)
  --scenario NAME      ${SCENARIO_NAMES.join(", ")} (several: a,b)
  --duration D         live traffic, e.g. 10m (default 10m, at most 24h; 0: backfill only)
  --rate R             requests per minute over all endpoints, e.g. 50 or 5/s (default 60, at most ${LIMITS.rate_per_min}/min)
  --via proxy|ingest   real requests through /proxy/<service>/ to the demo origin, or records to POST /v1/logs (default ingest)
  --backfill D         first write D of history ending now, in event time, through ingest (e.g. 24h)
  --seed N             the random sequence (default 1)
  --service NAME       the service (default sim-<scenario>)
  --endpoint E         the endpoint to degrade, e.g. "GET /search" (default: the scenario's)
  --change-at T        when the change starts, from the start of live traffic (e.g. 2m, -3h into the backfill)
  --ramp D             how long a creep takes to reach its target (an outage: how long it lasts)
  --target X           where the scenario ends (latency factor, 5xx share, empty share or traffic factor)
  --origin URL         the demo origin (proxy mode; default: one started here on a free port)
  --max-requests N     stop after N requests (default and at most ${LIMITS.max_requests.toLocaleString("en")})
  --ingest-key K, --read-key K, --admin-key K   (default: .dev.vars, as npm start)
  --allow-remote       allow a target that is not on this machine
`;

/**
 * @typedef {object} SimulateOptions
 * @property {false} help
 * @property {string} url
 * @property {string | undefined} origin
 * @property {string[]} scenarios
 * @property {"proxy" | "ingest"} via
 * @property {number} durationMs
 * @property {number} backfillMs
 * @property {number} ratePerMin
 * @property {number} maxRequests
 * @property {number} seed
 * @property {string} service
 * @property {string | undefined} endpoint
 * @property {number | undefined} changeAtMs
 * @property {number | undefined} rampMs
 * @property {number | undefined} target
 * @property {{ ingest?: string; read?: string; admin?: string }} keys
 */

/**
 * The options of a run, checked; throws with a message for the user.
 * @param {string[]} argv
 * @returns {{ help: true } | SimulateOptions}
 */
export function parseSimulateArgs(argv) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      url: { type: "string", default: "http://127.0.0.1:8787" },
      scenario: { type: "string" },
      duration: { type: "string", default: "10m" },
      rate: { type: "string", default: "60" },
      via: { type: "string", default: "ingest" },
      backfill: { type: "string", default: "0" },
      seed: { type: "string", default: "1" },
      service: { type: "string" },
      endpoint: { type: "string" },
      "change-at": { type: "string" },
      ramp: { type: "string" },
      target: { type: "string" },
      origin: { type: "string" },
      "max-requests": { type: "string", default: String(LIMITS.max_requests) },
      "ingest-key": { type: "string" },
      "read-key": { type: "string" },
      "admin-key": { type: "string" },
      "allow-remote": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return { help: true };
  if (!values.scenario) throw new Error("--scenario is required");
  const scenarios = values.scenario
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const s of scenarios)
    if (!SCENARIO_NAMES.includes(s))
      throw new Error(`unknown scenario ${JSON.stringify(s)} (known: ${SCENARIO_NAMES.join(", ")})`);
  if (values.via !== "proxy" && values.via !== "ingest") throw new Error("--via must be proxy or ingest");
  const durationMs = parseDuration(values.duration);
  const backfillMs = parseDuration(values.backfill);
  const ratePerMin = parseRate(values.rate);
  const maxRequests = Number(values["max-requests"]);
  if (!(durationMs >= 0 && durationMs <= LIMITS.duration_ms)) throw new Error("--duration must be within 0..24h");
  if (!(backfillMs >= 0 && backfillMs <= LIMITS.backfill_ms))
    throw new Error("--backfill must be within 0..6d (the monitor keeps 7 days of event time)");
  if (durationMs === 0 && backfillMs === 0) throw new Error("nothing to do: --duration and --backfill are both 0");
  if (!(ratePerMin > 0 && ratePerMin <= LIMITS.rate_per_min))
    throw new Error(`--rate must be above 0 and at most ${LIMITS.rate_per_min}/min (100/s)`);
  if (!(Number.isInteger(maxRequests) && maxRequests > 0 && maxRequests <= LIMITS.max_requests))
    throw new Error(`--max-requests must be 1..${LIMITS.max_requests}`);
  const expected = (ratePerMin * (durationMs + backfillMs)) / MINUTE;
  if (expected > maxRequests)
    throw new Error(
      `about ${Math.round(expected).toLocaleString("en")} requests at this rate and length: above --max-requests ${maxRequests.toLocaleString("en")}`,
    );
  const service = values.service ?? `sim-${scenarios.join("-")}`.slice(0, 64);
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(service))
    throw new Error("--service must be 1-64 characters of A-Z a-z 0-9 . _ -");
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) throw new Error("--seed must be an integer");
  const target = values.target === undefined ? undefined : Number(values.target);
  if (target !== undefined && !Number.isFinite(target)) throw new Error("--target must be a number");
  return {
    help: false,
    url: checkTarget(values.url, "--url", values["allow-remote"]),
    origin: values.origin === undefined ? undefined : checkTarget(values.origin, "--origin", values["allow-remote"]),
    scenarios,
    via: values.via === "proxy" ? "proxy" : "ingest", // checked above: one of the two
    durationMs,
    backfillMs,
    ratePerMin,
    maxRequests,
    seed,
    service,
    endpoint: values.endpoint,
    changeAtMs: values["change-at"] === undefined ? undefined : parseDuration(values["change-at"]),
    rampMs: values.ramp === undefined ? undefined : parseDuration(values.ramp),
    target,
    keys: { ingest: values["ingest-key"], read: values["read-key"], admin: values["admin-key"] },
  };
}
