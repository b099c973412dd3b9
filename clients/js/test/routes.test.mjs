// Pure parts of the adapters and the retry timing, from the built package (client.test.mjs builds
// it; this file builds it too when run alone): Express's and Next.js's route templates, the
// monitor's own templating for Node http, and the jittered backoff's bounds.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { before, test } from "node:test";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
let m;

before(async () => {
  if (!existsSync(join(root, "dist/esm/next.js"))) execFileSync(process.execPath, [join(root, "build.mjs")], { stdio: "inherit" });
  m = {
    ...(await import(join(root, "dist/esm/index.js"))),
    ...(await import(join(root, "dist/esm/express.js"))),
    ...(await import(join(root, "dist/esm/next.js"))),
  };
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
  assert.equal(m.backoffDelay(0, 500, 30_000, () => 0), 0);
  assert.equal(m.backoffDelay(0, 500, 30_000, () => 0.999), 499);
  assert.equal(m.backoffDelay(3, 500, 30_000, () => 0.5), 2000);
  assert.equal(m.backoffDelay(20, 500, 30_000, () => 0.999), 29_970);
});
