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
      const outbox = new AlertOutbox(
        state.storage.sql,
        () => env.DB,
        null,
        async () => undefined,
        {
          route: async () => {
            calls++;
            throw new Error("group object unreachable");
          },
          load: async () => null,
        },
      );
      const now = Date.now();
      for (let n = 0; n < 4; n++)
        outbox.enqueue(
          { incident_id: `inc_rf_${n}`, event: "incident.opened", severity: "WARNING", service: "route-fail" },
          now,
        );
      await outbox.run(now);
      const left = state.storage.sql
        .exec<{ n: number }>("SELECT count(*) AS n FROM alert_events WHERE fanned_out = 0")
        .one().n;
      return { calls, left };
    });
    // Before: one call per event (each a 3 s timeout against a hung group object).
    expect(result.calls).toBe(1);
    expect(result.left).toBe(0);
  });

  it("holds an incident's later events behind its held opening (no resolve before the opening)", async () => {
    const stub = endpointStub("route-hold", "GET", "/x");
    const result = await runInDurableObject(stub, async (_i: EndpointMonitor, state) => {
      for (const s of OUTBOX_SCHEMA) state.storage.sql.exec(s);
      const now = Date.now();
      const outbox = new AlertOutbox(
        state.storage.sql,
        () => env.DB,
        null,
        async () => undefined,
        {
          // The group's grace holds the opening; any other change would be sent.
          route: async (e) =>
            e.event === "incident.opened" ? { kind: "wait", until: now + 60_000 } : { kind: "send" },
          load: async () => null,
        },
      );
      // One evaluation opened and resolved the incident: both events in one transaction, one clock.
      outbox.enqueue(
        { incident_id: "inc_hold", event: "incident.opened", severity: "WARNING", service: "route-hold" },
        now,
      );
      outbox.enqueue(
        { incident_id: "inc_hold", event: "incident.resolved", severity: "WARNING", service: "route-hold" },
        now,
      );
      await outbox.run(now);
      return state.storage.sql
        .exec<{ event: string; fanned_out: number }>(
          "SELECT event, fanned_out FROM alert_events WHERE incident_id = 'inc_hold' ORDER BY rowid",
        )
        .toArray();
    });
    // Before: the resolve was fanned out (sent) while its opening waited for the grace.
    expect(result).toEqual([
      { event: "incident.opened", fanned_out: 0 },
      { event: "incident.resolved", fanned_out: 0 },
    ]);
  });
});
