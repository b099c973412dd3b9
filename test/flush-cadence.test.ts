/**
 * Issue 13: an endpoint that samples flushes to D1 and writes through to R2 once a minute, just
 * after the minute boundary plus grace (src/monitor/flush-cadence.ts), so that one flush holds a
 * whole arrival minute and the sample is `sample_size` per minute; `all` (and `auto` below its
 * rate) keeps the short delay. The object has no injected clock: the alarm runs at the real time
 * (and must defer), and `flushDue` is called with a later clock to reach the minute's flush.
 */
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { FLUSH_GRACE_MS, flushCut, nextMinuteFlushAt, waitsForMinute } from "../src/monitor/flush-cadence";
import { ALL_RECORDS } from "../src/storage/policy";
import { ADMIN_KEY, call, countLogs, endpointStub, inMonitor, postLogs, record } from "./helpers";

const MINUTE = 60_000;

async function configure(service: string, rawLogs: unknown): Promise<void> {
  const res = await call(`/v1/services/${service}`, {
    method: "PUT",
    headers: { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" },
    body: JSON.stringify({ origin: "https://origin.example", raw_logs: rawLogs }),
  });
  expect(res.status).toBeLessThan(300);
}

/** Waits past the next minute's flush when it is less than `margin` away, so a test's hand-offs share one arrival minute. */
async function awayFromFlushBoundary(margin = 10_000): Promise<void> {
  const left = nextMinuteFlushAt(Date.now()) - Date.now();
  if (left < margin) await new Promise((r) => setTimeout(r, left + 200));
}

/** One hand-off of `plain` plain successes and `errors` 503s with error text, event times inside minute `start`. */
async function handOff(service: string, tag: string, start: number, plain: number, errors: number): Promise<void> {
  const records = [];
  for (let i = 0; i < plain + errors; i++) {
    const status = i < plain ? 200 : 503;
    records.push(
      record(service, {
        id: `${tag}-${i}`,
        timestamp: start + 1000 + i * 100,
        path: "/items",
        status,
        error: status === 503 ? "upstream boom" : undefined,
      }),
    );
  }
  const res = await postLogs(records, { sync: true });
  expect(res.status).toBe(202);
}

async function r2Objects(service: string): Promise<number> {
  return (await env.ARCHIVE.list({ prefix: `raw/${service}/` })).objects.length;
}

async function weights(service: string): Promise<number[]> {
  const rows = await env.DB.prepare("SELECT weight FROM request_logs WHERE service = ? ORDER BY weight")
    .bind(service)
    .all<{ weight: number }>();
  return rows.results.map((r) => r.weight);
}

describe("flush cadence (pure)", () => {
  it("cuts at the minute boundary plus grace and waits only when sampling", () => {
    const boundary = 1_700_000_040_000; // a minute boundary
    expect(boundary % MINUTE).toBe(0);
    expect(flushCut(boundary + FLUSH_GRACE_MS)).toBe(boundary + FLUSH_GRACE_MS);
    expect(flushCut(boundary + FLUSH_GRACE_MS - 1)).toBe(boundary - MINUTE + FLUSH_GRACE_MS);
    expect(nextMinuteFlushAt(boundary + 30_000)).toBe(boundary + MINUTE + FLUSH_GRACE_MS);
    expect(waitsForMinute(ALL_RECORDS)).toBe(false);
    expect(waitsForMinute({ ...ALL_RECORDS, mode: "sampled" })).toBe(true);
    expect(waitsForMinute(null)).toBe(true);
    expect(waitsForMinute({ ...ALL_RECORDS, mode: "auto" })).toBe(false);
  });
});

describe("flush cadence of an endpoint object", () => {
  it("sampled: three hand-offs in one minute send nothing to D1 or R2 before the minute's flush, then one flush of evidence plus sample_size rows", async () => {
    const service = "fc-sampled";
    await configure(service, { mode: "sampled", sample_size: 2 });
    await awayFromFlushBoundary();
    const stub = endpointStub(service, "GET", "/items");
    const eventMinute = Math.floor(Date.now() / MINUTE) * MINUTE - 2 * MINUTE;
    for (let h = 0; h < 3; h++) {
      await handOff(service, `fc-s-${h}`, eventMinute, 10, 1);
      // The alarm runs now: it must defer to the minute's flush, not flush and not loop.
      expect(await runDurableObjectAlarm(stub)).toBe(true);
      expect(await countLogs(service)).toBe(0);
      expect(await r2Objects(service)).toBe(0);
      const alarmAt = await runInDurableObject(stub, (_o, state) => state.storage.getAlarm());
      expect(alarmAt).toBe(nextMinuteFlushAt(Date.now()));
      expect(await inMonitor(stub, (m) => m.flush.waitingForMinute)).toBe(true);
    }
    const due = await inMonitor(stub, (m) => m.flush.flushDue(Date.now() + MINUTE));
    expect(due.ok).toBe(true);
    // 3 errors (weight 1 each) and 2 of the 30 plain successes, each standing for 15.
    expect(await weights(service)).toEqual([1, 1, 1, 15, 15]);
    expect((await weights(service)).reduce((s, w) => s + w, 0)).toBe(33);
    // Every record in R2, in one object (one pass for the minute).
    expect(await r2Objects(service)).toBe(1);
    const stats = await stub.stats();
    expect(stats.backlog).toBe(0);
    expect(stats.archived).toBe(33);
  });

  it("all: every hand-off is flushed by the alarm at once, and the next hand-off asks for FLUSH_DELAY_MS", async () => {
    const service = "fc-all";
    await configure(service, { mode: "all" });
    await awayFromFlushBoundary();
    const stub = endpointStub(service, "GET", "/items");
    const eventMinute = Math.floor(Date.now() / MINUTE) * MINUTE - 2 * MINUTE;
    await handOff(service, "fc-a-0", eventMinute, 10, 1);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await countLogs(service)).toBe(11);
    expect(await r2Objects(service)).toBe(1);
    expect(await inMonitor(stub, (m) => m.flush.waitingForMinute)).toBe(false);
    const before = Date.now();
    await handOff(service, "fc-a-1", eventMinute, 2, 0);
    const alarmAt = await runInDurableObject(stub, (_o, state) => state.storage.getAlarm());
    expect(alarmAt).not.toBeNull();
    expect(alarmAt ?? 0).toBeLessThanOrEqual(Date.now() + Number(env.FLUSH_DELAY_MS));
    expect(alarmAt ?? 0).toBeGreaterThanOrEqual(before);
    await runDurableObjectAlarm(stub);
    expect(await countLogs(service)).toBe(13);
  });

  it("auto: flushes at once, keeping every record below its rate and sampling the flush above it", async () => {
    const slow = "fc-auto-slow";
    const fast = "fc-auto-fast";
    await awayFromFlushBoundary();
    const eventMinute = Math.floor(Date.now() / MINUTE) * MINUTE - 2 * MINUTE;
    await handOff(slow, "fc-as", eventMinute, 5, 0);
    await runDurableObjectAlarm(endpointStub(slow, "GET", "/items"));
    expect(await countLogs(slow)).toBe(5);

    const stub = endpointStub(fast, "GET", "/items");
    await handOff(fast, "fc-af-0", eventMinute, 40, 0);
    await handOff(fast, "fc-af-1", eventMinute, 40, 1);
    await runDurableObjectAlarm(stub);
    expect(await inMonitor(stub, (m) => m.flush.waitingForMinute)).toBe(false);
    expect(await weights(fast)).toEqual([1, 40, 40]);
  });
});
