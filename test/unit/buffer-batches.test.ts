/**
 * The endpoint buffer's pure cutting (src/monitor/buffer-batches.ts) and the probe fold
 * (src/monitor/probe-streak.ts), split out of the buffer and the detection runner.
 */
import { describe, expect, it } from "vitest";
import { MAX_BATCH_RECORDS } from "../../src/db/log-writer";
import { archiveBatch, chunkRanges, d1Batch, positionAfter, type ChunkRows } from "../../src/monitor/buffer-batches";
import type { WindowRecord } from "../../src/monitor/minute-counts";
import { foldProbes } from "../../src/monitor/probe-streak";
import { PROBE_FAILURES } from "../../src/detect/detectors";

const chunk = (seq: number, keys: string[]): ChunkRows => ({
  seq,
  rows: JSON.stringify(keys.map((k) => [k, 1, "x"])),
  n: keys.length,
});

describe("buffer batches", () => {
  it("cuts a hand-off into chunks under the byte cap, one empty range for none, a large body alone", () => {
    expect(chunkRanges([], 100)).toEqual([[0, 0]]);
    expect(chunkRanges(["a".repeat(40), "b".repeat(40), "c".repeat(40)], 100)).toEqual([
      [0, 2],
      [2, 3],
    ]);
    expect(chunkRanges(["a".repeat(500), "b"], 100)).toEqual([
      [0, 1],
      [1, 2],
    ]);
  });

  it("reads D1 batches from the watermark's offset, ends mid-chunk at the record cap, and places a prefix", () => {
    const big = Array.from({ length: MAX_BATCH_RECORDS + 10 }, (_, i) => `k${i}`);
    const batch = d1Batch([chunk(3, ["a", "b", "c"]), chunk(4, big), chunk(5, ["z"])], { seq: 3, offset: 1 });
    expect(batch.keys.slice(0, 3)).toEqual(["b", "c", "k0"]);
    expect(batch.keys).toHaveLength(MAX_BATCH_RECORDS);
    expect(batch.spans).toEqual([
      { seq: 3, from: 1, count: 2, n: 3 },
      { seq: 4, from: 0, count: MAX_BATCH_RECORDS - 2, n: big.length },
    ]);
    expect(batch.end).toEqual({ seq: 4, offset: MAX_BATCH_RECORDS - 2 });
    expect(positionAfter(batch, 1)).toEqual({ seq: 3, offset: 2 });
    expect(positionAfter(batch, 2)).toEqual({ seq: 4, offset: 0 });
    expect(positionAfter(batch, MAX_BATCH_RECORDS)).toEqual(batch.end);
    expect(d1Batch([], { seq: 7, offset: 0 })).toEqual({ keys: [], bodies: [], spans: [], end: { seq: 7, offset: 0 } });
  });

  it("takes whole chunks for the archive until the byte budget, all of them on a retry", () => {
    const chunks = [chunk(2, ["a"]), chunk(3, ["b"]), chunk(4, ["c"])];
    const one = chunks[0]?.rows.length ?? 0;
    expect(archiveBatch(chunks, 2, one)).toMatchObject({ from: 2, next: 3 });
    expect(archiveBatch(chunks, 2, null)).toMatchObject({ from: 2, next: 5 });
    expect(archiveBatch(chunks, 2, null).rows.map((r) => r[0])).toEqual(["a", "b", "c"]);
    expect(archiveBatch([], 6, 10)).toEqual({ from: 6, next: 6, rows: [] });
  });
});

describe("probe fold", () => {
  const probe = (timestamp: number, ok: boolean): WindowRecord => ({
    timestamp,
    status: ok ? 200 : 503,
    latency_ms: 10,
    response_empty: false,
    inconsistent: false,
    request_bytes: 0,
    response_bytes: 0,
    source: "probe",
    error: ok ? null : "status",
  });

  it("counts consecutive failures in event-time order, marks when they reach the signal, and resets on a pass", () => {
    const fails = Array.from({ length: PROBE_FAILURES }, (_, i) => probe(1000 * (PROBE_FAILURES - i), false));
    const { streak, passedAt } = foldProbes(null, fails);
    expect(passedAt).toEqual([]);
    expect(streak).toEqual({
      failures: PROBE_FAILURES,
      since: 1000,
      reached_at: 1000 * PROBE_FAILURES,
      last_at: 1000 * PROBE_FAILURES,
      last_status: 503,
    });
    // An older probe than the run's last is skipped; a pass ends the run.
    expect(foldProbes(streak, [probe(500, true)])).toEqual({ streak, passedAt: [] });
    expect(foldProbes(streak, [probe(99_000, true)])).toEqual({ streak: null, passedAt: [99_000] });
  });
});
