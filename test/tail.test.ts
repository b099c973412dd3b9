/**
 * The Tail Worker handler: trace items in the shape Workers delivers them (`TraceItem` with a
 * `TraceItemFetchEventInfo`, request already redacted) go through `tail()` of the worker entry,
 * the ingest normalisation and the hand-off, and are found in D1 after the flush.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { setSwitches } from "../src/control/switches";
import { tailCounters } from "../src/tail/handler";
import { latencyOf, tailRoute, traceItemInput } from "../src/tail/trace";
import { flushAll, getJson } from "./helpers";

type Log = {
  service: string;
  method: string;
  route: string;
  path: string;
  status: number;
  latency_ms: number;
  error: string | null;
  source: string;
  region: string | null;
  user_agent: string | null;
  request_id: string | null;
  attributes: Record<string, string | number | boolean> | null;
};

interface FetchItemOptions {
  script?: string | null;
  url?: string;
  method?: string;
  status?: number | null;
  outcome?: string;
  wallTime?: number;
  eventTimestamp?: number | null;
  exceptions?: TraceException[];
  logs?: TraceLog[];
}

/** A fetch invocation as Workers hands it to a tail consumer. */
function fetchItem(o: FetchItemOptions = {}): TraceItem {
  const request: TraceItemFetchEventInfoRequest = {
    url: o.url ?? "https://api.example.com/users/42?page=2",
    method: o.method ?? "GET",
    // Sensitive headers arrive redacted; cf carries the colo.
    headers: { "user-agent": "curl/8.5.0", "cf-ray": "8f1c2a3b4d5e6f70-AMS", authorization: "REDACTED" },
    cf: { colo: "AMS", country: "NL" },
    getUnredacted: () => request,
  };
  const event: TraceItemFetchEventInfo =
    o.status === null ? { request } : { request, response: { status: o.status ?? 200 } };
  const item = {
    event,
    eventTimestamp: o.eventTimestamp === undefined ? Date.now() - 2000 : o.eventTimestamp,
    logs: o.logs ?? [],
    exceptions: o.exceptions ?? [],
    diagnosticsChannelEvents: [],
    scriptName: o.script === undefined ? "tail-app" : o.script,
    scriptVersion: { id: "6f1e0bd4-0c4f-4b6e-9d2a-1f1f3c8e2a77", tag: "", message: "" },
    outcome: o.outcome ?? "ok",
    executionModel: "stateless",
    truncated: false,
    cpuTime: 3,
    wallTime: o.wallTime ?? 48,
  };
  if (o.wallTime === -1) Reflect.deleteProperty(item, "wallTime");
  return item;
}

/** A non-fetch invocation (cron, queue, alarm). */
function otherItem(event: TraceItem["event"], script = "tail-app"): TraceItem {
  return { ...fetchItem({ script }), event };
}

async function runTail(events: TraceItem[]): Promise<void> {
  const ctx = createExecutionContext();
  await worker.tail(events, env, ctx);
  await waitOnExecutionContext(ctx);
  await flushAll();
}

async function logsOf(service: string): Promise<Log[]> {
  const { status, body } = await getJson<{ logs: Log[] }>(`/v1/logs?service=${service}&limit=100`);
  expect(status).toBe(200);
  return body.logs;
}

