import { describe, expect, it } from "vitest";
import { endpointApiPath, endpointHash, formatHash, parseHash, type Route } from "./router";

describe("hash routes", () => {
  it("parses every page", () => {
    expect(parseHash("")).toEqual({ page: "overview", query: {} });
    expect(parseHash("#/")).toEqual({ page: "overview", query: {} });
    expect(parseHash("#/?health=CRITICAL&q=orders")).toEqual({
      page: "overview",
      query: { health: "CRITICAL", q: "orders" },
    });
    expect(parseHash("#/incidents?status=open")).toEqual({ page: "incidents", query: { status: "open" } });
    expect(parseHash("#/incidents/inc_abc_123")).toEqual({ page: "incident", id: "inc_abc_123" });
    expect(parseHash("#/logs?service=shop&status=5xx")).toEqual({
      page: "logs",
      query: { service: "shop", status: "5xx" },
    });
    expect(parseHash("#/settings")).toEqual({ page: "settings" });
  });

  it("decodes an endpoint whose route is one encoded segment, upper-casing the method", () => {
    expect(parseHash("#/endpoints/shop/get/%2Forders%2F%3Aid?range=24h")).toEqual({
      page: "endpoint",
      service: "shop",
      method: "GET",
      route: "/orders/:id",
      query: { range: "24h" },
    });
  });

  it("answers not-found for unknown paths, malformed encodings and routes not starting with /", () => {
    expect(parseHash("#/nope")).toEqual({ page: "not-found", path: "/nope" });
    expect(parseHash("#/endpoints/shop/GET/orders")).toEqual({ page: "not-found", path: "/endpoints/shop/GET/orders" });
    expect(parseHash("#/incidents/%E0%A4%A")).toEqual({ page: "not-found", path: "/incidents/%E0%A4%A" });
    expect(parseHash("#/logs/extra").page).toBe("not-found");
  });

  it("drops empty query values", () => {
    expect(parseHash("#/logs?service=&method=GET")).toEqual({ page: "logs", query: { method: "GET" } });
  });

  it("formats what it parses (round trip)", () => {
    const routes: Route[] = [
      { page: "overview", query: {} },
      { page: "overview", query: { sort: "p95:asc", q: "a b&c" } },
      { page: "endpoint", service: "shop", method: "POST", route: "/orders/:id/items?x", query: { range: "7d" } },
      { page: "incidents", query: { severity: "CRITICAL" } },
      { page: "incident", id: "inc/with?odd#chars" },
      { page: "logs", query: { q: "timeout", from: "2026-11-30T02:00" } },
      { page: "settings" },
    ];
    for (const r of routes) expect(parseHash(formatHash(r))).toEqual(r);
  });

  it("builds endpoint links and API paths with the route as one segment", () => {
    const e = { service: "shop", method: "GET", route: "/orders/:id" };
    expect(endpointHash(e)).toBe("#/endpoints/shop/GET/%2Forders%2F%3Aid");
    expect(endpointHash(e, { range: "1h" })).toBe("#/endpoints/shop/GET/%2Forders%2F%3Aid?range=1h");
    expect(endpointApiPath(e)).toBe("/v1/endpoints/shop/GET/%2Forders%2F%3Aid");
  });
});
