// @ts-check
// The OTLP/HTTP end-to-end suite run once per exporter (test/e2e/otlp.test.mjs: JSON,
// otlp-proto.test.mjs: protobuf with gzip): `npm start` (fresh local state), then the real
// OpenTelemetry SDK exports spans from Node to POST /v1/otlp/v1/traces; the server spans show up in
// GET /v1/logs, the others do not, and a refused span comes back as OTLP's partial success.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { diag, DiagLogLevel, SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_SERVICE_NAME,
  ATTR_URL_PATH,
  ATTR_URL_QUERY,
} from "@opentelemetry/semantic-conventions";
import { startMonitor } from "./start-monitor.mjs";

/** `ExportResultCode.SUCCESS` of @opentelemetry/core (a dependency of the exporter, not imported here). */
const EXPORT_SUCCESS = 0;

/**
 * Registers the shared tests for one exporter: `OTLPTraceExporter` of `exporterPackage` (named so
 * in the test titles; `exporterNoun` in the partial-success title), built with `exporterOptions`,
 * exporting as `service`. Answers a getter of the started monitor for the file's own tests.
 * @param {{
 *   name: string;
 *   exporterPackage: string;
 *   exporterNoun: string;
 *   OTLPTraceExporter: typeof import("@opentelemetry/exporter-trace-otlp-http").OTLPTraceExporter;
 *   exporterOptions?: import("@opentelemetry/otlp-exporter-base").OTLPExporterNodeConfigBase;
 *   service: string;
 * }} options
 */
