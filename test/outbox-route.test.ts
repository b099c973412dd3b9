/**
 * The outbox's fan-out asks a route hook (the incident group) per event; when the hook fails,
 * the rest of the run's events go alone at once instead of each waiting for its own failed call.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { AlertOutbox, OUTBOX_SCHEMA } from "../src/alerts/outbox";
import type { EndpointMonitor } from "../src/monitor/endpoint-monitor";
import { endpointStub } from "./helpers";

describe("outbox route hook", () => {
  it("after one failed route in a run, the other events are not routed again (and none is lost)", async () => {
    const stub = endpointStub("route-fail", "GET", "/x");
    const result = await runInDurableObject(stub, async (_i: EndpointMonitor, state) => {
      for (const s of OUTBOX_SCHEMA) state.storage.sql.exec(s);
      let calls = 0;
      const outbox = new AlertOutbox(state.storage.sql, () => env.DB, null, async () => undefined, {
        route: async () => {
          calls++;
          throw new Error("group object unreachable");
        },
        load: async () => null,
      });
      const now = Date.now();
      for (let n = 0; n < 4; n++) outbox.enqueue({ incident_id: `inc_rf_${n}`, event: "incident.opened", severity: "WARNING", service: "route-fail" }, now);
      await outbox.run(now);
      const left = state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM alert_events WHERE fanned_out = 0").one().n;
      return { calls, left };
    });
    // Before: one call per event (each a 3 s timeout against a hung group object).
    expect(result.calls).toBe(1);
    expect(result.left).toBe(0);
  });
});
