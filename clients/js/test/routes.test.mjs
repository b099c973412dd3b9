// @ts-check
// Pure parts of the adapters and the retry timing, from the built package (built.mjs): Express's
// and Next.js's route templates, the jittered backoff's bounds, and the record's redaction.
import assert from "node:assert/strict";
import { join } from "node:path";
import { before, test } from "node:test";
import { ensureBuilt, root } from "./built.mjs";

/** @typedef {import("./entries.js").Index & import("./entries.js").Express & import("./entries.js").Next} Entries */
/** @type {Entries} */
let m;

before(async () => {
  ensureBuilt();
  m = /** @type {Entries} */ ({
    ...(await import(join(root, "dist/esm/index.js"))),
    ...(await import(join(root, "dist/esm/express.js"))),
    ...(await import(join(root, "dist/esm/next.js"))),
  });
});

test("Express: baseUrl joined with the route's path; none when no route matched", () => {
  assert.equal(m.expressRoute({ headers: {}, baseUrl: "/api/v1", route: { path: "/users/:id" } }), "/api/v1/users/:id");
  assert.equal(m.expressRoute({ headers: {}, baseUrl: "/api", route: { path: "/" } }), "/api");
  assert.equal(m.expressRoute({ headers: {}, baseUrl: "", route: { path: "/" } }), "/");
  assert.equal(m.expressRoute({ headers: {}, baseUrl: "", route: { path: /regex/ } }), undefined);
  assert.equal(m.expressRoute({ headers: {}, baseUrl: "/api" }), undefined);
});

test("Next.js: folder routes in the monitor's form", () => {
  assert.equal(m.nextRoute("/api/orders/[id]"), "/api/orders/:id");
  assert.equal(m.nextRoute("/(shop)/cart/[...rest]"), "/cart/*");
  assert.equal(m.nextRoute("docs/[[...slug]]"), "/docs/*");
});

test("backoff: full jitter between 0 and base * 2^attempt, capped", () => {
  assert.equal(
    m.backoffDelay(0, 500, 30_000, () => 0),
    0,
  );
  assert.equal(
    m.backoffDelay(0, 500, 30_000, () => 0.999),
    499,
  );
  assert.equal(
    m.backoffDelay(3, 500, 30_000, () => 0.5),
    2000,
  );
  assert.equal(
    m.backoffDelay(20, 500, 30_000, () => 0.999),
    29_970,
  );
});

// The monitor's own rules (src/ingest/redact-path.ts, bundled in): what a Node, Next or Hono
// record carries once it leaves the app.
const JWT =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
/**
 * @param {string} url
 * @param {{ headers?: Record<string, string>, redactEmails?: boolean }} [extra]
 * @returns {import("./entries.js").RequestFacts}
 */
const facts = (url, extra = {}) => ({
  service: "app",
  method: "GET",
  url,
  route: "",
  status: 200,
  startedAt: 1,
  endedAt: 2,
  requestHeaders: new Headers(extra.headers ?? {}),
  responseHeaders: new Headers(),
  responseHasBody: true,
  ...extra,
});

test("buildRecord: secret-shaped segments, matrix secrets, URL userinfo, emails and request ids redacted as the monitor does", () => {
  const built = m.buildRecord(
    facts(`/verify/${JWT}/cards/4111111111111111;jsessionid=abc/keys/AKIAIOSFODNN7EXAMPLE?email=a%40b.io&page=2`, {
      headers: { "X-Request-ID": "AKIAIOSFODNN7EXAMPLE" },
    }),
  );
  assert.equal(
    built?.path,
    "/verify/[redacted]/cards/[redacted];jsessionid=[redacted]/keys/[redacted]?email=[email redacted]&page=2",
  );
  assert.equal(built?.request_id, "[redacted]");
  assert.equal(
    m.buildRecord(facts("https://app.example/go/https://user:pa55w0rd@example.com/next"))?.path,
    "/go/https://[redacted]@example.com/next",
  );
  assert.equal(m.buildRecord(facts("/users/alice@example.com/orders/123"))?.path, "/users/[email redacted]/orders/123");
  assert.equal(
    m.buildRecord(facts("/users/alice@example.com", { redactEmails: false }))?.path,
    "/users/alice@example.com",
  );
  assert.equal(m.buildRecord(facts("/reset/Zx8kP2qLmN4vB7wR1tY6uI3oAe5s"))?.path, "/reset/[redacted]");
  assert.equal(
    m.buildRecord(facts("/orders/123/items/9f86d081884c7d65?page=2"))?.path,
    "/orders/123/items/9f86d081884c7d65?page=2",
    "ordinary paths kept",
  );
});
