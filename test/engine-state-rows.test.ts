/**
 * The engine state and the daily profile in the endpoint object (src/monitor/engine-state-rows.ts),
 * parsed with zod when read: a stored value of an unexpected shape fails naming its key (it is
 * not replaced by an empty state: the open incident lives in it); a hand-off still stores its
 * records (detection fails apart, logged) and the stored value is left as it was.
 */
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { normaliseRecord } from "../src/ingest/record";
import type { EndpointMonitor } from "../src/monitor/endpoint-monitor";
import { endpointStub, inMonitor, record } from "./helpers";
import { send, traffic } from "./traffic";

const MINUTE = 60_000;

/** Records of `service` at `GET /orders`, one per second of the minute `minutesAgo` minutes back. */
function records(service: string, minutesAgo: number, n = 20) {
  const at = Math.floor(Date.now() / MINUTE) * MINUTE - minutesAgo * MINUTE;
  return Array.from({ length: n }, (_, i) => {
    const out = normaliseRecord(
      record(service, { id: `${service}-${minutesAgo}-${i}`, path: "/orders", timestamp: at + i * 1000 }),
      { now: Date.now(), retentionMs: 86_400_000, newKey: () => crypto.randomUUID() },
    );
    if (!out.ok) throw new Error(out.errors.join("; "));
    return out.record;
  });
}

const meta = (stub: DurableObjectStub<EndpointMonitor>, key: string) =>
  runInDurableObject(
    stub,
    (_i: EndpointMonitor, state) =>
      state.storage.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0]?.value ??
      null,
  );

const setMeta = (stub: DurableObjectStub<EndpointMonitor>, key: string, value: string) =>
  runInDurableObject(stub, (_i: EndpointMonitor, state) => {
    state.storage.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", key, value);
  });

describe("engine state rows", () => {
  it("a stored engine_state with a field of the wrong type fails naming the key; a valid one is read as stored", async () => {
    await send(traffic("engine-corrupt", [{ minutes: 40, perMinute: 5 }]).records);
    const stub = endpointStub("engine-corrupt", "GET", "/orders/:id");
    const stored = await meta(stub, "engine_state");
    expect(stored).not.toBeNull();
    const read = await inMonitor(stub, (m) => m.detection.engineState());
    expect(JSON.stringify({ ...read, season: undefined })).toBe(stored);

    const state = JSON.parse(stored ?? "{}") as { detectors: { errors: Record<string, unknown> } };
    state.detectors.errors.cusum = "high";
    await setMeta(stub, "engine_state", JSON.stringify(state));
    await expect(inMonitor(stub, (m) => m.detection.engineState())).rejects.toThrow(
      /stored engine_state has an unexpected shape[\s\S]*detectors\.errors\.cusum/,
    );
  });

  it("a stored season_profile of the wrong shape fails naming the key", async () => {
    const stub = endpointStub("profile-corrupt", "GET", "/orders");
    expect(await stub.ingest(records("profile-corrupt", 2))).toMatchObject({ stored: 20 });
    await setMeta(stub, "season_profile", JSON.stringify({ traffic: [["x"]], latency: [], hours: 1 }));
    await expect(inMonitor(stub, (m) => m.detection.engineState())).rejects.toThrow(
      /stored season_profile has an unexpected shape[\s\S]*traffic/,
    );
  });

  it("with a corrupt state a hand-off still stores its records, detection fails logged, and the stored state is kept", async () => {
    const service = "engine-corrupt-handoff";
    const stub = endpointStub(service, "GET", "/orders");
    expect(await stub.ingest(records(service, 4))).toMatchObject({ stored: 20 });
    const corrupt = JSON.stringify({
      detectors: 1,
      recent: {},
      machine: { open: null, streak_start: null, streak: 0 },
    });
    await setMeta(stub, "engine_state", corrupt);
    const logs = vi.spyOn(console, "error");
    try {
      expect(await stub.ingest(records(service, 2))).toMatchObject({ stored: 20 });
      const failed = logs.mock.calls
        .map((c) => String(c[0]))
        .filter((line) => line.includes("detection_failed") && line.includes("engine_state"));
      expect(failed.length).toBeGreaterThan(0);
    } finally {
      logs.mockRestore();
    }
    expect(await meta(stub, "engine_state")).toBe(corrupt);
    expect((await stub.stats()).received).toBe(40);
  });

  it("an object woken with a corrupt state and records to replay into its windows still takes records (fails before the wake's fallback)", async () => {
    const service = "engine-corrupt-wake";
    const stub = endpointStub(service, "GET", "/orders");
    expect(await stub.ingest(records(service, 4))).toMatchObject({ stored: 20 });
    // Windows are persisted behind the hand-offs: these records are replayed into them on wake.
    expect(await stub.ingest(records(service, 3))).toMatchObject({ stored: 20 });
    await setMeta(stub, "engine_state", JSON.stringify({ detectors: 1, recent: {}, machine: {} }));
    await evictDurableObject(stub);
    const woken = endpointStub(service, "GET", "/orders");
    expect(await woken.ingest(records(service, 2))).toMatchObject({ stored: 20 });
    expect((await woken.stats()).received).toBe(60);
  });

  it("with a corrupt state the alarm still flushes the records to D1 (it threw on the flush's objective before)", async () => {
    const service = "engine-corrupt-alarm";
    const stub = endpointStub(service, "GET", "/orders");
    expect(await stub.ingest(records(service, 4))).toMatchObject({ stored: 20 });
    await runDurableObjectAlarm(stub).catch(() => undefined);
    await setMeta(stub, "engine_state", JSON.stringify({ detectors: 1, recent: {}, machine: {} }));
    expect(await stub.ingest(records(service, 2))).toMatchObject({ stored: 20 });
    const logs = vi.spyOn(console, "error");
    try {
      await runDurableObjectAlarm(stub);
    } finally {
      logs.mockRestore();
    }
    const stats = await stub.stats();
    expect([stats.flushed, stats.backlog]).toEqual([40, 0]);
    const rows = await env.DB.prepare("SELECT COUNT(*) AS n FROM request_logs WHERE service = ?")
      .bind(service)
      .first<{ n: number }>();
    expect(rows?.n).toBe(40);
  });
});
