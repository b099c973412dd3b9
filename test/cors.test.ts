// CORS for a dashboard on another origin: off by default, on for the origins in CORS_ORIGINS,
// on /v1/* only (proxied traffic keeps the origin's own headers), and error answers carry it too
// (the dashboard must be able to read a 401 to say the key was refused).
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { allowedOrigins } from "../src/http/cors";
import worker from "../src/index";
import { BASE, READ_KEY, call } from "./helpers";

const DASH = "https://dash.example.com";

async function withCors(
  path: string,
  init: RequestInit,
  origins = `${DASH}, https://other.example/`,
): Promise<Response> {
  return await worker.fetch(
    new Request(`${BASE}${path}`, init),
    { ...env, CORS_ORIGINS: origins },
    createExecutionContext(),
  );
}

describe("CORS", () => {
  it("reads the allowed origins from CORS_ORIGINS", () => {
    expect(allowedOrigins(undefined)).toEqual([]);
    expect(allowedOrigins(" ")).toEqual([]);
    expect(allowedOrigins("https://a.example/, https://b.example")).toEqual(["https://a.example", "https://b.example"]);
  });

  it("adds no header when CORS_ORIGINS is empty (the default)", async () => {
    const res = await call("/v1/endpoints", { headers: { Origin: DASH, Authorization: `Bearer ${READ_KEY}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });

  it("answers a preflight from an allowed origin with the methods and headers the dashboard sends", async () => {
    const res = await withCors("/v1/services/shop", {
      method: "OPTIONS",
      headers: {
        Origin: DASH,
        "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "authorization,content-type",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe(DASH);
    expect(res.headers.get("Access-Control-Allow-Methods")).toContain("PUT");
    expect(res.headers.get("Access-Control-Allow-Headers")?.toLowerCase()).toContain("authorization");
    expect(res.headers.get("Vary")).toContain("Origin");
  });

  it("allows the origin on answers and on errors, and exposes X-Request-ID", async () => {
    const ok = await withCors("/v1/endpoints", { headers: { Origin: DASH, Authorization: `Bearer ${READ_KEY}` } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("Access-Control-Allow-Origin")).toBe(DASH);
    expect(ok.headers.get("Access-Control-Expose-Headers")).toContain("X-Request-ID");
    const refused = await withCors("/v1/endpoints", { headers: { Origin: DASH, Authorization: "Bearer wrong" } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("Access-Control-Allow-Origin")).toBe(DASH);
  });

  it("gives an origin that is not listed nothing", async () => {
    const res = await withCors("/v1/endpoints", {
      headers: { Origin: "https://evil.example", Authorization: `Bearer ${READ_KEY}` },
    });
    expect(res.headers.get("Access-Control-Allow-Origin")).toBeNull();
    const preflight = await withCors("/v1/endpoints", {
      method: "OPTIONS",
      headers: { Origin: "https://evil.example", "Access-Control-Request-Method": "GET" },
    });
    expect(preflight.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });

  it("allows any origin with *", async () => {
    const res = await withCors(
      "/v1/endpoints",
      { headers: { Origin: "https://anywhere.example", Authorization: `Bearer ${READ_KEY}` } },
      "*",
    );
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe("https://anywhere.example");
  });

  it("leaves the health checks and the proxy alone", async () => {
    const health = await withCors("/health/live", { headers: { Origin: DASH } });
    expect(health.headers.get("Access-Control-Allow-Origin")).toBeNull();
    const proxied = await withCors("/proxy/shop/echo", { headers: { Origin: DASH } });
    expect(proxied.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });
});
