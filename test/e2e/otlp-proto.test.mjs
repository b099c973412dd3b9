// @ts-check
// End-to-end: `npm start` (fresh local state), then the real OpenTelemetry SDK and
// @opentelemetry/exporter-trace-otlp-proto (OTLP/HTTP protobuf, the encoding of the Collector's
// otlphttp exporter and of several SDKs by default) export spans from Node, gzip-compressed, to
// POST /v1/otlp/v1/traces; the server spans show up in GET /v1/logs, the others do not, and a
// refused span comes back as OTLP's partial success in a protobuf answer. Only 127.0.0.1; bounded
// in time. The shared tests are in test/e2e/otlp-suite.mjs, run by otlp.test.mjs with the JSON exporter.
import assert from "node:assert/strict";
import { test } from "node:test";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { otlpSuite } from "./otlp-suite.mjs";

const monitor = otlpSuite({
  name: "otlp-proto",
  exporterPackage: "@opentelemetry/exporter-trace-otlp-proto",
  exporterNoun: "protobuf exporter",
  OTLPTraceExporter,
  exporterOptions: {
    compression: /** @type {import("@opentelemetry/otlp-exporter-base").CompressionAlgorithm} */ ("gzip"),
  },
  service: "e2e-otel-proto",
});

test("a body that is not protobuf is refused with 400 in the JSON error envelope", async () => {
  const { url: URL_BASE, ingestKey } = monitor();
  const res = await fetch(`${URL_BASE}/v1/otlp/v1/traces`, {
    method: "POST",
    headers: { Authorization: `Bearer ${ingestKey}`, "Content-Type": "application/x-protobuf" },
    body: new Uint8Array([0x0a, 0x05, 0x01]),
  });
  assert.equal(res.status, 400);
  assert.equal((await res.json()).error.code, "invalid_body");
});
