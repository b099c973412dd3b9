import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { ingestCounters } from "../src/ingest/counters";
import worker from "../src/index";
import { BASE, INGEST_KEY, countLogs, record } from "./helpers";

/** An endpoint namespace whose objects cannot be reached (the RPC always throws). */
function unreachableNamespace(): Env["ENDPOINT_MONITOR"] {
  const ns = env.ENDPOINT_MONITOR;
  return new Proxy(ns, {
    get(target, prop) {
      // getByName: how src/monitor/endpoint-object.ts reaches an endpoint object.
      if (prop === "get" || prop === "getByName") {
        return () => ({
          ingest: () =>
            Promise.reject(
              Object.assign(new Error("Durable Object reset because its code was updated"), { retryable: true }),
            ),
        });
      }
      const value: unknown = Reflect.get(target, prop);
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

async function post(service: string, n: number, testEnv: Env): Promise<Response> {
  const body = Array.from({ length: n }, (_, i) => record(service, { id: `${service}-${i}` }));
  return worker.fetch(
    new Request(`${BASE}/v1/logs?sync=1`, {
      method: "POST",
      headers: { Authorization: `Bearer ${INGEST_KEY}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    }),
    testEnv,
    createExecutionContext(),
  );
}

describe("hand-off faults", () => {
  it("retries an unreachable Durable Object, then writes the records to D1 directly", async () => {
    const retriesBefore = ingestCounters.handoff_retries;
    const res = await post("fault-fallback", 5, { ...env, ENDPOINT_MONITOR: unreachableNamespace() });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ accepted: 5, stored: 0, stored_directly_in_d1: 5 });
    // Four tries: the error is marked retryable, as Cloudflare marks a reset object.
    expect(ingestCounters.handoff_retries - retriesBefore).toBe(3);
    expect(await countLogs("fault-fallback")).toBe(5);
  });

  it("when nothing can store the records, ?sync=1 says so, and the loss is logged and counted", async () => {
    const errors = vi.spyOn(console, "error");
    const droppedBefore = ingestCounters.dropped;
    const deadDb = {
      prepare: env.DB.prepare.bind(env.DB),
      batch: () => Promise.reject(new Error("D1_ERROR: overloaded")),
    } as unknown as D1Database;
    const res = await post("fault-total", 3, { ...env, ENDPOINT_MONITOR: unreachableNamespace(), DB: deadDb });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({
      error: { code: "storage_unavailable", details: { failed: 3, failed_indexes: [0, 1, 2] } },
    });
    expect(ingestCounters.dropped - droppedBefore).toBe(3);
    const logged = errors.mock.calls.map((c) => String(c[0])).find((line) => line.includes('"handoff_failed"'));
    expect(logged).toBeDefined();
    expect(JSON.parse(logged ?? "{}")).toMatchObject({ level: "error", event: "handoff_failed", records: 3 });
    errors.mockRestore();
  });
});
