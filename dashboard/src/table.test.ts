import { describe, expect, it } from "vitest";
import { filterRows, parseSort, sortRows } from "./table";
import type { EndpointRow, Health } from "../../src/api-types";

function row(
  service: string,
  method: string,
  route: string,
  health: Health,
  figures: EndpointRow["figures"] = {},
  severity = 0,
): EndpointRow {
  return {
    service,
    method,
    route,
    health,
    severity_score: severity,
    health_score: Math.round(100 * (1 - severity)),
    action: health === "CRITICAL" ? "HALT" : "CONTINUE",
    figures,
    signals: [],
    baselines: {},
    slower_than_default_objective: false,
    surge: null,
    open_incident_id: null,
    evaluated_at: 0,
    events_processed: 0,
    updated_at: 0,
  };
}

const rows = [
  row("shop", "GET", "/orders/:id", "CRITICAL", { requests_per_minute: 40, error_rate: 0.6, p95_ms: 105 }, 1),
  row("shop", "POST", "/checkout", "WARNING", { requests_per_minute: 20, error_rate: 0, p95_ms: 420 }, 0.5),
  row("billing", "GET", "/health", "NORMAL", { requests_per_minute: 6, p95_ms: 19 }),
  row("billing", "GET", "/invoices/:id", "NORMAL", {
    requests_per_minute: 25,
    silent_failure_rate: 0.13,
    p95_ms: null,
  }),
];

describe("endpoint table", () => {
  it("reads the sort from the query, defaulting to the worst health first", () => {
    expect(parseSort(undefined)).toEqual({ key: "health", dir: "desc" });
    expect(parseSort("p95:asc")).toEqual({ key: "p95", dir: "asc" });
    expect(parseSort("rpm")).toEqual({ key: "rpm", dir: "desc" });
    expect(parseSort("bogus:asc")).toEqual({ key: "health", dir: "desc" });
  });

  it("sorts by each column, ties by service, route and method", () => {
    const routes = (list: EndpointRow[]) => list.map((r) => r.route);
    expect(routes(sortRows(rows, "health", "desc"))).toEqual(["/orders/:id", "/checkout", "/health", "/invoices/:id"]);
    expect(routes(sortRows(rows, "rpm", "asc"))).toEqual(["/health", "/checkout", "/invoices/:id", "/orders/:id"]);
    expect(routes(sortRows(rows, "p95", "desc"))).toEqual(["/checkout", "/orders/:id", "/health", "/invoices/:id"]);
    expect(routes(sortRows(rows, "silent", "desc"))[0]).toBe("/invoices/:id");
    expect(routes(sortRows(rows, "service", "asc"))).toEqual(["/health", "/invoices/:id", "/checkout", "/orders/:id"]);
    expect(rows[0]?.route).toBe("/orders/:id");
  });

  it("filters by text, health and service", () => {
    expect(filterRows(rows, { q: "ORDERS" }).map((r) => r.route)).toEqual(["/orders/:id"]);
    expect(filterRows(rows, { q: "post" }).map((r) => r.route)).toEqual(["/checkout"]);
    expect(filterRows(rows, { health: "normal" })).toHaveLength(2);
    expect(filterRows(rows, { service: "billing", q: "inv" }).map((r) => r.route)).toEqual(["/invoices/:id"]);
    expect(filterRows(rows, {})).toHaveLength(4);
    expect(filterRows(rows, { q: "nothing" })).toEqual([]);
  });
});
