/**
 * The sampling policy of one endpoint's flush: the service's `raw_logs` setting, the endpoint's
 * latency objective (a success slower than it is evidence, kept whatever the mode) and how full
 * D1 is. Past 80% of `D1_MAX_BYTES` every service samples harder (one plain success per minute
 * of a flush); at the cap no raw row goes to D1 at all, while the endpoint objects keep counting
 * and detecting (and R2 keeps every record). Pure.
 */
import * as z from "zod";
import type { D1SizeState } from "../cost/d1-size";
import { DEFAULT_AUTO_ABOVE, DEFAULT_SAMPLE_SIZE, type SamplingPolicy } from "./sampling";

export const MAX_SAMPLE_SIZE = 1000;

/** A service's `raw_logs` setting: which of its records get a raw row in D1. */
export const rawLogsSettings = z
  .strictObject({
    /** `all`: every record; `sampled`: evidence plus `sample_size` plain successes per minute; `auto`: `all` until a minute of a flush holds more than 60 plain successes, then `sampled`. */
    mode: z.enum(["all", "sampled", "auto"]).default("auto"),
    sample_size: z.number().int().min(1).max(MAX_SAMPLE_SIZE).default(DEFAULT_SAMPLE_SIZE),
  })
  .prefault({});
export type RawLogsSettings = z.output<typeof rawLogsSettings>;

export const DEFAULT_RAW_LOGS: RawLogsSettings = { mode: "auto", sample_size: DEFAULT_SAMPLE_SIZE };

/** What happens to raw rows now: as configured, sampled harder (D1 past 80%), or stopped (D1 at its cap). */
export type RawLogsState = "normal" | "sampling_harder" | "stopped";

/** The raw-row state for a D1 size state (an unknown size changes nothing). */
export function rawLogsState(size: D1SizeState): RawLogsState {
  return size === "full" ? "stopped" : size === "high" ? "sampling_harder" : "normal";
}

/**
 * The policy of a flush, or null when no raw row may go to D1 (D1 at its cap). `objectiveMs` is
 * the endpoint's latency objective: a success over it is evidence.
 */
export function samplingPolicy(
  settings: RawLogsSettings | null | undefined,
  objectiveMs: number | null,
  size: D1SizeState = "ok",
): SamplingPolicy | null {
  const state = rawLogsState(size);
  if (state === "stopped") return null;
  const s = settings ?? DEFAULT_RAW_LOGS;
  if (state === "sampling_harder")
    return { mode: "sampled", sampleSize: 1, autoAbove: DEFAULT_AUTO_ABOVE, slowMs: objectiveMs };
  return { mode: s.mode, sampleSize: s.sample_size, autoAbove: DEFAULT_AUTO_ABOVE, slowMs: objectiveMs };
}

/** Every record, weight 1: the policy of a write outside an endpoint's flush. */
export const ALL_RECORDS: SamplingPolicy = {
  mode: "all",
  sampleSize: DEFAULT_SAMPLE_SIZE,
  autoAbove: DEFAULT_AUTO_ABOVE,
  slowMs: null,
};
