/**
 * Which records of a flush earn a raw row in D1. The endpoint object counts and sketches every
 * record and R2 keeps every record; D1 keeps the evidence (anything that is not a plain success)
 * and, in sampled mode, a few plain successes per minute, each carrying the weight it stands for.
 *
 * The sample is taken per (flush, event minute, status class): of n plain successes of one minute
 * and one class (2xx, 3xx) in one flush,
 * k are kept, each with weight n / k, so the kept weights of every group add up to n exactly and
 * the weights of all stored rows add up to the true count. The k are the ones whose keys hash
 * lowest (a bottom-k sample): uniform when keys are unpredictable, and the same k again when the
 * same flush is sent twice, so a retried flush cannot store a different sample. Pure.
 *
 * Grouping by status class too keeps the 2xx and 3xx counts of summaries exact, not only their
 * sum. Called by the endpoint object's flush (src/monitor/flush.ts) with the policy of
 * src/storage/policy.ts.
 */
import { MINUTE_MS } from "../lib/time";

/** How an endpoint's raw rows reach D1: every record, a sample of plain successes, or sampling above a rate. */
export type RawLogsMode = "all" | "sampled" | "auto";

export interface SamplingPolicy {
  mode: RawLogsMode;
  /** Plain successes kept per event minute of a flush when sampling. */
  sampleSize: number;
  /** In `auto` mode, a minute of a flush with more plain successes than this is sampled. */
  autoAbove: number;
  /** Latency above which a success counts as slow (evidence); null: no latency rule. */
  slowMs: number | null;
}

export const DEFAULT_SAMPLE_SIZE = 2;
/** `auto` keeps every record of a minute of a flush up to this many plain successes (about 1/s at one flush a minute). */
export const DEFAULT_AUTO_ABOVE = 60;

/** The fields the rule reads. */
export interface SampledRecord {
  key: string;
  timestamp: number;
  status: number;
  latency_ms: number;
  error: string | null;
  response_empty: boolean;
  inconsistent: boolean;
  source: string;
}

/** Why a record is evidence, or null for a plain success. */
export type EvidenceReason = "status" | "silent" | "inconsistent" | "error_text" | "probe" | "slow";

/** The reason a record is kept whatever the mode, or null when it is a plain success. */
export function evidenceReason(r: SampledRecord, slowMs: number | null): EvidenceReason | null {
  if (r.status >= 400) return "status";
  if (r.response_empty) return "silent";
  if (r.inconsistent) return "inconsistent";
  if (r.error) return "error_text";
  if (r.source === "probe") return "probe";
  if (slowMs !== null && r.latency_ms > slowMs) return "slow";
  return null;
}

/** 32-bit FNV-1a of a string: a cheap, stable hash for the bottom-k choice. */
export function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export interface Kept<R> {
  record: R;
  /** How many records of the endpoint this row stands for (1 for evidence and in `all` mode). */
  weight: number;
}

export interface Selection<R> {
  kept: Kept<R>[];
  /** Plain successes left out of D1 (still counted by the endpoint and archived in R2). */
  sampledOut: number;
}

/** Picks the records of one flush that get a D1 row, with their weights. */
export function selectForD1<R extends SampledRecord>(records: readonly R[], policy: SamplingPolicy): Selection<R> {
  if (policy.mode === "all") return { kept: records.map((record) => ({ record, weight: 1 })), sampledOut: 0 };
  const kept: Kept<R>[] = [];
  const plainByMinute = new Map<number, R[]>();
  for (const r of records) {
    if (evidenceReason(r, policy.slowMs) !== null) {
      kept.push({ record: r, weight: 1 });
      continue;
    }
    const groupKey = Math.floor(r.timestamp / MINUTE_MS) * 10 + Math.floor(r.status / 100);
    const group = plainByMinute.get(groupKey);
    if (group) group.push(r);
    else plainByMinute.set(groupKey, [r]);
  }
  const k = Math.max(1, Math.floor(policy.sampleSize));
  let sampledOut = 0;
  for (const group of plainByMinute.values()) {
    const n = group.length;
    if (n <= k || (policy.mode === "auto" && n <= policy.autoAbove)) {
      for (const record of group) kept.push({ record, weight: 1 });
      continue;
    }
    const chosen = group
      .map((record) => ({ record, h: hashKey(record.key) }))
      .sort((a, b) => a.h - b.h || (a.record.key < b.record.key ? -1 : 1))
      .slice(0, k);
    for (const c of chosen) kept.push({ record: c.record, weight: n / k });
    sampledOut += n - k;
  }
  return { kept, sampledOut };
}
