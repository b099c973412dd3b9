/**
 * How full D1 is: its size (`meta.size_after` of the newest metered statement, or of a cheap
 * query when that is older than a minute) against `D1_MAX_BYTES` (default 9 GB, below D1's 10 GB
 * cap). `high` from 80%, `full` at the cap. Only knowing and reporting: what the monitor does at
 * those levels belongs to the storage path.
 */
import { DEFAULT_D1_MAX_BYTES, parseSetting } from "../config";
import type { CostMeter } from "./counts";

export { DEFAULT_D1_MAX_BYTES };
export const HIGH_SHARE = 0.8;
/** A size older than this is refreshed by a query before it is reported. */
export const SIZE_MAX_AGE_MS = 60_000;

export type D1SizeState = "ok" | "high" | "full" | "unknown";

export interface D1SizeReport {
  bytes: number | null;
  max_bytes: number;
  share: number | null;
  state: D1SizeState;
  measured_at: string | null;
}

/** D1_MAX_BYTES as a positive number, or the default. */
export function d1MaxBytes(setting: string | undefined): number {
  return parseSetting("D1_MAX_BYTES", setting);
}

/** The size report for `bytes` against `max` (pure). */
export function d1SizeReport(bytes: number | null, max: number, measuredAt: number | null): D1SizeReport {
  if (bytes === null) return { bytes: null, max_bytes: max, share: null, state: "unknown", measured_at: null };
  const share = bytes / max;
  return {
    bytes,
    max_bytes: max,
    share: Math.round(share * 1e4) / 1e4,
    state: share >= 1 ? "full" : share >= HIGH_SHARE ? "high" : "ok",
    measured_at: measuredAt === null ? null : new Date(measuredAt).toISOString(),
  };
}

/**
 * The current size report: the meter's newest size, refreshed with `SELECT 1` (one row read,
 * whose meta carries `size_after`) when it is older than SIZE_MAX_AGE_MS. A failed query leaves
 * the last size known (or unknown).
 */
export async function currentD1Size(
  db: D1Database,
  meter: CostMeter,
  setting: string | undefined,
  now = Date.now(),
): Promise<D1SizeReport> {
  if (meter.d1SizeAt === null || now - meter.d1SizeAt > SIZE_MAX_AGE_MS) {
    try {
      const result = await db.prepare("SELECT 1").run();
      meter.addD1Meta(result.meta, now);
    } catch {
      // Reported as known before (or unknown); /health must answer while D1 does not.
    }
  }
  return d1SizeReport(meter.d1SizeBytes, d1MaxBytes(setting), meter.d1SizeAt);
}
