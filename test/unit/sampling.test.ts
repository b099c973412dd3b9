import { describe, expect, it } from "vitest";
import {
  evidenceReason,
  hashKey,
  selectForD1,
  type SampledRecord,
  type SamplingPolicy,
} from "../../src/storage/sampling";
import { prng } from "../prng";

const MINUTE = 60_000;

/** A flush of one endpoint: mostly plain successes, with every kind of evidence mixed in. */
function flush(seed: number, n: number): SampledRecord[] {
  const random = prng(seed);
  const start = 29_833_333 * MINUTE; // on a minute boundary
  return Array.from({ length: n }, (_, i) => {
    const u = random();
    return {
      key: `g:${seed}-${i}-${Math.floor(random() * 1e9)}`,
      timestamp: start + Math.floor(random() * 5 * MINUTE),
      status: u < 0.01 ? 503 : u < 0.04 ? 404 : 200,
      latency_ms: random() < 0.02 ? 5000 : 20 + random() * 200,
      error: u < 0.01 && random() < 0.5 ? "upstream timeout" : null,
      response_empty: random() < 0.005,
      inconsistent: random() < 0.002,
      source: random() < 0.003 ? "probe" : "ingest",
    };
  });
}

const POLICIES: SamplingPolicy[] = [
  { mode: "sampled", sampleSize: 1, autoAbove: 0, slowMs: 1000 },
  { mode: "sampled", sampleSize: 3, autoAbove: 0, slowMs: null },
  { mode: "auto", sampleSize: 2, autoAbove: 30, slowMs: 1000 },
  { mode: "all", sampleSize: 2, autoAbove: 30, slowMs: 1000 },
];

describe("raw-row sampling", () => {
  it("never samples out a record that is not a plain success, in any mode (property over 40 seeded flushes)", () => {
    for (let seed = 1; seed <= 10; seed++) {
      for (const policy of POLICIES) {
        const records = flush(seed, 50 + seed * 97);
        const kept = new Set(selectForD1(records, policy).kept.map((k) => k.record.key));
        for (const r of records) {
          if (evidenceReason(r, policy.slowMs) !== null)
            expect(kept.has(r.key), `${policy.mode} dropped ${JSON.stringify(r)}`).toBe(true);
        }
      }
    }
  });

  it("weights add up to the true count, and every evidence row weighs 1", () => {
    for (let seed = 1; seed <= 10; seed++) {
      for (const policy of POLICIES) {
        const records = flush(seed, 200 + seed * 131);
        const { kept, sampledOut } = selectForD1(records, policy);
        const total = kept.reduce((sum, k) => sum + k.weight, 0);
        expect(total).toBeCloseTo(records.length, 6);
        expect(kept.length + sampledOut).toBe(records.length);
        for (const k of kept) if (evidenceReason(k.record, policy.slowMs) !== null) expect(k.weight).toBe(1);
      }
    }
  });

  it("keeps at most the sample size of plain successes per event minute, and all of them at low volume in auto mode", () => {
    const records = flush(7, 3000);
    const sampled = selectForD1(records, { mode: "sampled", sampleSize: 2, autoAbove: 0, slowMs: 1000 });
    const perMinute = new Map<number, number>();
    for (const k of sampled.kept) {
      if (evidenceReason(k.record, 1000) !== null) continue;
      const m = Math.floor(k.record.timestamp / MINUTE);
      perMinute.set(m, (perMinute.get(m) ?? 0) + 1);
    }
    expect([...perMinute.values()].every((n) => n === 2)).toBe(true);
    expect(perMinute.size).toBe(5);

    const few = flush(8, 40);
    const auto = selectForD1(few, { mode: "auto", sampleSize: 2, autoAbove: 60, slowMs: 1000 });
    expect(auto.sampledOut).toBe(0);
    expect(auto.kept.every((k) => k.weight === 1)).toBe(true);
  });

  it("chooses the same sample when the same flush is sent again, in any order", () => {
    const records = flush(9, 1000);
    const policy: SamplingPolicy = { mode: "sampled", sampleSize: 2, autoAbove: 0, slowMs: 1000 };
    const a = selectForD1(records, policy)
      .kept.map((k) => k.record.key)
      .sort();
    const b = selectForD1([...records].reverse(), policy)
      .kept.map((k) => k.record.key)
      .sort();
    expect(b).toEqual(a);
  });

  it("samples uniformly: each plain success is chosen about k/n of the time over many flushes", () => {
    // 10 records in one minute, k = 2: each position should be kept about 20% of the time.
    const hits = new Array<number>(10).fill(0);
    const random = prng(42);
    const rounds = 4000;
    for (let round = 0; round < rounds; round++) {
      const records = Array.from({ length: 10 }, (_, i) => ({
        key: `g:${Math.floor(random() * 2 ** 32).toString(36)}-${i}`,
        timestamp: 0,
        status: 200,
        latency_ms: 10,
        error: null,
        response_empty: false,
        inconsistent: false,
        source: "ingest",
      }));
      const kept = new Set(
        selectForD1(records, { mode: "sampled", sampleSize: 2, autoAbove: 0, slowMs: null }).kept.map(
          (k) => k.record.key,
        ),
      );
      records.forEach((r, i) => {
        if (kept.has(r.key)) hits[i] = (hits[i] ?? 0) + 1;
      });
    }
    for (const h of hits) expect(Math.abs(h / rounds - 0.2)).toBeLessThan(0.03);
  });

  it("classifies evidence", () => {
    const plain: SampledRecord = {
      key: "k",
      timestamp: 0,
      status: 200,
      latency_ms: 10,
      error: null,
      response_empty: false,
      inconsistent: false,
      source: "proxy",
    };
    expect(evidenceReason(plain, 100)).toBeNull();
    expect(evidenceReason({ ...plain, status: 404 }, 100)).toBe("status");
    expect(evidenceReason({ ...plain, status: 302 }, 100)).toBeNull();
    expect(evidenceReason({ ...plain, response_empty: true }, 100)).toBe("silent");
    expect(evidenceReason({ ...plain, inconsistent: true }, 100)).toBe("inconsistent");
    expect(evidenceReason({ ...plain, error: "x" }, 100)).toBe("error_text");
    expect(evidenceReason({ ...plain, source: "probe" }, 100)).toBe("probe");
    expect(evidenceReason({ ...plain, latency_ms: 101 }, 100)).toBe("slow");
    expect(evidenceReason({ ...plain, latency_ms: 101 }, null)).toBeNull();
    expect(hashKey("a")).not.toBe(hashKey("b"));
  });
});
