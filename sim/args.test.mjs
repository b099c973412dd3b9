// @ts-check
// The simulator's option checks (bounds, loopback rule) and the demo origin's control body.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseControl } from "../demo/origin.mjs";
import { checkTarget, parseDuration, parseRate, parseSimulateArgs } from "./args.mjs";

test("durations and rates with units", () => {
  assert.equal(parseDuration("10m"), 600_000);
  assert.equal(parseDuration("1h30m"), 5_400_000);
  assert.equal(parseDuration("-2h"), -7_200_000);
  assert.equal(parseDuration("90"), 90_000);
  assert.throws(() => parseDuration("10 minutes"), /not a duration/);
  assert.equal(parseRate("50"), 50);
  assert.equal(parseRate("50/min"), 50);
  assert.equal(parseRate("5/s"), 300);
  assert.throws(() => parseRate("fast"), /not a rate/);
});

test("only this machine unless --allow-remote", () => {
  assert.equal(checkTarget("http://127.0.0.1:8787/", "--url", false), "http://127.0.0.1:8787");
  assert.equal(checkTarget("http://localhost:8787", "--url", false), "http://localhost:8787");
  assert.equal(checkTarget("http://[::1]:8787", "--url", false), "http://[::1]:8787");
  assert.throws(() => checkTarget("https://monitor.example.com", "--url", false), /--allow-remote/);
  assert.throws(() => checkTarget("http://127.0.0.1.example.com", "--url", false), /--allow-remote/);
  assert.throws(() => checkTarget("http://10.0.0.5:8787", "--url", false), /--allow-remote/);
  assert.equal(checkTarget("https://monitor.example.com", "--url", true), "https://monitor.example.com");
  assert.throws(
    () => parseSimulateArgs(["--scenario", "steady", "--url", "http://192.168.1.2:8787"]),
    /not on this machine/,
  );
  assert.throws(
    () => parseSimulateArgs(["--scenario", "steady", "--origin", "http://example.com"]),
    /not on this machine/,
  );
});

test("bounded in time and count, and the scenario must exist", () => {
  const ok = /** @type {import("./args.mjs").SimulateOptions} */ (
    parseSimulateArgs([
      "--scenario",
      "error-creep",
      "--duration",
      "10m",
      "--rate",
      "50",
      "--via",
      "proxy",
      "--backfill",
      "24h",
    ])
  );
  assert.equal(ok.durationMs, 600_000);
  assert.equal(ok.backfillMs, 86_400_000);
  assert.equal(ok.ratePerMin, 50);
  assert.equal(ok.service, "sim-error-creep");
  assert.throws(() => parseSimulateArgs([]), /--scenario is required/);
  assert.throws(() => parseSimulateArgs(["--scenario", "meltdown"]), /unknown scenario/);
  assert.throws(() => parseSimulateArgs(["--scenario", "steady", "--duration", "25h"]), /duration/);
  assert.throws(() => parseSimulateArgs(["--scenario", "steady", "--backfill", "8d"]), /backfill/);
  assert.throws(() => parseSimulateArgs(["--scenario", "steady", "--rate", "200/s"]), /rate/);
  assert.throws(
    () => parseSimulateArgs(["--scenario", "steady", "--duration", "24h", "--rate", "6000", "--max-requests", "1000"]),
    /max-requests/,
  );
  assert.throws(() => parseSimulateArgs(["--scenario", "steady", "--via", "carrier-pigeon"]), /--via/);
  assert.throws(() => parseSimulateArgs(["--scenario", "steady", "--bogus"]), /Unknown option/);
});

test("the demo origin's control body: known fields, ranges, one endpoint or all", () => {
  // The accepted and the refused answers, typed as such (the assertions below check which one came).
  /** @param {unknown} body */
  const accepted = (body) =>
    /** @type {import("../demo/origin.mjs").ControlResult & { ok: true }} */ (parseControl(body));
  /** @param {unknown} body */
  const refused = (body) => /** @type {string} */ (parseControl(body).error);
  assert.deepEqual(accepted({ error_rate: 0.1 }).values, { error_rate: 0.1 });
  assert.equal(accepted({ error_rate: 0.1 }).endpoints.length, 4);
  assert.equal(accepted({ latency_factor: 2, endpoint: "GET /search" }).endpoints[0].key, "search");
  assert.match(refused({ error_rate: 2 }), /error_rate/);
  assert.match(refused({ latency: 2 }), /unknown field/);
  assert.match(refused({ endpoint: "GET /nope" }), /unknown endpoint/);
  assert.deepEqual(parseControl({ reset: true }).values, { latency_factor: 1, error_rate: 0.002, empty_rate: 0 });
});
