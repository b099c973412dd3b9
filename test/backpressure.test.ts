import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { BASE, INGEST_KEY, endpointStub, record } from "./helpers";

const limited = { ...env, INGEST_MAX_IN_FLIGHT: "600" };

function post(records: unknown[], ctx: ExecutionContext): Promise<Response> {
  const request = new Request(`${BASE}/v1/logs`, {
    method: "POST",
    headers: { Authorization: `Bearer ${INGEST_KEY}`, "Content-Type": "application/json" },
    body: JSON.stringify(records),
  });
  return Promise.resolve(worker.fetch(request, limited, ctx));
}

async function ingestHealth(): Promise<{
  in_flight_records: number;
  max_in_flight_records: number;
  backpressured_requests: number;
}> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`${BASE}/health`), limited, ctx);
  await waitOnExecutionContext(ctx);
  return (
    await res.json<{
      ingest: { in_flight_records: number; max_in_flight_records: number; backpressured_requests: number };
    }>()
  ).ingest;
}

const batch = (service: string, prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => record(service, { id: `${prefix}-${i}` }));

describe("backpressure on background hand-offs", () => {
  it("past INGEST_MAX_IN_FLIGHT records in flight, a request hands off before answering; /health counts them", async () => {
    const first = createExecutionContext();
    const a = await post(batch("pressure", "a", 400), first);
    expect(a.status).toBe(202);
    // Answered before its hand-off: no `stored` in the answer, and its records are in flight.
    expect(await a.json()).not.toHaveProperty("stored");
    const during = await ingestHealth();
    expect(during.in_flight_records).toBe(400);
    expect(during.max_in_flight_records).toBe(600);

    // 400 + 400 > 600: this one is stored before its answer, as with ?sync=1.
    const second = createExecutionContext();
    const b = await post(batch("pressure", "b", 400), second);
    expect(b.status).toBe(202);
    expect(await b.json()).toMatchObject({ accepted: 400, stored: 400 });
    expect((await ingestHealth()).backpressured_requests).toBe(during.backpressured_requests + 1);

    await waitOnExecutionContext(first);
    await waitOnExecutionContext(second);
    expect((await ingestHealth()).in_flight_records).toBe(0);
    expect((await endpointStub("pressure", "GET", "/items/:id").stats()).received).toBe(800);

    // Once the earlier hand-off settled, requests are answered at once again.
    const third = createExecutionContext();
    const c = await post(batch("pressure", "c", 400), third);
    expect(await c.json()).not.toHaveProperty("stored");
    await waitOnExecutionContext(third);
    expect((await endpointStub("pressure", "GET", "/items/:id").stats()).received).toBe(1200);
  });
});
