/**
 * The API's body limit: every route of test/routes.ts that takes a body refuses 5 MiB with
 * `413 payload_too_large` before reading it (a Content-Length over the limit is refused without
 * reading, a chunked body is read no further than the limit), with the right key, so a new
 * route cannot skip the limit. 64 KiB by default; the ingest formats keep their 1 MiB. A chunked
 * body sent without a valid key is not read at all: the answer is the route's 401.
 */
import { describe, expect, it } from "vitest";
import { BODY_LIMIT_OVERRIDES, DEFAULT_BODY_LIMIT_BYTES, bodyLimitFor } from "../src/http/body-limit";
import { MAX_BODY_BYTES } from "../src/ingest/body";
import { ADMIN_KEY, INGEST_KEY, READ_KEY, call } from "./helpers";
import { PROTECTED_ROUTES } from "./routes";

type ErrorBody = { error: { code: string; message: string; details?: { max_bytes?: number } } };

const KEYS = { ingest: INGEST_KEY, read: READ_KEY, admin: ADMIN_KEY } as const;
const FIVE_MIB = 5 * 1024 * 1024;
const CHUNK = 64 * 1024;
// A Request cannot carry a body on GET or HEAD, so those routes cannot be sent one here.
const WITH_BODY = PROTECTED_ROUTES.filter((r) => r.method !== "GET" && r.method !== "HEAD");

/** A JSON-looking body of `bytes` bytes (an object whose string fills it). */
function jsonOf(bytes: number): string {
  const head = '{"pad":"';
  return `${head}${"x".repeat(bytes - head.length - 2)}"}`;
}

/** A chunked body of `total` bytes, made as it is read; `pulled()` says how many bytes were asked for. */
function lazyBody(total: number): { stream: ReadableStream<Uint8Array>; pulled: () => number } {
  let sent = 0;
  const chunk = new TextEncoder().encode("x".repeat(CHUNK));
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (sent >= total) {
          controller.close();
          return;
        }
        sent += chunk.byteLength;
        controller.enqueue(chunk);
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, pulled: () => sent };
}

async function expect413(res: Response, limit: number, label: string): Promise<void> {
  expect(res.status, label).toBe(413);
  const body = await res.json<ErrorBody>();
  expect(body.error.code, label).toBe("payload_too_large");
  expect(body.error.details?.max_bytes, label).toBe(limit);
}

