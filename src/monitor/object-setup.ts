/**
 * How an endpoint object is put together: its parts over its SQLite storage (the shared
 * MonitorContext), and its tables created and migrated on wake, before any request.
 */
import { dashboardUrl } from "../config";
import { summarizeIncident } from "../ai/summarize";
import { AI_ALERT_WAIT_MS, AlertOutbox, announceChange } from "../alerts/outbox";
import type { CostMeter } from "../cost/counts";
import type { MeteredSql } from "../cost/sql-storage";
import { log } from "../http/log";
import { DetectionRunner } from "./detection-runner";
import { alertsHeld, annotateOpened } from "./follow-up";
import { deployWithinMs } from "./follow-up-job";
import { routeAlert } from "./group-link";
import type { MonitorContext } from "./monitor-context";
import type { MonitorJobs } from "./monitor-jobs";
import { ObjectMeta } from "./object-meta";
import { Quarantine } from "./quarantine";
import { RecordBuffer } from "./record-buffer";
import { ServiceContext } from "./service-context";
import { migrateObjectSchema } from "./object-schema";
import { EndpointWindows } from "./windows";

/** The object's bindings as the object holds them (read at each use: fault tests replace them). */
export interface ObjectBindings {
  sql: MeteredSql;
  meter: CostMeter;
  db: () => D1Database;
  archive: () => R2Bucket | null;
}

/** Builds the endpoint object's parts over its storage. */
export function createContext(ctx: DurableObjectState, env: Env, b: ObjectBindings): MonitorContext {
  const { sql, meter } = b;
  const waitUntil = (p: Promise<unknown>) => ctx.waitUntil(p);
  // `flushed` and `archived` are counted with the buffer's marks.
  const store: ObjectMeta = new ObjectMeta(sql, () => buffer.carried());
  const buffer = new RecordBuffer(sql, b.archive() !== null);
  const quarantine = new Quarantine(sql);
  const windows = new EndpointWindows(sql);
  // The incident's AI summary is asked for before its first alert, waiting at most AI_ALERT_WAIT_MS.
  const summarizeBeforeAlert = async (id: string) => {
    await summarizeIncident(env, id, { timeoutMs: AI_ALERT_WAIT_MS }).catch(() => undefined);
  };
  const outbox = new AlertOutbox(sql, b.db, dashboardUrl(env), summarizeBeforeAlert, {
    // Incident groups: a member's own alerts are carried by its group's (src/incidents/grouping.ts).
    route: (e, now) =>
      routeAlert(
        env,
        detection.incidents(50).find((i) => i.id === e.incident_id),
        e.event,
        now,
      ),
  });
  const services = new ServiceContext(b.db, waitUntil);
  const detection: DetectionRunner = new DetectionRunner(
    sql,
    store,
    windows,
    b.db,
    waitUntil,
    // An incident that opened inside a maintenance window is recorded, not alerted, until the window ends (followUp).
    (incident, change) => (alertsHeld(incident) ? undefined : announceChange(outbox, incident, change, Date.now())),
    (incident) => annotateOpened(incident, services.current(), deployWithinMs(env)),
  );
  const name = ctx.id.name ?? null;
  const id = ctx.id.toString();
  return {
    env,
    storage: ctx.storage,
    name,
    id,
    sql,
    meter,
    store,
    buffer,
    quarantine,
    windows,
    detection,
    outbox,
    services,
    db: b.db,
    archive: b.archive,
    waitUntil,
  };
}

/** Creates and migrates the object's tables, then loads what its jobs keep in memory (run under blockConcurrencyWhile). */
export function migrateObject(
  c: MonitorContext,
  jobs: Pick<MonitorJobs, "checkpoint" | "publisher" | "quarantine">,
): void {
  // Numbered steps above the stored version only (object-schema.ts), in one transaction with it.
  const schema = c.storage.transactionSync(() => migrateObjectSchema(c.sql));
  // A new object (from 0) is created, not migrated: not logged.
  if (schema.ran.length > 0 && schema.from > 0)
    log("info", "object_schema_migrated", { endpoint: c.name, from: schema.from, to: schema.to });
  c.store.addPending(c.buffer.load(Date.now()));
  jobs.checkpoint.loadMark();
  jobs.publisher.loadCost();
  jobs.quarantine.loadFlag();
}
