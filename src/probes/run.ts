/**
 * The probe job: runs every configured probe that is due, a few at a time, hands the results to
 * the endpoint Durable Objects like any other record (`source: "probe"`), and keeps each probe's
 * last run in `probe_runs` (with its count of consecutive failures, which detection reads as a
 * signal at 2).
 *
 * Safe to run concurrently with itself (cron is at-least-once): a probe is claimed before it runs
 * with one conditional upsert on `last_run_at`, so two runs at once cannot both run it and count
 * one failure twice. The deadline stops new probes from starting; a started probe still runs to
 * its own timeout (at most 60 s). Probes run whatever the service's `recording` switches say:
 * they are the operator's explicit request, few, and detection needs them (neither sampling nor
 * `recording.enabled: false` applies to them). The `probes` operator switch is the caller's to check.
 */
import { and, asc, eq, lte, sql } from "drizzle-orm";
import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import type { JobContext, JobOutcome } from "../cron/jobs";
import { probeRuns } from "../db/schema";
import { log } from "../lib/log";
import { handOff } from "../ingest/handoff";
import { redactEmailsSetting } from "../ingest/privacy-settings";
import type { LogRecord } from "../ingest/record";
import type { ProbeSettings, ServiceConfig } from "../services/config";
import { loadDirectory } from "../services/store";
import { probeRecord, runProbe, type ProbeResult } from "./check";
import { errorMessage } from "../lib/errors";

/** Probes in flight at once. */
export const PROBE_CONCURRENCY = 6;
/** A probe is due this much before its interval is over, so a cron tick that fires a little early does not skip it for a whole tick. */
export const DUE_SLACK_MS = 5_000;

type Db = DrizzleD1Database<Record<string, never>>;

interface Planned {
  service: ServiceConfig;
  probe: ProbeSettings;
}

const runKey = (service: string, probe: string) => `${service}\u0000${probe}`;

/** True when a probe last run at `lastRunAt` is due at `now`. */
export function isDue(lastRunAt: number | undefined, intervalSeconds: number, now: number): boolean {
  return lastRunAt === undefined || lastRunAt <= now - intervalSeconds * 1000 + DUE_SLACK_MS;
}

/** Claims a probe for this run: true when no other run has claimed it within its interval (or `force`). */
async function claim(d: Db, p: Planned, now: number, force: boolean): Promise<boolean> {
  const rows = await d
    .insert(probeRuns)
    .values({ service: p.service.name, probe: p.probe.name, lastRunAt: now, lastOk: false, consecutiveFailures: 0 })
    .onConflictDoUpdate({
      target: [probeRuns.service, probeRuns.probe],
      set: { lastRunAt: now },
      ...(force ? {} : { setWhere: lte(probeRuns.lastRunAt, now - p.probe.interval_seconds * 1000 + DUE_SLACK_MS) }),
    })
    .returning({ probe: probeRuns.probe })
    .all();
  return rows.length > 0;
}

async function saveResult(d: Db, r: ProbeResult): Promise<void> {
  await d
    .update(probeRuns)
    .set({
      lastOk: r.ok,
      lastStatus: r.status,
      lastLatencyMs: r.latencyMs,
      lastError: r.error,
      consecutiveFailures: r.ok ? 0 : sql`${probeRuns.consecutiveFailures} + 1`,
    })
    .where(and(eq(probeRuns.service, r.service), eq(probeRuns.probe, r.probe)));
}

/** Runs the due probes of every configured service (all of them with `force`); see the module comment. */
export async function runProbes(env: Env, ctx: JobContext & { force?: boolean }): Promise<JobOutcome> {
  const d = drizzle(env.DB);
  const directory = await loadDirectory(env, ctx.now);
  const configured: Planned[] = [];
  for (const service of directory.byName.values())
    for (const probe of service.probes) configured.push({ service, probe });

  const last = await d
    .select({ service: probeRuns.service, probe: probeRuns.probe, lastRunAt: probeRuns.lastRunAt })
    .from(probeRuns)
    .all();
  const lastRun = new Map(last.map((r) => [runKey(r.service, r.probe), r.lastRunAt]));
  if (directory.complete) await forgetRemoved(d, last, configured);

  const force = ctx.force === true;
  const due = configured.filter(
    (p) => force || isDue(lastRun.get(runKey(p.service.name, p.probe.name)), p.probe.interval_seconds, ctx.now),
  );
  const results: ProbeResult[] = [];
  const errors: string[] = [];
  let notDue = configured.length - due.length;
  let skipped = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let item = due[next++]; item !== undefined; item = due[next++]) {
      if (Date.now() >= ctx.deadline) {
        skipped++;
        continue;
      }
      try {
        if (!(await claim(d, item, ctx.now, force))) {
          notDue++; // another run took it meanwhile
          continue;
        }
        const result = await runProbe(item.service, item.probe);
        results.push(result);
        await saveResult(d, result);
      } catch (err) {
        const message = errorMessage(err);
        errors.push(message);
        log("error", "probe_run_failed", { service: item.service.name, probe: item.probe.name, message });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PROBE_CONCURRENCY, due.length) }, worker));

  const records = results
    .map((r) => probeRecord(r, undefined, redactEmailsSetting(env)))
    .filter((r): r is LogRecord => r !== null);
  const handed = await handOff(env, records);
  const ok = results.filter((r) => r.ok).length;
  for (const r of results) {
    if (!r.ok) log("warn", "probe_failed", { service: r.service, probe: r.probe, status: r.status, error: r.error });
  }
  if (results.length === 0 && errors.length > 0) throw new Error(`no probe could run: ${errors[0]}`);
  return {
    rows: results.length,
    detail: {
      ok,
      failed: results.length - ok,
      not_due: notDue,
      skipped_deadline: skipped,
      errors: errors.length,
      records_stored: handed.stored + handed.fallback,
      records_failed: handed.failed,
    },
  };
}

/** Drops the runs of probes (or services) no longer configured, so the status shows only live probes. */
async function forgetRemoved(d: Db, rows: { service: string; probe: string }[], configured: Planned[]): Promise<void> {
  const live = new Set(configured.map((p) => runKey(p.service.name, p.probe.name)));
  for (const r of rows) {
    if (live.has(runKey(r.service, r.probe))) continue;
    await d.delete(probeRuns).where(and(eq(probeRuns.service, r.service), eq(probeRuns.probe, r.probe)));
  }
}

/** Each probe's last run, in the public API's snake_case, for the status API. */
export async function probeStatus(db: D1Database) {
  const rows = await drizzle(db).select().from(probeRuns).orderBy(asc(probeRuns.service), asc(probeRuns.probe)).all();
  return rows.map((r) => ({
    service: r.service,
    probe: r.probe,
    last_run_at: r.lastRunAt,
    last_ok: r.lastOk,
    last_status: r.lastStatus,
    last_latency_ms: r.lastLatencyMs,
    last_error: r.lastError,
    consecutive_failures: r.consecutiveFailures,
  }));
}
