/**
 * Control API for the background jobs (admin key): run them on demand, flip the switches, and
 * see each job's last run and the Durable Objects' backlog.
 * - `POST /v1/control/aggregate?from=&to=` (range optional; ISO or epoch ms)
 * - `POST /v1/control/prune?older_than_hours=N`
 * - `POST /v1/control/probes/run`
 * - `GET /v1/control/switches`, `PUT /v1/control/switches` `{"ingestion"?, "proxy_recording"?, "probes"?}`
 * - `GET /v1/control/status`
 */
import { drizzle } from "drizzle-orm/d1";
import { sql } from "drizzle-orm";
import { Hono } from "hono";
import * as z from "zod";
import { runJob } from "../cron/jobs";
import { endpointHealth, jobRuns, quarantinedEndpoints } from "../db/schema";
import type { AppEnv } from "../http/types";
import { defineRoute } from "../http/route";
import { probeStatus, runProbes } from "../probes/run";
import { epochOrIso } from "../query/logs-query";
import { prune } from "../retention/prune";
import { storageState } from "../ingest/storage-state";
import { aggregate } from "../summaries/aggregate";
import { controlStatusSchema, jobRunSchema, switchesSchema } from "./schemas";
import { loadSwitches, setSwitches } from "./switches";
import { currentD1Size } from "../cost/d1-size";
import { rawLogsState } from "../storage/policy";
import { meteredEnv, workerMeter } from "../cost/worker";

export const aggregateQuery = z
  .object({ from: epochOrIso.optional(), to: epochOrIso.optional() })
  .refine((q) => q.from === undefined || q.to === undefined || q.from <= q.to, "from must not be after to");
export const pruneQuery = z.object({
  older_than_hours: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 3650)
    .optional(),
});
export const switchesBody = z.strictObject({
  ingestion: z.boolean().optional(),
  proxy_recording: z.boolean().optional(),
  probes: z.boolean().optional(),
});

const jobResponse = { 200: { description: "the run", schema: jobRunSchema } };

export const jobsApp = new Hono<AppEnv>();

defineRoute(
  jobsApp,
  {
    method: "POST",
    path: "/aggregate",
    key: "admin",
    tag: "Control",
    summary: "Run the aggregation now (range optional, ≤ 31 days)",
    request: { query: aggregateQuery },
    responses: jobResponse,
  },
  async (c, { query: q }) => {
    const outcome = await runJob(c.env.DB, "aggregate", (ctx) =>
      aggregate(meteredEnv(c.env, ctx.meter), { ...ctx, from: q.from, to: q.to }),
    );
    return c.json({ job: "aggregate", ...outcome });
  },
);

defineRoute(
  jobsApp,
  {
    method: "POST",
    path: "/prune",
    key: "admin",
    tag: "Control",
    summary: "Run retention now",
    request: { query: pruneQuery },
    responses: jobResponse,
  },
  async (c, { query: q }) => {
    const olderThanMs = q.older_than_hours === undefined ? undefined : q.older_than_hours * 3_600_000;
    const outcome = await runJob(c.env.DB, "prune", (ctx) =>
      prune(meteredEnv(c.env, ctx.meter), { ...ctx, olderThanMs }),
    );
    return c.json({ job: "prune", ...outcome });
  },
);

defineRoute(
  jobsApp,
  {
    method: "POST",
    path: "/probes/run",
    key: "admin",
    tag: "Control",
    summary: "Run the due synthetic probes now",
    responses: jobResponse,
  },
  async (c) => {
    const outcome = await runJob(c.env.DB, "probes", (ctx) =>
      runProbes(meteredEnv(c.env, ctx.meter), { ...ctx, force: true }),
    );
    return c.json({ job: "probes", ...outcome });
  },
);

defineRoute(
  jobsApp,
  {
    method: "GET",
    path: "/switches",
    key: "admin",
    tag: "Control",
    summary: "The operator's switches",
    responses: { 200: { description: "switches", schema: switchesSchema } },
  },
  async (c) => c.json(await loadSwitches(c.env.DB)),
);

defineRoute(
  jobsApp,
  {
    method: "PUT",
    path: "/switches",
    key: "admin",
    tag: "Control",
    summary: "Flip switches",
    request: { body: { schema: switchesBody }, what: "switches" },
    responses: { 200: { description: "the switches now", schema: switchesSchema } },
  },
  async (c, { body }) => c.json(await setSwitches(c.env.DB, body)),
);

defineRoute(
  jobsApp,
  {
    method: "GET",
    path: "/status",
    key: "admin",
    tag: "Control",
    summary: "Each job's last run, the backlog, the quarantine, D1's capacity (`storage`), the switches and the probes",
    responses: { 200: { description: "status", schema: controlStatusSchema } },
  },
  async (c) => {
    const d = drizzle(c.env.DB);
    const q = quarantinedEndpoints;
    const [jobs, backlog, quarantine, switchesNow, probes] = await Promise.all([
      d.select().from(jobRuns).all(),
      d
        .select({
          records: sql<number>`coalesce(sum(${endpointHealth.backlog}), 0)`,
          endpoints: sql<number>`coalesce(sum(${endpointHealth.backlog} > 0), 0)`,
          archive_records: sql<number>`coalesce(sum(${endpointHealth.metrics} ->> '$.archive_backlog'), 0)`,
          archive_endpoints: sql<number>`coalesce(sum((${endpointHealth.metrics} ->> '$.archive_backlog') > 0), 0)`,
        })
        .from(endpointHealth)
        .get(),
      d
        .select({
          records: sql<number>`coalesce(sum(${q.records}), 0)`,
          endpoints: sql<number>`coalesce(sum(${q.records} > 0), 0)`,
        })
        .from(q)
        .get(),
      loadSwitches(c.env.DB),
      probeStatus(c.env.DB),
    ]);
    const size = await currentD1Size(c.env.DB, workerMeter, c.env.D1_MAX_BYTES);
    return c.json({
      jobs: jobs.map((j) => ({
        job: j.job,
        last_started_at: j.lastStartedAt,
        last_finished_at: j.lastFinishedAt,
        last_duration_ms: j.lastDurationMs,
        last_rows: j.lastRows,
        last_error: j.lastError,
        last_ok_at: j.lastOkAt,
        runs: j.runs,
        failures: j.failures,
      })),
      // As each endpoint object last published it (it publishes with every flush and evaluation).
      backlog: { records: backlog?.records ?? 0, endpoints: backlog?.endpoints ?? 0 },
      // Records held for the R2 write-through (an R2 outage shows here before anything is lost).
      archive_backlog: { records: backlog?.archive_records ?? 0, endpoints: backlog?.archive_endpoints ?? 0 },
      // Rows D1 refused on their own, held by the endpoint objects (GET /v1/control/quarantine lists them).
      quarantine: { records: quarantine?.records ?? 0, endpoints: quarantine?.endpoints ?? 0 },
      // "full": endpoint objects reported D1 refusing writes for capacity (records wait in them).
      ...storageState(),
      switches: switchesNow,
      probes,
      // D1's size against D1_MAX_BYTES (ok, high from 80%, full at it).
      d1_size: size,
      // Raw rows to D1: "normal", "sampling_harder" (past 80%: one plain success per endpoint and minute), "stopped" (at the cap).
      raw_logs: rawLogsState(size.state),
    });
  },
);