describe("tail() of the worker entry", () => {
  it("turns a fetch event into a record: script name, method, path, route template, status, wall time, source tail", async () => {
    await runTail([
      fetchItem({ script: "tail-basic", url: "https://api.example.com/users/42?page=2&token=s3cr3t", wallTime: 48 }),
    ]);
    const logs = await logsOf("tail-basic");
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({
      service: "tail-basic",
      method: "GET",
      route: "/users/:id",
      path: "/users/42?page=2&token=[redacted]",
      status: 200,
      latency_ms: 48,
      error: null,
      source: "tail",
      region: "AMS",
      user_agent: "curl/8.5.0",
      request_id: "8f1c2a3b4d5e6f70-AMS",
    });
    expect(logs[0]?.attributes).toMatchObject({ outcome: "ok", cpu_time_ms: 3 });
  });

  it("counts failed invocations as 500 with the outcome and the first exception as error", async () => {
    const thrown = {
      timestamp: Date.now() - 1990,
      name: "TypeError",
      message: "Cannot read properties of undefined (reading 'id')",
    };
    await runTail([
      fetchItem({
        script: "tail-fail",
        url: "https://a.example/orders/7",
        status: null,
        outcome: "exception",
        exceptions: [thrown, { ...thrown, name: "Error", message: "second" }],
      }),
      fetchItem({ script: "tail-fail", url: "https://a.example/cpu", status: 200, outcome: "exceededCpu" }),
      fetchItem({ script: "tail-fail", url: "https://a.example/mem", status: null, outcome: "exceededMemory" }),
      fetchItem({ script: "tail-fail", url: "https://a.example/gone", status: 200, outcome: "canceled" }),
      fetchItem({ script: "tail-fail", url: "https://a.example/noresp", status: null, outcome: "ok" }),
      fetchItem({ script: "tail-fail", url: "https://a.example/missing", status: 404 }),
    ]);
    const byPath = new Map((await logsOf("tail-fail")).map((l) => [l.path, l]));
    expect(byPath.size).toBe(6);
    expect(byPath.get("/orders/7")).toMatchObject({
      status: 500,
      route: "/orders/:id",
      error: "exception: TypeError: Cannot read properties of undefined (reading 'id')",
    });
    expect(byPath.get("/cpu")).toMatchObject({ status: 500, error: "exceededCpu" });
    expect(byPath.get("/cpu")?.attributes).toMatchObject({ outcome: "exceededCpu", response_status: 200 });
    expect(byPath.get("/mem")).toMatchObject({ status: 500, error: "exceededMemory" });
    expect(byPath.get("/gone")).toMatchObject({ status: 500, error: "canceled" });
    expect(byPath.get("/noresp")).toMatchObject({ status: 500, error: "no response" });
    expect(byPath.get("/missing")).toMatchObject({ status: 404, error: null });
  });

  it("skips and counts scheduled, queue and alarm events; records the fetch events of the same batch", async () => {
    const before = tailCounters.skipped;
    await runTail([
      otherItem({ scheduledTime: Date.now() - 3000, cron: "*/5 * * * *" }, "tail-mixed"),
      otherItem({ queue: "jobs", batchSize: 10 }, "tail-mixed"),
      otherItem({ scheduledTime: new Date(Date.now() - 3000) }, "tail-mixed"),
      otherItem(null, "tail-mixed"),
      fetchItem({ script: "tail-mixed", method: "POST", url: "https://a.example/checkout" }),
    ]);
    expect(tailCounters.skipped - before).toBe(4);
    const logs = await logsOf("tail-mixed");
    expect(logs.map((l) => `${l.method} ${l.route}`)).toEqual(["POST /checkout"]);
  });

  it("derives the latency from the event timestamps when wallTime is absent", async () => {
    const start = Date.now() - 5000;
    const item = fetchItem({
      script: "tail-latency",
      eventTimestamp: start,
      wallTime: -1,
      logs: [
        { timestamp: start + 12, level: "log", message: ["a"] },
        { timestamp: start + 75, level: "log", message: ["b"] },
      ],
    });
    expect(latencyOf(item)).toBe(75);
    // Local workerd reports a wall time of 0: the timestamps are the better figure there too.
    expect(latencyOf({ ...item, wallTime: 0 })).toBe(75);
    expect(latencyOf({ ...item, logs: [] })).toBe(0);
    await runTail([item]);
    expect((await logsOf("tail-latency"))[0]).toMatchObject({ latency_ms: 75 });
  });

  it("counts the ids Workers redacted in the URL as :id in the route", () => {
    expect(tailRoute("/files/REDACTED/download")).toBe("/files/:id/download");
    expect(tailRoute("/v1/users/123/keys/REDACTED.json")).toBe("/v1/users/:id/keys/:id");
    const result = traceItemInput(fetchItem({ url: "https://a.example/sessions/REDACTED" }), Date.now());
    expect(result).toMatchObject({ kind: "record", input: { route: "/sessions/:id", path: "/sessions/REDACTED" } });
  });

  it("never throws: malformed items, no script name and out-of-range times are rejected, the rest stored", async () => {
    const rejectedBefore = tailCounters.rejected;
    const failuresBefore = tailCounters.failures;
    const broken = { ...fetchItem(), event: { request: null } } as unknown as TraceItem;
    await expect(
      runTail([
        broken,
        fetchItem({ script: null }),
        fetchItem({ script: "tail-robust", eventTimestamp: Date.now() - 30 * 24 * 60 * 60 * 1000 }),
        fetchItem({ script: "tail-robust", url: "https://a.example/ok" }),
      ]),
    ).resolves.toBeUndefined();
    expect(tailCounters.rejected - rejectedBefore).toBe(3);
    expect(tailCounters.failures).toBe(failuresBefore);
    expect((await logsOf("tail-robust")).map((l) => l.path)).toEqual(["/ok"]);
    // Not even an events list that is not a list escapes.
    await expect(worker.tail(null as unknown as TraceItem[], env, createExecutionContext())).resolves.toBeUndefined();
    expect(tailCounters.failures).toBe(failuresBefore + 1);
  });

  it("drops the batch while the operator paused ingestion (nothing can resend a tail event)", async () => {
    await setSwitches(env.DB, { ingestion: false });
    try {
      const before = tailCounters.paused;
      await runTail([fetchItem({ script: "tail-paused" })]);
      expect(tailCounters.paused - before).toBe(1);
    } finally {
      await setSwitches(env.DB, { ingestion: true });
    }
    expect(await logsOf("tail-paused")).toHaveLength(0);
  });
});
