import { describe, expect, it } from "vitest";
import { filtersFromQuery, logsPath, matchesFilters, newRecords, toApiTime } from "./logs-query";

describe("logs query", () => {
  it("keeps known filters only, upper-casing the method", () => {
    expect(filtersFromQuery({ service: "shop", method: "get", bogus: "x", q: " ", status: "5xx" })).toEqual({
      service: "shop",
      method: "GET",
      status: "5xx",
    });
  });

  it("turns local datetime inputs into ISO UTC and passes epoch ms and ISO through", () => {
    expect(toApiTime("1796000000000")).toBe("1796000000000");
    expect(toApiTime("2026-11-30T02:00:00Z")).toBe("2026-11-30T02:00:00.000Z");
    expect(toApiTime("2026-11-30T02:00")).toBe(new Date(2026, 10, 30, 2, 0).toISOString());
    expect(toApiTime("yesterday")).toBeNull();
  });

  it("builds the path with every filter and the cursor", () => {
    expect(logsPath({}, null)).toBe("/v1/logs");
    const path = logsPath(
      {
        service: "shop",
        method: "GET",
        route: "/orders/:id",
        status: "5xx",
        from: "1796000000000",
        to: "2026-11-30T03:00:00Z",
        min_latency_ms: "500",
        q: "timeout",
        limit: "50",
      },
      "abc",
    );
    const url = new URL(path, "http://x");
    expect(url.pathname).toBe("/v1/logs");
    expect(Object.fromEntries(url.searchParams)).toEqual({
      service: "shop",
      method: "GET",
      route: "/orders/:id",
      status: "5xx",
      from: "1796000000000",
      to: "2026-11-30T03:00:00.000Z",
      min_latency_ms: "500",
      q: "timeout",
      limit: "50",
      cursor: "abc",
    });
    expect(logsPath({ from: "not a time" }, null)).toBe("/v1/logs");
  });

  it("applies the filters a live tail can check", () => {
    const r = {
      service: "shop",
      method: "GET",
      route: "/orders/:id",
      status: 503,
      latency_ms: 900,
      error: "Upstream timeout",
    };
    expect(matchesFilters(r, {})).toBe(true);
    expect(matchesFilters(r, { status: "5xx", q: "TIMEOUT", min_latency_ms: "500" })).toBe(true);
    expect(matchesFilters(r, { status: "503" })).toBe(true);
    expect(matchesFilters(r, { status: "4xx" })).toBe(false);
    expect(matchesFilters(r, { service: "billing" })).toBe(false);
    expect(matchesFilters(r, { min_latency_ms: "1000" })).toBe(false);
    expect(matchesFilters({ ...r, error: null }, { q: "x" })).toBe(false);
  });

  it("keeps only records a live tail has not shown", () => {
    expect(newRecords([{ log_id: "a" }, { log_id: "b" }], new Set(["b"]))).toEqual([{ log_id: "a" }]);
  });
});
