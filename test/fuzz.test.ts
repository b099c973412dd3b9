/**
 * Property-based fuzzing of every JSON route and the ingest formats (fast-check, seeded). Each
 * generated request goes through the worker's fetch handler in-process with the real auth, D1 and
 * Durable Objects. Properties: no 5xx ever; every 4xx is the JSON error envelope; what was stored
 * before the run (logs, services, alert channels, detection settings, switches) is unchanged after
 * it. The seed is fixed (FUZZ_SEED overrides it, FUZZ_SCALE multiplies the number of runs) and is
 * printed with any failure; see docs/testing.md "Fuzzing in CI" for how to replay one.
 */
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { parseLogBody } from "../src/ingest/body";
import { app } from "../src/app";
import { documentedRoutes } from "../src/openapi/document";

const ROUTES = documentedRoutes(app.routes);
import { describe as describeRequest, problemWith, send, settle, tally } from "./fuzz/check";
import { FUZZ_SERVICES, logsRequests, otlpRequests } from "./fuzz/ingest";
import { NOT_FUZZED, operations, requestsFor, strayRequests, type FuzzRequest, type Operation } from "./fuzz/requests";
import { ADMIN_KEY, READ_KEY, call, flushAll, getJson, postLogs, record } from "./helpers";

const DEFAULT_SEED = 20261206;
const SEED = /^-?\d+$/.test(env.FUZZ_SEED) ? Number(env.FUZZ_SEED) : DEFAULT_SEED;
const SCALE = Number(env.FUZZ_SCALE) > 0 ? Number(env.FUZZ_SCALE) : 1;

/** Runs per operation: many where inputs vary and are refused cheaply, few for bare or heavy routes. */
const RUNS = { ingest: 1500, otlp: 600, withInputs: 100, bare: 10, stray: 500, afterFlush: 6 };
/** Routes whose valid inputs cost a D1 write, a job run, an outbound call or a new Durable Object. */
const HEAVY: Record<string, number> = {
  "POST /v1/control/re-evaluate": 10,
  "POST /v1/control/aggregate": 15,
  "POST /v1/control/prune": 15,
  "POST /v1/control/probes/run": 5,
  "POST /v1/alert-channels/{id}/test": 30,
  "PUT /v1/control/switches": 40,
  "DELETE /v1/services/{name}": 40,
  "GET /v1/endpoints/{service}/{method}/{route}": 50,
};

function runsFor(op: Operation): number {
  const base = HEAVY[op.key] ?? (op.params.length + op.query.length > 0 || op.body ? RUNS.withInputs : RUNS.bare);
  return Math.max(1, Math.round(base * SCALE));
}

// Stored before the run and compared after it. `victim` rows may be changed by the fuzz (so that
// valid writes reach existing rows too); `kept` rows are only ever targeted by requests the
// route must refuse (a body its schema rejects) or by reads.
const KEPT_LOGS = "seed-logs";
const KEPT_SERVICE = "seed-svc";
const VICTIM_SERVICE = "fz-victim";
const VAR_SERVICES = ["shop", "based", "quiet", "sampled"];
const WEBHOOK_SECRET = `whsec_${btoa("kept-secret-0123456789-abcdefghij")}`;
const kept = { channels: [] as string[] };
const known: Record<string, string[]> = {};