describe("body limit", () => {
  it("is 64 KiB except on the ingest formats, which keep 1 MiB", () => {
    expect(DEFAULT_BODY_LIMIT_BYTES).toBe(65_536);
    expect(bodyLimitFor("POST", "/v1/logs")).toBe(MAX_BODY_BYTES);
    expect(bodyLimitFor("post", "/v1/logs/")).toBe(MAX_BODY_BYTES);
    expect(bodyLimitFor("POST", "/v1/otlp/v1/traces")).toBe(MAX_BODY_BYTES);
    expect(bodyLimitFor("PUT", "/v1/logs")).toBe(DEFAULT_BODY_LIMIT_BYTES);
    expect(bodyLimitFor("PUT", "/v1/control/switches")).toBe(DEFAULT_BODY_LIMIT_BYTES);
    expect(bodyLimitFor("PUT", "/v1/services/shop")).toBe(256 * 1024);
    expect(bodyLimitFor("PUT", "/v1/services/shop/detection")).toBe(256 * 1024);
    expect(bodyLimitFor("PUT", "/v1/services/shop/other")).toBe(DEFAULT_BODY_LIMIT_BYTES);
    expect(bodyLimitFor("POST", "/v1/alert-channels")).toBe(DEFAULT_BODY_LIMIT_BYTES);
    // Every override names a route of the app (test/routes.ts lists them all).
    for (const o of BODY_LIMIT_OVERRIDES)
      expect(
        WITH_BODY.some((r) => r.method === o.method && bodyLimitFor(r.method, r.path) === o.bytes),
        `${o.method} ${o.path} is a route`,
      ).toBe(true);
  });

  it("gives the settings routes room for their largest valid documents, which are over 64 KiB", async () => {
    const headers = { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" };
    const label = (c: string, n: number) => c.repeat(n);
    const service = {
      origin: `http://origin.test/${"o".repeat(1990)}`,
      hostnames: Array.from({ length: 20 }, (_, i) =>
        [label("a", 63), label("b", 63), label("c", 63), `h${i}`.padEnd(61, "x")].join("."),
      ),
      probes: Array.from({ length: 20 }, (_, i) => ({
        name: `probe-${i}`.padEnd(64, "p"),
        method: "POST",
        path: `/${i}`.padEnd(2048, "q"),
        expected_status: 200,
        expected_body: "b".repeat(1024),
        interval_seconds: 86_400,
        timeout_ms: 60_000,
      })),
    };
    const serviceText = JSON.stringify(service);
    expect(serviceText.length).toBeGreaterThan(DEFAULT_BODY_LIMIT_BYTES);
    expect(serviceText.length).toBeLessThan(bodyLimitFor("PUT", "/v1/services/limit-max"));
    const put = await call("/v1/services/limit-max", { method: "PUT", headers, body: serviceText });
    expect(put.status, (await put.clone().text()).slice(0, 300)).toBeLessThan(300);

    const full = {
      slo: { availability: 0.9999999999, latency_target: 0.9999999999, latency_ms: 599_999.999 },
      thresholds: {
        p95_ms: 599_999.999,
        error_rate: 0.9999999999,
        silent_failure_rate: 0.9999999999,
        inconsistency_rate: 0.9999999999,
      },
      min_requests: 100_000,
      min_events: 100_000,
      resolve_after_minutes: 1440,
      apdex_t_ms: 599_999.999,
    };
    const detection = {
      ...full,
      endpoints: Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`DELETE /${i}/`.padEnd(263, "r"), full])),
    };
    const detectionText = JSON.stringify(detection);
    expect(detectionText.length).toBeGreaterThan(DEFAULT_BODY_LIMIT_BYTES);
    expect(detectionText.length).toBeLessThan(bodyLimitFor("PUT", "/v1/services/limit-max/detection"));
    const putDetection = await call("/v1/services/limit-max/detection", {
      method: "PUT",
      headers,
      body: detectionText,
    });
    expect(putDetection.status, (await putDetection.clone().text()).slice(0, 300)).toBeLessThan(300);
  });

  for (const route of WITH_BODY) {
    const limit = bodyLimitFor(route.method, route.path);
    describe(`${route.method} ${route.path}`, () => {
      it("answers 413 payload_too_large to 5 MiB with a Content-Length, at once", async () => {
        const started = Date.now();
        const res = await call(route.path, {
          method: route.method,
          headers: {
            Authorization: `Bearer ${KEYS[route.scope]}`,
            "Content-Type": "application/json",
            "Content-Length": String(FIVE_MIB),
          },
          body: jsonOf(FIVE_MIB),
        });
        await expect413(res, limit, "content-length");
        expect(Date.now() - started).toBeLessThan(2000);
      });

      it("answers 413 to a chunked 5 MiB body without reading past the limit", async () => {
        const body = lazyBody(FIVE_MIB);
        const res = await call(route.path, {
          method: route.method,
          headers: { Authorization: `Bearer ${KEYS[route.scope]}`, "Content-Type": "application/json" },
          body: body.stream,
        });
        await expect413(res, limit, "chunked");
        // The middleware stops at the first chunk past the limit (the stream may have one more queued).
        expect(body.pulled()).toBeLessThanOrEqual(limit + 2 * CHUNK);
      });
    });
  }

  describe("a chunked body without a key is never read", () => {
    for (const route of WITH_BODY) {
      for (const [label, auth] of [
        ["no key", undefined],
        ["a wrong key", "Bearer not-a-key"],
      ] as const) {
        it(`${route.method} ${route.path} with ${label}: 401, the 900 KiB body not read`, async () => {
          const body = lazyBody(900 * 1024);
          const res = await call(route.path, {
            method: route.method,
            headers: { "Content-Type": "application/json", ...(auth ? { Authorization: auth } : {}) },
            body: body.stream,
          });
          expect(res.status).toBe(401);
          expect((await res.json<ErrorBody>()).error.code).toBe("unauthorized");
          // Nothing past what the runtime queues when the request is made (one chunk): the
          // middleware and the route never read it.
          expect(body.pulled()).toBeLessThanOrEqual(CHUNK);
        });
      }
    }
  });

  it("lets a body at the limit through to the route, and refuses one byte more", async () => {
    const headers = { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" };
    const atLimit = await call("/v1/control/switches", {
      method: "PUT",
      headers,
      body: jsonOf(DEFAULT_BODY_LIMIT_BYTES),
    });
    // The route read it and judged it: an unknown field, not a size problem.
    expect(atLimit.status).toBe(400);
    expect((await atLimit.json<ErrorBody>()).error.code).toBe("invalid_request");
    const over = await call("/v1/control/switches", {
      method: "PUT",
      headers,
      body: jsonOf(DEFAULT_BODY_LIMIT_BYTES + 1),
    });
    await expect413(over, DEFAULT_BODY_LIMIT_BYTES, "one byte over");
  });

  it("keeps 1 MiB for ingest: a 900 KiB batch is read, not refused", async () => {
    const records = Array.from({ length: 900 }, (_, i) => ({
      timestamp: Date.now() - 1000,
      service: "limit-big",
      method: "GET",
      path: `/p/${i}`,
      status: 200,
      latency_ms: 5,
      note: "n".repeat(900),
    }));
    const text = JSON.stringify(records);
    expect(text.length).toBeGreaterThan(DEFAULT_BODY_LIMIT_BYTES * 10);
    expect(text.length).toBeLessThan(MAX_BODY_BYTES);
    const res = await call("/v1/logs", {
      method: "POST",
      headers: { Authorization: `Bearer ${INGEST_KEY}`, "Content-Type": "application/json" },
      body: text,
    });
    expect(res.status).toBe(202);
  });

  it("does not limit what the proxy streams to an origin", async () => {
    const res = await call("/proxy/shop/items", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: jsonOf(DEFAULT_BODY_LIMIT_BYTES * 4),
    });
    expect(res.status).toBe(200);
  });
});
