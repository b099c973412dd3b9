import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { BASE, INGEST_KEY, countLogs, endpointStub, flushAll, record } from "./helpers";

function post(body: unknown, ctx: ExecutionContext): Promise<Response> {
  return Promise.resolve(
    worker.fetch(
      new Request(`${BASE}/v1/logs`, {
        method: "POST",
        headers: { Authorization: `Bearer ${INGEST_KEY}`, "Content-Type": "application/json" },
        body: JSON.stringify(body),
      }),
      env,
      ctx,
    ),
  );
}

describe("hand-off coalescing", () => {
  it("concurrent requests share hand-offs, and every record lands once the owner's waitUntil is done", async () => {
    const contexts = Array.from({ length: 30 }, () => createExecutionContext());
    const responses = await Promise.all(contexts.map((ctx, i) => post(record("coalesce", { id: `c-${i}` }), ctx)));
    expect(responses.every((r) => r.status === 202)).toBe(true);
    await Promise.all(contexts.map((ctx) => waitOnExecutionContext(ctx)));
    const stats = await endpointStub("coalesce", "GET", "/items/:id").stats();
    expect(stats.received).toBe(30);
    expect(stats.handoffs).toBeLessThan(30);
    expect(stats.handoffs).toBeGreaterThanOrEqual(1);
    await flushAll();
    expect(await countLogs("coalesce")).toBe(30);
  });

  it("a request alone still hands its records off by itself", async () => {
    const ctx = createExecutionContext();
    await post(record("coalesce-alone", { id: "only" }), ctx);
    await waitOnExecutionContext(ctx);
    expect((await endpointStub("coalesce-alone", "GET", "/items/:id").stats()).received).toBe(1);
  });
});
