/**
 * What this isolate last heard about D1's capacity: endpoint objects answer each hand-off with
 * `storage: "full"` while D1 refuses their flushes for capacity, and the direct D1 writes of the
 * fallback report the same errors. `/health` and `/v1/control/status` read it. Per isolate and
 * forgotten after STORAGE_REPORT_TTL_MS without a new report: a full D1 is only noticed where
 * records arrive, which is where it matters.
 */

/** How long a "full" report counts without being confirmed. */
export const STORAGE_REPORT_TTL_MS = 5 * 60_000;

export type StorageState = "ok" | "full";

let fullSince: number | null = null;
let lastFullReport = 0;

/** Records a report: `full` true when D1 refused writes for capacity, false when a write succeeded. */
export function reportStorage(full: boolean, now = Date.now()): void {
  if (!full) {
    fullSince = null;
    return;
  }
  fullSince ??= now;
  lastFullReport = now;
}

/** D1's capacity as last reported here, and since when it is full. */
export function storageState(now = Date.now()): { storage: StorageState; full_since: number | null } {
  if (fullSince === null || now - lastFullReport > STORAGE_REPORT_TTL_MS) return { storage: "ok", full_since: null };
  return { storage: "full", full_since: fullSince };
}
