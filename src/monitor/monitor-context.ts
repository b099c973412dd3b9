/**
 * What the endpoint object's jobs share (see endpoint-monitor.ts): its storage, its parts and
 * its bindings. Each job module takes this instead of the object, so that it names what it uses.
 */
import type { AlertOutbox } from "../alerts/outbox";
import type { CostMeter } from "../cost/counts";
import type { MeteredSql } from "../cost/sql-storage";
import type { Endpoint } from "../detect/incident";
import type { LogRecord } from "../ingest/record";
import type { DetectionRunner } from "./detection-runner";
import type { ObjectMeta } from "./object-meta";
import type { Quarantine } from "./quarantine";
import type { RecordBuffer } from "./record-buffer";
import type { ServiceContext } from "./service-context";
import type { EndpointWindows } from "./windows";

export interface MonitorContext {
  readonly env: Env;
  readonly storage: DurableObjectStorage;
  /** The object's name (the endpoint's), for logs. */
  readonly name: string | null;
  /** The object's id (names its R2 write-through objects). */
  readonly id: string;
  readonly sql: MeteredSql;
  readonly meter: CostMeter;
  readonly store: ObjectMeta;
  readonly buffer: RecordBuffer;
  readonly quarantine: Quarantine;
  readonly windows: EndpointWindows;
  readonly detection: DetectionRunner;
  readonly outbox: AlertOutbox;
  /** The service's maintenance windows and recent deploys (cached from D1). */
  readonly services: ServiceContext;
  /** The D1 database, read at each use (fault tests wrap the object's `logsDb`). */
  db(): D1Database;
  /** The R2 archive (null: not bound), read at each use (fault tests wrap the object's `archive`). */
  archive(): R2Bucket | null;
  waitUntil(promise: Promise<unknown>): void;
}

/** The endpoint an object serves, from its stored identity (or `fallback`'s while it has none). */
export function endpointOf(store: ObjectMeta, fallback?: LogRecord): Endpoint | null {
  const service = store.get("service") ?? fallback?.service;
  const method = store.get("method") ?? fallback?.method;
  const route = store.get("route") ?? fallback?.route;
  return service && method && route ? { service, method, route } : null;
}
