// @ts-check
// End-to-end: `npm start` (fresh local state), then the real OpenTelemetry SDK and
// @opentelemetry/exporter-trace-otlp-http (JSON encoding, its default) export spans from Node to
// POST /v1/otlp/v1/traces; the server spans show up in GET /v1/logs, the others do not, and a
// refused span comes back as OTLP's partial success (test/e2e/otlp-suite.mjs). Only 127.0.0.1;
// bounded in time.
import assert from "node:assert/strict";
import { test } from "node:test";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { otlpSuite } from "./otlp-suite.mjs";

const monitor = otlpSuite({
  name: "otlp",
  exporterPackage: "@opentelemetry/exporter-trace-otlp-http",
  exporterNoun: "exporter",
  OTLPTraceExporter,
  service: "e2e-otel",
});

test("a body in neither JSON nor protobuf is refused with 415 naming both encodings", async () => {
  const { url: URL_BASE, ingestKey } = monitor();
  const res = await fetch(`${URL_BASE}/v1/otlp/v1/traces`, {
    method: "POST",
    headers: { Authorization: `Bearer ${ingestKey}`, "Content-Type": "text/plain" },
    body: "{}",
  });
  assert.equal(res.status, 415);
  const body = await res.json();
  assert.equal(body.error.code, "unsupported_media_type");
  assert.match(body.error.message, /application\/json or application\/x-protobuf/);
});
