// @ts-check
/**
 * CPU of parsing the JSON the objects store with zod (src/lib/stored-schema.ts) against a plain
 * JSON.parse: an incident (5 signals, 10 timeline entries, 2 concentrations), a group of 8
 * members, an endpoint state (4 signals), the published mark and a token bucket. Says which reads
 * can afford zod (reads per publish, per group call, per admission of a new route), in µs per value.
 * The real TypeScript, bundled with esbuild. Usage: node bench/stored-json-cpu.mjs
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const esbuild = await import("esbuild");
const dir = mkdtempSync(join(tmpdir(), "stored-json-cpu-"));
const entry = join(dir, "entry.ts");
const src = new URL("../src/", import.meta.url).pathname;
writeFileSync(
  entry,
  [
    `export { IncidentSchema } from "${src}detect/incident-schema.ts";`,
    `export { EndpointStateSchema } from "${src}monitor/endpoint-state-schema.ts";`,
    `export { IncidentGroupSchema } from "${src}incidents/group-schema.ts";`,
    `export { StoredCountsSchema } from "${src}cost/counts.ts";`,
    `export { BucketSchema } from "${src}monitor/route-admission.ts";`,
  ].join("\n"),
);
const outfile = join(dir, "bundle.mjs");
await esbuild.build({
  entryPoints: [entry],
  bundle: true,
  format: "esm",
  platform: "node",
  outfile,
  logLevel: "silent",
});
const { IncidentSchema, EndpointStateSchema, IncidentGroupSchema, StoredCountsSchema, BucketSchema } = await import(
  outfile
);
rmSync(dir, { recursive: true, force: true });

const T = 1_700_000_000_000;
const figures = {
  requests_per_minute: 600,
  error_rate: 0.1,
  client_error_rate: 0.01,
  silent_failure_rate: 0,
  p50_ms: 40,
  p95_ms: 120,
  p99_ms: 300,
  availability_burn_1h: 12,
  latency_burn_1h: null,
};
const kinds = [
  "error_rate_baseline",
  "error_rate_threshold",
  "availability_burn_page",
  "latency_p95_baseline",
  "silent_failures",
];
const families = ["availability", "availability", "availability", "latency", "silent"];
const signal = (/** @type {number} */ i) => ({
  kind: kinds[i],
  family: families[i],
  level: "warning",
  observed: 0.1 + i,
  baseline: 0.001,
  threshold: null,
  unit: "ratio",
  window: "5m",
});
const incident = {
  id: "inc_0001",
  service: "shop",
  method: "GET",
  route: "/orders/:id",
  severity: "CRITICAL",
  status: "open",
  opened_at: T,
  escalated_at: T + 60_000,
  resolved_at: null,
  last_event_at: T + 600_000,
  clean_minutes: 0,
  severity_score: 0.8,
  health_score: 20,
  action: "ESCALATE",
  signals: kinds.map((_, i) => ({ ...signal(i), peak: 0.2 + i, first_event_at: T, last_event_at: T + 600_000 })),
  figures_at_open: figures,
  figures,
  explanation: "5xx rose to 10% of requests (usually 0.1%) ".repeat(4),
  in_maintenance: false,
  maintenance_id: null,
  maintenance_released_at: null,
  deploy: { id: "dep_1", version: "v2.3.1", at: T - 60_000, description: null },
  concentration: [0, 1].map(() => ({
    dimension: "consumer",
    metric: "5xx",
    names: ["acme"],
    share: 0.9,
    rate: 0.5,
    rate_elsewhere: 0.01,
    failures: 90,
    requests: 180,
    text: "90% of the 5xx come from consumer acme",
  })),
  timeline: Array.from({ length: 10 }, (_, i) => ({
    at: T + i * 60_000,
    change: i % 2 ? "resolved" : i ? "reopened" : "opened",
    severity: "WARNING",
    signals: i % 2 ? [] : kinds.slice(0, 2),
  })),
  reopened_count: 4,
};
const state = {
  service: "shop",
  method: "GET",
  route: "/orders/:id",
  health: "CRITICAL",
  severity_score: 0.8,
  health_score: 20,
  action: "ESCALATE",
  signals: [0, 1, 2, 3].map((i) => ({ ...signal(i), strength: 0.5 })),
  figures,
  baselines: {
    p95_ms: { value: 100, low: 80, high: 130, n: 400 },
    p50_ms: { value: 40, low: 30, high: 50, n: 400 },
    requests_per_minute: { value: 600, low: 400, high: 800, n: 400 },
    error_rate: 0.001,
    silent_failure_rate: 0,
    inconsistency_rate: 0,
    client_error_rate: 0.01,
    objective: { latency_ms: null, p95_ms: 300, learning: false, slower_than_default_objective: false },
  },
  open_incident_id: "inc_0001",
  slower_than_default_objective: false,
  evaluated_at: T,
};
const group = {
  id: "grp_1",
  service: "shop",
  services: ["shop"],
  origin: null,
  status: "open",
  opened_at: T,
  resolved_at: null,
  hold_until: T + 60_000,
  severity: "CRITICAL",
  origin_down: true,
  alert: "group",
  dedup_key: "grp_1",
  members: Array.from({ length: 8 }, (_, i) => ({
    incident_id: `inc_000${i}`,
    service: "shop",
    method: "GET",
    route: `/r${i}`,
    severity: "CRITICAL",
    status: "open",
    opened_at: T,
    resolved_at: null,
    signal_kinds: ["probe_failed", "error_rate_threshold"],
    origin: null,
    joined_at: T,
    alerted_alone: false,
  })),
  updated_at: T,
};
const cost = Object.fromEntries(
  ["worker_requests", "do_requests", "do_rows_written", "do_rows_read", "d1_rows_written", "r2_class_a"].map((f, i) => [
    f,
    i * 1000,
  ]),
);

/** µs per call of `f`, the median of 5 runs of `n` calls. */
function time(/** @type {() => unknown} */ f, n = 20_000) {
  const runs = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) f();
    runs.push(((performance.now() - t0) * 1000) / n);
  }
  return runs.sort((a, b) => a - b)[2];
}

const cases = [
  ["incident", IncidentSchema, incident],
  ["group (8 members)", IncidentGroupSchema, group],
  ["endpoint state", EndpointStateSchema, state],
  ["cost counts", StoredCountsSchema, cost],
  ["token bucket", BucketSchema, { tokens: 1.5, at: T }],
];
console.log("value              bytes  JSON.parse µs  + zod µs");
for (const [name, schema, value] of cases) {
  const text = JSON.stringify(value);
  if (!schema.safeParse(JSON.parse(text)).success) throw new Error(`${name} does not parse`);
  const plain = time(() => JSON.parse(text));
  const zod = time(() => schema.parse(JSON.parse(text)));
  console.log(
    `${String(name).padEnd(18)} ${String(text.length).padStart(5)}  ${plain.toFixed(2).padStart(13)}  ${zod.toFixed(2).padStart(8)}`,
  );
}