async function admin(method: string, path: string, body?: unknown): Promise<Response> {
  const res = await call(path, {
    method,
    headers: { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res;
}

async function createChannel(name: string, extra: Record<string, unknown>): Promise<string> {
  const res = await admin("POST", "/v1/alert-channels", { name, enabled: false, services: [KEPT_SERVICE], ...extra });
  return (await res.json<{ id: string }>()).id;
}

/** The stored data the run must not change, as D1 rows and as the API shows it. */
async function snapshot(): Promise<unknown> {
  const rows = async (sql: string, ...binds: unknown[]) =>
    (
      await env.DB.prepare(sql)
        .bind(...binds)
        .all()
    ).results;
  const ids = kept.channels.map(() => "?").join(",");
  const api = async (path: string) => (await getJson<unknown>(path, ADMIN_KEY)).body;
  return {
    logs: await rows("SELECT * FROM request_logs WHERE service = ? ORDER BY timestamp, record_key", KEPT_LOGS),
    services: await rows("SELECT * FROM services WHERE name IN (?, ?) ORDER BY name", KEPT_SERVICE, KEPT_LOGS),
    channels: await rows(`SELECT * FROM alert_channels WHERE id IN (${ids}) ORDER BY id`, ...kept.channels),
    detection: await rows("SELECT * FROM detection_settings WHERE service = ?", KEPT_SERVICE),
    // Switches flipped by the fuzz are put back at once; their updated_at moves, so it is left out.
    switches: await rows("SELECT name, enabled FROM control_switches ORDER BY name"),
    apiLogs: await api(`/v1/logs?service=${KEPT_LOGS}&limit=1000`),
    apiService: await api(`/v1/services/${KEPT_SERVICE}`),
    apiDetection: await api(`/v1/services/${KEPT_SERVICE}/detection`),
    apiChannels: await Promise.all(kept.channels.map((id) => api(`/v1/alert-channels/${id}`))),
  };
}

let before: unknown;

beforeAll(async () => {
  // Workers AI cannot run here: the analysis and summaries answer without it.
  vi.spyOn(env.AI, "run").mockRejectedValue(new Error("Workers AI is not available in the fuzz suite"));
  const now = Date.now();
  const full = {
    id: "seed-1",
    route: "/items/:id",
    request_bytes: 10,
    response_bytes: 20,
    ttfb_ms: 3,
    error: "boom",
    response_empty: false,
    inconsistent: false,
    request_id: "req-1",
    client_ip: "10.0.0.1",
    user_agent: "seed/1",
    consumer: "acme",
    region: "eu",
    attributes: { plan: "pro", n: 1, ok: true },
  };
  const res = await postLogs(
    [
      record(KEPT_LOGS, full),
      record(KEPT_LOGS, { id: "seed-2", status: 503, timestamp: now - 5_000 }),
      record(KEPT_LOGS, { id: "seed-3", method: "POST", path: "/orders" }),
    ],
    { sync: true },
  );
  expect(res.status).toBe(202);
  await flushAll();
  for (const name of [KEPT_SERVICE, VICTIM_SERVICE]) {
    await admin("PUT", `/v1/services/${name}`, {
      origin: "https://origin.test/base",
      hostnames: [`${name}.fuzz.test`],
      timeout_ms: 1000,
      recording: { sample_rate: 2 },
    });
    await admin("PUT", `/v1/services/${name}/detection`, {
      slo: { availability: 0.995 },
      thresholds: { p95_ms: 800 },
      endpoints: { "GET /items/:id": { thresholds: { error_rate: 0.1 } } },
    });
  }
  kept.channels.push(
    await createChannel("kept-webhook", {
      type: "webhook",
      url: "https://hooks.fuzz.example.com/kept",
      secret: WEBHOOK_SECRET,
    }),
  );
  kept.channels.push(
    await createChannel("kept-slack", { type: "slack", url: "https://hooks.slack.com/services/T0/B0/keptsecret" }),
  );
  const victim = await createChannel("victim", {
    type: "webhook",
    url: "https://hooks.fuzz.example.com/victim",
    secret: WEBHOOK_SECRET,
  });
  await admin("PUT", "/v1/control/switches", { ingestion: true, proxy_recording: true, probes: true });
  Object.assign(known, {
    name: [KEPT_SERVICE, VICTIM_SERVICE, ...VAR_SERVICES],
    service: [KEPT_LOGS, ...FUZZ_SERVICES],
    method: ["GET", "post"],
    route: ["/items/:id", "/orders"],
    id: [...kept.channels, victim, "inc_none_x"],
  });
  before = await snapshot();
});

const phases: string[] = [];

/** Runs `fn` and notes how long it took, for the summary line. */
async function timed(name: string, fn: () => Promise<void>): Promise<void> {
  const start = performance.now();
  const sent = tally.requests;
  await fn();
  phases.push(`${name} ${tally.requests - sent} in ${Math.round(performance.now() - start)} ms`);
}

afterAll(() => {
  const statuses = [...tally.statuses.entries()]
    .sort(([a], [b]) => a - b)
    .map(([s, n]) => `${s}:${n}`)
    .join(" ");
  console.log(
    `fuzz: seed ${SEED}, ${tally.requests} requests, ${tally.records} records/spans inside them; statuses ${statuses}\n  ${phases.join("\n  ")}`,
  );
});

/** The same seed gives each property its own stream, whatever the order they run in. */
function seedFor(name: string): number {
  let h = 2166136261;
  for (const ch of name) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return (SEED ^ h) | 0;
}

/**
 * A write aimed at a kept record is sent only when the route must refuse it (its schema rejects
 * the body); otherwise it is aimed at a name of the fuzz's own. Deletes never reach kept records.
 */
function spareKept(op: Operation, req: FuzzRequest): FuzzRequest {
  if (op.method === "GET") return req;
  const protectedNames = new Set([KEPT_SERVICE, ...VAR_SERVICES, ...kept.channels]);
  const cut = req.target.includes("?") ? req.target.indexOf("?") : req.target.length;
  const path = req.target.slice(0, cut);
  const query = req.target.slice(cut);
  const segments = path.split("/");
  const hit = segments.some((s) => protectedNames.has(safeDecode(s)));
  if (!hit) return req;
  const accepted = op.method === "DELETE" || (op.body !== undefined && bodyAccepted(op, req));
  if (!accepted) return req;
  const renamed = segments.map((s) => (protectedNames.has(safeDecode(s)) ? `fz-${s}` : s)).join("/");
  return { ...req, target: renamed + query };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function bodyAccepted(op: Operation, req: FuzzRequest): boolean {
  if (req.body === null || typeof req.body !== "string" || req.gzip) return false;
  let value: unknown;
  try {
    value = JSON.parse(req.body);
  } catch {
    return false;
  }
  return op.body?.zod ? op.body.zod.safeParse(value).success : true;
}

/** Switches flipped by a fuzzed request are put back before the next one (a paused ingest answers 503 by design). */
async function restoreSwitches(op: Operation, status: number, text: string): Promise<void> {
  if (op.key === "PUT /v1/control/switches" && status < 300 && text.includes("false"))
    await admin("PUT", "/v1/control/switches", { ingestion: true, proxy_recording: true, probes: true });
}

/**
 * Every record of an accepted `POST /v1/logs` body is accounted for: accepted, or rejected with
 * its own index (the body split by the app's own parser gives the count). Nothing silently lost.
 */
function everyRecordAccounted(req: FuzzRequest, answer: { status: number; text: string }): string | null {
  if (answer.status !== 202 || req.body === null || req.gzip) return null;
  const text = typeof req.body === "string" ? req.body : new TextDecoder().decode(req.body);
  let items: number;
  try {
    items = parseLogBody(text, req.headers["Content-Type"]).length;
  } catch {
    return "answered 202 to a body the parser refuses";
  }
  const body = JSON.parse(answer.text) as { accepted: number; rejected: { index: number }[] };
  const indexes = new Set(body.rejected.map((r) => r.index));
  if (
    body.accepted + body.rejected.length !== items ||
    indexes.size !== body.rejected.length ||
    [...indexes].some((i) => i < 0 || i >= items)
  ) {
    return `${items} records sent, answer accounts for ${body.accepted} accepted and rejected indexes ${[...indexes].join(",")}`;
  }
  return null;
}

/** Runs one property over `arb`; a failure names the seed and the shrunk request. */
async function fuzz(
  name: string,
  arb: fc.Arbitrary<{ request: FuzzRequest; records: number }>,
  runs: number,
  opts: {
    jsonAnswer?: boolean;
    prepare?: (r: FuzzRequest) => FuzzRequest;
    after?: (status: number, text: string) => Promise<void>;
    check?: typeof everyRecordAccounted;
  } = {},
): Promise<void> {
  const property = fc.asyncProperty(arb, async ({ request, records }) => {
    const req = opts.prepare ? opts.prepare(request) : request;
    const answer = await send(req);
    tally.records += records;
    await opts.after?.(answer.status, answer.text);
    const problem = problemWith(answer, opts.jsonAnswer ?? true) ?? opts.check?.(req, answer) ?? null;
    if (problem) throw new Error(`${problem}\n    request: ${describeRequest(req)}`);
  });
  const details = await fc.check(property, { seed: seedFor(name), numRuns: runs });
  if (details.failed) {
    const shrunk = details.counterexample?.[0];
    const req = shrunk ? (opts.prepare ? opts.prepare(shrunk.request) : shrunk.request) : null;
    const cause =
      details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    throw new Error(
      `fuzz "${name}" failed after ${details.numRuns} runs (${details.numShrinks} shrinks). FUZZ_SEED=${SEED} (property seed ${details.seed}, path ${details.counterexamplePath}).\n` +
        `  reproduce: FUZZ_SEED=${SEED} npx vitest run test/fuzz.test.ts -t "${name}"\n  ${cause}` +
        (req ? `\n  shrunk request: ${describeRequest(req)}` : ""),
    );
  }
}

const OPS = operations();
const wrap = (arb: fc.Arbitrary<FuzzRequest>) => arb.map((request) => ({ request, records: 0 }));

// Minutes, not seconds, only on a machine under heavy load: the whole file takes a few seconds otherwise.
describe("fuzz", { timeout: 180_000 }, () => {
  it("covers every documented operation except the proxy, and sends at least 10,000 inputs", () => {
    const documented = ROUTES.filter((r) => !(r.path in NOT_FUZZED)).map((r) => `${r.method} ${r.path}`);
    expect(OPS.map((o) => o.key).sort()).toEqual(documented.sort());
    expect(Object.keys(NOT_FUZZED).every((p) => ROUTES.some((r) => r.path === p))).toBe(true);
    for (const heavy of Object.keys(HEAVY))
      expect(
        OPS.map((o) => o.key),
        heavy,
      ).toContain(heavy);
    const planned = RUNS.ingest + RUNS.otlp + RUNS.stray + OPS.reduce((n, op) => n + runsFor(op) / SCALE, 0);
    // The rest of the 10,000 inputs are the records and spans inside the ingest bodies (checked at the end).
    expect(planned).toBeGreaterThanOrEqual(4_500);
  });

  it("POST /v1/logs: one record, arrays and NDJSON", async () => {
    await timed("POST /v1/logs", async () => {
      await fuzz("POST /v1/logs", logsRequests(Date.now()), Math.round(RUNS.ingest * SCALE), {
        check: everyRecordAccounted,
      });
      await settle();
    });
  });

  it("POST /v1/otlp/v1/traces: OTLP JSON", async () => {
    await timed("POST /v1/otlp/v1/traces", async () => {
      await fuzz("POST /v1/otlp/v1/traces", otlpRequests(Date.now()), Math.round(RUNS.otlp * SCALE));
      await settle();
    });
  });

  for (const op of OPS.filter((o) => o.key !== "POST /v1/logs" && o.key !== "POST /v1/otlp/v1/traces")) {
    it(op.key, async () => {
      await timed(op.key, async () => {
        await fuzz(op.key, wrap(requestsFor(op, known)), runsFor(op), {
          jsonAnswer: op.jsonAnswer,
          prepare: (r) => spareKept(op, r),
          after: (status, text) => restoreSwitches(op, status, text),
        });
        await settle();
      });
    });
  }

  it("unknown paths and methods under the API's prefixes", async () => {
    await timed("stray", () => fuzz("stray", wrap(strayRequests), Math.round(RUNS.stray * SCALE)));
  });

  it("reads and jobs, once the fuzzed records are in D1", async () => {
    await timed("flush", flushAll);
    // Every route runs even when one fails, so a failure here names all the routes it affects.
    const failures: string[] = [];
    await timed("after flush", async () => {
      for (const op of OPS.filter(
        (o) => o.method === "GET" || o.path.startsWith("/v1/control/") || o.path === "/v1/analysis",
      )) {
        await fuzz(
          `${op.key} (after flush)`,
          wrap(requestsFor(op, known)),
          Math.max(1, Math.round(RUNS.afterFlush * SCALE)),
          {
            jsonAnswer: op.jsonAnswer,
            prepare: (r) => spareKept(op, r),
            after: (status, text) => restoreSwitches(op, status, text),
          },
        ).catch((err: unknown) => void failures.push(err instanceof Error ? err.message : String(err)));
      }
      await settle();
    });
    expect(failures, failures.join("\n\n")).toEqual([]);
  });

  it("left the data stored before the run unchanged, after at least 10,000 inputs", async () => {
    expect(await snapshot()).toEqual(before);
    if (SCALE >= 1) expect(tally.requests + tally.records).toBeGreaterThanOrEqual(10_000);
    // The fuzz did store things of its own (so the comparison above is not vacuous).
    const { body } = await getJson<{ logs: unknown[] }>(`/v1/logs?service=${FUZZ_SERVICES[0]}&limit=5`, READ_KEY);
    expect(body.logs.length).toBeGreaterThan(0);
  });
});
