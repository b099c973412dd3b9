/**
 * Evaluating a backfill: a hand-off that closes many minutes reads the endpoint's windows once,
 * not once per minute (that read was the longest synchronous stretch of the endpoint object under
 * batch ingest), and the snapshots it evaluates are the ones a per-minute read gives.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { normaliseRecord, type LogRecord } from "../src/ingest/record";
import type { EndpointMonitor } from "../src/monitor/endpoint-monitor";
import { EndpointWindows } from "../src/monitor/windows";
import { endpointStub, record } from "./helpers";

const MIN = 60_000;
const PER_MINUTE = 20;

/** `minutes` of backfill from `start` at PER_MINUTE records a minute, latencies spread over 10..400 ms. */
function backfill(service: string, start: number, minutes: number): LogRecord[] {
  const ctx = { now: Date.now(), retentionMs: 7 * 86_400_000, newKey: () => crypto.randomUUID() };
  const out: LogRecord[] = [];
  for (let m = 0; m < minutes; m++) {
    for (let k = 0; k < PER_MINUTE; k++) {
      const i = m * PER_MINUTE + k;
      const raw = record(service, {
        id: `${service}-${start}-${i}`,
        path: "/dependency",
        timestamp: start + m * MIN + k * 2_000,
        latency_ms: 10 + ((i * 37) % 390),
        status: i % 97 === 0 ? 503 : 200,
      });
      const result = normaliseRecord(raw, ctx);
      if (!result.ok) throw new Error(result.errors.join("; "));
      out.push(result.record);
    }
  }
  return out;
}

describe("evaluation of a backfill hand-off", () => {
  it("reads the 6-hour window once per hand-off (25 closed minutes), and gives the per-minute snapshots", async () => {
    const service = "wv-backfill";
    const stub = endpointStub(service, "GET", "/dependency");
    const start = Math.floor(Date.now() / MIN) * MIN - 10 * 60 * MIN;
    // 7 hours of history in 500-record hand-offs (25 minutes each), as backfill-stress sends them.
    const history = backfill(service, start, 7 * 60);
    for (let i = 0; i < history.length; i += 500) await stub.ingest(history.slice(i, i + 500));
    const before = (await stub.cost()).do_rows_read;
    const next = backfill(service, start + 7 * 60 * MIN, 25);
    expect((await stub.ingest(next)).stored).toBe(500);
    const read = (await stub.cost()).do_rows_read - before;
    // A per-minute read of the windows is about 25 x (360 minute rows + the hour rows) = 9,000+
    // rows (10,957 measured); one read per 15-minute slice is a few hundred each, plus the buffer's
    // own work for 500 records (2,419 measured).
    expect(read).toBeLessThan(4_000);

    // The evaluated minutes' snapshots from one wide read equal those of a read per minute.
    await runInDurableObject(stub, async (instance: EndpointMonitor, state) => {
      // The object's windows are write-behind: persisted, a fresh reader of its SQLite sees them.
      instance.jobs.checkpoint.persist(Date.now(), true);
      const windows = new EndpointWindows(state.storage.sql);
      const last = start + (7 * 60 + 22) * MIN;
      const first = last - 40 * MIN;
      const view = windows.view(first, last);
      for (let m = first; m <= last; m += MIN) {
        const wide = view.snapshot(m);
        expect(wide).toEqual(windows.snapshot(m));
        expect(wide.w60.count).toBe(60 * PER_MINUTE);
        expect(wide.latency?.window_minutes).toBe(5);
        expect(wide.latency?.count).toBe(5 * PER_MINUTE);
      }
    });
  });
});
