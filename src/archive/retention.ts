/**
 * Archive retention: objects whose hour ended before the cutoff (`ARCHIVE_RETENTION_DAYS`) are
 * deleted. Keys of a service sort by time (`raw/<service>/<YYYY>/<MM>/<DD>/<HH>...`), so listing a
 * service's prefix from the start yields its oldest objects first, and the first object still
 * inside retention ends that service's work. A run is bounded in R2 calls and by its deadline; it
 * starts at a different service each day so that a bounded run cannot starve the last ones. The
 * cutoff comes from the clock: a run deletes only what is expired, and the next simply carries on.
 */
import { log } from "../lib/log";
import { keyHour, servicePrefix } from "./query";
import { errorMessage } from "../lib/errors";
import { DAY_MS, HOUR_MS } from "../lib/time";

/** R2 calls (lists and deletes) per run at most. */
export const MAX_ARCHIVE_RETENTION_CALLS = 500;
const MAX_REPORTED_ERRORS = 10;

export interface ArchiveRetentionReport {
  /** Objects whose hour ended at or before this (epoch ms) are deleted. */
  cutoff: number;
  deleted_objects: number;
  services: number;
  services_checked: number;
  calls: number;
  /** Every service was checked to its first object inside retention. */
  finished: boolean;
  errors: string[];
}

/** The service names that have objects in the archive (one list per 1,000 services). */
async function archivedServices(bucket: R2Bucket, report: ArchiveRetentionReport, maxCalls: number): Promise<string[]> {
  const services: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix: "raw/", delimiter: "/", cursor, limit: 1000 });
    report.calls++;
    for (const prefix of page.delimitedPrefixes) services.push(prefix.slice("raw/".length, -1));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor !== undefined && report.calls < maxCalls);
  return services;
}

/** Deletes the archive objects older than `cutoff`, bounded per run (`maxCalls` R2 calls, the deadline); returns what it did. */
export async function pruneArchive(
  bucket: R2Bucket,
  cutoff: number,
  now: number,
  deadline: number,
  maxCalls = MAX_ARCHIVE_RETENTION_CALLS,
): Promise<ArchiveRetentionReport> {
  const report: ArchiveRetentionReport = {
    cutoff,
    deleted_objects: 0,
    services: 0,
    services_checked: 0,
    calls: 0,
    finished: false,
    errors: [],
  };
  let services: string[];
  try {
    services = await archivedServices(bucket, report, maxCalls);
  } catch (err) {
    report.errors.push(`raw/: ${errorMessage(err)}`);
    return report;
  }
  report.services = services.length;
  const first = services.length > 0 ? Math.floor(now / DAY_MS) % services.length : 0;
  for (let i = 0; i < services.length; i++) {
    const service = services[(first + i) % services.length];
    if (service === undefined) continue;
    if (report.calls >= maxCalls || (i > 0 && Date.now() >= deadline)) return report;
    try {
      if (!(await pruneService(bucket, service, cutoff, deadline, report, maxCalls))) return report;
    } catch (err) {
      const message = errorMessage(err);
      log("error", "archive_retention_failed", { service, message });
      if (report.errors.length < MAX_REPORTED_ERRORS) report.errors.push(`${servicePrefix(service)}: ${message}`);
      return report;
    }
    report.services_checked++;
  }
  report.finished = report.errors.length === 0;
  return report;
}

/** Deletes one service's expired objects, oldest first; false when a bound stopped it before the end. */
async function pruneService(
  bucket: R2Bucket,
  service: string,
  cutoff: number,
  deadline: number,
  report: ArchiveRetentionReport,
  maxCalls: number,
): Promise<boolean> {
  let cursor: string | undefined;
  for (;;) {
    if (report.calls + 2 > maxCalls) return false;
    const page = await bucket.list({ prefix: servicePrefix(service), cursor, limit: 1000 });
    report.calls++;
    const expired: string[] = [];
    let reachedRetained = false;
    for (const o of page.objects) {
      const hour = keyHour(o.key, service);
      if (hour === null) continue; // not an hour object: never ours to delete
      if (hour + HOUR_MS > cutoff) {
        reachedRetained = true;
        break;
      }
      expired.push(o.key);
    }
    if (expired.length > 0) {
      await bucket.delete(expired);
      report.calls++;
      report.deleted_objects += expired.length;
    }
    if (reachedRetained || !page.truncated) return true;
    if (Date.now() >= deadline) return false;
    cursor = page.cursor;
  }
}