export function otlpSuite({ name, exporterPackage, exporterNoun, OTLPTraceExporter, exporterOptions = {}, service }) {
  /** @type {import("./start-monitor.mjs").Monitor} */
  let monitor;
  /** @type {string} */
  let URL_BASE;

  before(async () => {
    monitor = await startMonitor(name);
    URL_BASE = monitor.url;
  });

  after(() => monitor?.stop());

  /**
   * A tracer provider exporting through `OTLPTraceExporter` (with `exporterOptions`); `results` collects each export's outcome.
   * @param {string} service
   * @param {string} ingestKey
   */
  function tracing(service, ingestKey) {
    const exporter = new OTLPTraceExporter({
      url: `${URL_BASE}/v1/otlp/v1/traces`,
      headers: { Authorization: `Bearer ${ingestKey}` },
      ...exporterOptions,
    });
    /** @type {import("@opentelemetry/core").ExportResult[]} */
    const results = [];
    const recording = {
      /**
       * @param {import("@opentelemetry/sdk-trace-base").ReadableSpan[]} spans
       * @param {(result: import("@opentelemetry/core").ExportResult) => void} done
       */
      export: (spans, done) =>
        exporter.export(spans, (result) => {
          results.push(result);
          done(result);
        }),
      shutdown: () => exporter.shutdown(),
      forceFlush: () => exporter.forceFlush(),
    };
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: service }),
      spanProcessors: [new BatchSpanProcessor(recording, { scheduledDelayMillis: 60_000 })],
    });
    return { provider, tracer: provider.getTracer("e2e-otlp", "1.0.0"), results };
  }

  /**
   * Polls GET /v1/logs for `service` until `n` logs are there (or 20 s).
   * @param {string} service
   * @param {string} readKey
   * @param {number} n
   * @returns {Promise<{ method: string; route: string; path: string; status: number; latency_ms: number; source: string; timestamp: number; error: string | null; attributes: { trace_id: string } }[]>}
   */
  async function logsOf(service, readKey, n) {
    const deadline = Date.now() + 20_000;
    /** @type {Awaited<ReturnType<typeof logsOf>>} */
    let logs = [];
    while (Date.now() < deadline) {
      const page = await fetch(`${URL_BASE}/v1/logs?service=${service}`, {
        headers: { Authorization: `Bearer ${readKey}` },
      });
      assert.equal(page.status, 200);
      logs = (await page.json()).logs;
      if (logs.length >= n) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    return logs;
  }

  test(`spans exported by ${exporterPackage} become logs: server spans only`, async () => {
    const ingestKey = /** @type {string} */ (monitor.ingestKey);
    const readKey = /** @type {string} */ (monitor.readKey);
    const { provider, tracer, results } = tracing(service, ingestKey);
    const started = Date.now() - 500;
    /**
     * @param {string} method
     * @param {string} route
     * @param {string} path
     * @param {number} status
     * @param {number} durationMs
     * @param {string} [query]
     */
    const server = (method, route, path, status, durationMs, query) => {
      const span = tracer.startSpan(`${method} ${route}`, {
        kind: SpanKind.SERVER,
        startTime: started,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: method,
          [ATTR_HTTP_ROUTE]: route,
          [ATTR_URL_PATH]: path,
          ...(query ? { [ATTR_URL_QUERY]: query } : {}),
        },
      });
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: "upstream timed out" });
      span.end(started + durationMs);
    };
    server("GET", "/orders/:id", "/orders/42", 200, 35);
    server("POST", "/orders", "/orders", 201, 120, "token=s3cr3t");
    server("GET", "/orders/:id", "/orders/43", 503, 2500);
    // An internal and a client span: exported, not requests of this service.
    tracer.startSpan("render", { kind: SpanKind.INTERNAL, startTime: started }).end(started + 3);
    tracer
      .startSpan("GET", {
        kind: SpanKind.CLIENT,
        startTime: started,
        attributes: { [ATTR_HTTP_REQUEST_METHOD]: "GET", [ATTR_URL_PATH]: "/upstream" },
      })
      .end(started + 5);
    await provider.forceFlush();
    await provider.shutdown();
    assert.deepEqual(
      results.map((r) => r.code),
      [EXPORT_SUCCESS],
      JSON.stringify(results),
    );

    const logs = await logsOf(service, readKey, 3);
    const seen = logs.map((l) => `${l.method} ${l.route} ${l.path} ${l.status} ${l.latency_ms} ${l.source}`).sort();
    assert.deepEqual(seen, [
      "GET /orders/:id /orders/42 200 35 otlp",
      "GET /orders/:id /orders/43 503 2500 otlp",
      "POST /orders /orders?token=[redacted] 201 120 otlp",
    ]);
    for (const log of logs) {
      assert.equal(log.timestamp, started);
      assert.match(log.attributes.trace_id, /^[0-9a-f]{32}$/);
    }
    assert.equal(/** @type {(typeof logs)[number]} */ (logs.find((l) => l.status === 503)).error, "upstream timed out");
  });

  test(`a refused span comes back to the ${exporterNoun} as OTLP's partial success, the others are stored`, async () => {
    const ingestKey = /** @type {string} */ (monitor.ingestKey);
    const readKey = /** @type {string} */ (monitor.readKey);
    /** @type {string[]} */
    const warnings = [];
    diag.setLogger(
      {
        warn: (...args) => warnings.push(args.join(" ")),
        error: () => {},
        info: () => {},
        debug: () => {},
        verbose: () => {},
      },
      DiagLogLevel.WARN,
    );
    try {
      const { provider, tracer, results } = tracing(`${service}-partial`, ingestKey);
      const ok = tracer.startSpan("GET /ok", {
        kind: SpanKind.SERVER,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: "GET",
          [ATTR_URL_PATH]: "/ok",
          [ATTR_HTTP_RESPONSE_STATUS_CODE]: 200,
        },
      });
      ok.end();
      // A server span without a status code, and a status no HTTP server answers.
      tracer
        .startSpan("GET /pending", {
          kind: SpanKind.SERVER,
          attributes: { [ATTR_HTTP_REQUEST_METHOD]: "GET", [ATTR_URL_PATH]: "/pending" },
        })
        .end();
      tracer
        .startSpan("GET /odd", {
          kind: SpanKind.SERVER,
          attributes: {
            [ATTR_HTTP_REQUEST_METHOD]: "GET",
            [ATTR_URL_PATH]: "/odd",
            [ATTR_HTTP_RESPONSE_STATUS_CODE]: 999,
          },
        })
        .end();
      await provider.forceFlush();
      await provider.shutdown();
      assert.deepEqual(
        results.map((r) => r.code),
        [EXPORT_SUCCESS],
      );
      const partial = warnings.find((w) => w.includes("Partial Success"));
      assert.ok(partial, `the exporter reported a partial success: ${JSON.stringify(warnings)}`);
      assert.match(partial, /"rejectedSpans":2/);
      assert.match(partial, /http\.response\.status_code: missing/);
      const logs = await logsOf(`${service}-partial`, readKey, 1);
      assert.deepEqual(
        logs.map((l) => l.path),
        ["/ok"],
      );
    } finally {
      diag.disable();
    }
  });

  return () => monitor;
}
