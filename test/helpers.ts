/** Shared test helpers: keys from vitest.config.ts, requests through the worker, flushing endpoint objects. */
import { PUBLISH_EVERY_MS } from "../src/monitor/detection-publisher";
import { listDurableObjectIds, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import type { EndpointMonitor } from "../src/monitor/endpoint-monitor";
import { endpointObject } from "../src/monitor/endpoint-object";

export const INGEST_KEY = "test-ingest-key";
export const READ_KEY = "test-read-key";
export const ADMIN_KEY = "test-admin-key";
export const BASE = "http://monitor.test";

/** A valid record for `service`, overridable field by field. */
export function record(service: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    timestamp: Date.now() - 1000,
    service,
    method: "GET",
    path: "/items/1",
    status: 200,
    latency_ms: 20,
    ...overrides,
  };
}

/** Calls the worker's fetch handler. */
export function call(path: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(new Request(`${BASE}${path}`, init));
}

/** `POST /v1/logs` with the ingest key. */
export function postLogs(
  body: unknown,
  opts: { sync?: boolean; contentType?: string; raw?: boolean } = {},
): Promise<Response> {
  return call(`/v1/logs${opts.sync ? "?sync=1" : ""}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${INGEST_KEY}`, "Content-Type": opts.contentType ?? "application/json" },
    body: opts.raw ? (body as string) : JSON.stringify(body),
  });
}

/** `GET` with the read key, parsed as JSON. */
export async function getJson<T>(path: string, key = READ_KEY): Promise<{ status: number; body: T }> {
  const res = await call(path, { headers: { Authorization: `Bearer ${key}` } });
  return { status: res.status, body: (await res.json()) as T };
}

/**
 * Runs the pending flush alarm of every endpoint object (repeatedly, until none is left). An
 * endpoint that samples flushes once a minute (src/monitor/flush-cadence.ts): after its alarm
 * deferred, its flush is run at a clock past the next minute's flush, so that everything goes now.
 */
export async function flushAll(): Promise<void> {
  for (let round = 0; round < 10; round++) {
    const ids = await listDurableObjectIds(env.ENDPOINT_MONITOR);
    const ran = await Promise.all(ids.map((id) => runFlush(env.ENDPOINT_MONITOR.get(id))));
    if (!ran.some(Boolean)) return;
  }
}

/**
 * Runs the endpoint object's pending alarm and, when the object flushes once a minute
 * (src/monitor/flush-cadence.ts) or its R2 write-through waits, its flush at a clock past the minute's flush, so that
 * everything buffered goes now. Whether an alarm ran.
 */
export async function runFlush(stub: DurableObjectStub<EndpointMonitor>): Promise<boolean> {
  const ran = await runDurableObjectAlarm(stub);
  // A flush that waits for the minute, or a write-through to R2 that waits for its minute (ARCHIVE_EVERY_MS): now, at a later clock.
  if ((await inMonitor(stub, (m) => m.flush.waitingForMinute)) || (await stub.stats()).archive_backlog > 0) {
    await inMonitor(stub, (m) => m.flush.flushDue(Date.now() + 2 * 60_000));
  }
  // Counters alone are published at most once a minute (PUBLISH_EVERY_MS): now, at a later clock
  // (also when the alarm already ran on its own: its publish may have waited for the minute).
  await publishAt(stub, Date.now() + PUBLISH_EVERY_MS);
  return ran;
}

/**
 * Runs `job` inside the endpoint object. Its jobs (`jobs`, `flush`, `outbox`) are fields, which
 * RPC does not expose: tests reach them here and pass the clock (`now`) the jobs take.
 */
export function inMonitor<T>(
  stub: DurableObjectStub<EndpointMonitor>,
  job: (monitor: EndpointMonitor) => T | Promise<T>,
): Promise<T> {
  return runInDurableObject(stub, job);
}

/** Publishes what changed as the alarm does, at clock `now` (see PUBLISH_EVERY_MS); false when D1 failed. */
export function publishAt(stub: DurableObjectStub<EndpointMonitor>, now: number): Promise<boolean> {
  return inMonitor(stub, (m) => {
    m.jobs.publisher.markCounters();
    return m.jobs.publisher.sync(now);
  });
}

/** The endpoint object of (service, method, route). */
export function endpointStub(service: string, method: string, route: string) {
  return endpointObject(env, { service, method, route });
}

/** Number of rows in D1 for a service. */
export async function countLogs(service: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM request_logs WHERE service = ?")
    .bind(service)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** Waits until `check` returns true (polling), or fails after `ms`. */
export async function eventually(check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("condition not met in time");
}

/**
 * Gives `service` the `raw_logs` mode `all` (through the services API, with a placeholder origin):
 * for tests about something else that count every record among the D1 rows.
 */
export async function storeAllRawLogs(service: string): Promise<void> {
  const res = await call(`/v1/services/${service}`, {
    method: "PUT",
    headers: { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" },
    body: JSON.stringify({ origin: "https://origin.example", raw_logs: { mode: "all" } }),
  });
  if (!res.ok) throw new Error(`PUT /v1/services/${service}: ${res.status} ${await res.text()}`);
}
