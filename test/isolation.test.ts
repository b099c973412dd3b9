/**
 * What the path-prefixed proxy serves on the monitor's hostname is sandboxed and cannot change
 * state of the monitor's origin (src/proxy/isolation.ts); a service's own hostname stays
 * byte-faithful; the dashboard's responses carry their security headers. The browser side of
 * the same attacks is test/e2e/isolation.test.mjs.
 */
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DASHBOARD_CSP } from "../src/http/security-headers";
import { PROXY_SANDBOX_CSP } from "../src/proxy/isolation";
import { call } from "./helpers";

const viaHost = (path: string, init: RequestInit = {}) =>
  exports.default.fetch(new Request(`http://api.shop.test${path}`, init));

/** All headers but the ones the runtime or the proxy vary per response. */
function comparable(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of headers)
    if (!["x-request-id", "date", "content-length", "transfer-encoding"].includes(k)) out[k] = v;
  return out;
}

describe("path-prefixed proxy: isolated from the monitor's origin", () => {
  it("sandboxes the page and drops the headers that act on the whole origin, body unchanged", async () => {
    const direct = await env.ORIGIN.fetch(new Request("http://origin.test/origin-wide-headers"));
    const proxied = await call("/proxy/shop/origin-wide-headers");
    expect(proxied.status).toBe(200);
    expect(await proxied.text()).toBe(await direct.text());
    expect(proxied.headers.getAll("set-cookie")).toEqual([]);
    for (const name of [
      "service-worker-allowed",
      "clear-site-data",
      "strict-transport-security",
      "alt-svc",
      "nel",
      "report-to",
      "accept-ch",
    ]) {
      expect(proxied.headers.get(name), name).toBeNull();
    }
    // The origin's own policy still holds, the sandbox is added as a second one.
    expect(proxied.headers.get("content-security-policy")).toBe(`img-src 'self', ${PROXY_SANDBOX_CSP}`);
    expect(proxied.headers.get("x-kept")).toBe("1");
    expect(proxied.headers.get("cache-control")).toBe("no-store");
  });

  it("sandboxes redirects, errors and bodiless answers from the origin too", async () => {
    for (const path of ["/redirect?to=%2Fecho", "/missing-route-for-isolation", "/not-modified"]) {
      const res = await call(`/proxy/shop${path}`, { redirect: "manual" });
      await res.arrayBuffer();
      expect(res.headers.get("content-security-policy"), path).toBe(PROXY_SANDBOX_CSP);
    }
  });

  it("does not send the monitor's cookies to the origin, but the service's own credentials", async () => {
    const res = await call("/proxy/shop/echo", {
      headers: { cookie: "CF_Authorization=monitor-jwt", authorization: "Bearer for-the-service" },
    });
    const echo = await res.json<{ headers: Record<string, string> }>();
    expect(echo.headers.cookie).toBeUndefined();
    expect(echo.headers.authorization).toBe("Bearer for-the-service");
    expect(res.headers.getAll("set-cookie")).toEqual([]);
  });

  it("refuses to serve a service worker's script (403 in the error envelope), never reaching the origin", async () => {
    const res = await call("/proxy/shop/hooks/isolation-sw", { headers: { "service-worker": "script" } });
    expect(res.status).toBe(403);
    const body = await res.json<{ error: { code: string; message: string } }>();
    expect(body.error.code).toBe("service_worker_refused");
    expect(body.error.message).toMatch(/service worker/);
    const seen = await (await env.ORIGIN.fetch(new Request("http://origin.test/hooks/isolation-sw"))).json<unknown[]>();
    expect(seen).toEqual([]);
    // The same path without the header is proxied as usual.
    const plain = await call("/proxy/shop/echo");
    expect(plain.status).toBe(200);
  });
});

describe("service hostname: byte-faithful, nothing of the isolation applies", () => {
  it("passes every header as the origin sent it, Set-Cookie and Service-Worker-Allowed included, and adds no CSP", async () => {
    const direct = await env.ORIGIN.fetch(new Request("http://origin.test/origin-wide-headers"));
    const proxied = await viaHost("/origin-wide-headers");
    expect(comparable(proxied.headers)).toEqual(comparable(direct.headers));
    expect(proxied.headers.getAll("set-cookie")).toEqual(["sid=1; Path=/; HttpOnly", "theme=dark; Path=/"]);
    expect(proxied.headers.get("content-security-policy")).toBe("img-src 'self'");
    expect(await proxied.text()).toBe(await direct.text());
  });

  it("forwards cookies and serves a service worker's script: the hostname is the service's own origin", async () => {
    const echo = await (
      await viaHost("/echo", { headers: { cookie: "sid=1" } })
    ).json<{ headers: Record<string, string> }>();
    expect(echo.headers.cookie).toBe("sid=1");
    const sw = await viaHost("/echo", { headers: { "service-worker": "script" } });
    expect(sw.status).toBe(200);
  });
});

describe("dashboard security headers", () => {
  const expectDashboardHeaders = (res: Response, what: string) => {
    expect(res.headers.get("content-security-policy"), what).toBe(DASHBOARD_CSP);
    expect(res.headers.get("x-content-type-options"), what).toBe("nosniff");
    expect(res.headers.get("referrer-policy"), what).toBe("no-referrer");
    expect(res.headers.get("x-frame-options"), what).toBe("DENY");
    expect(res.headers.get("cross-origin-opener-policy"), what).toBe("same-origin");
  };

  it("on the page, a deep link of the app and every built asset", async () => {
    const root = await call("/");
    expect(root.status).toBe(200);
    const html = await root.text();
    expectDashboardHeaders(root, "/");
    const deep = await call("/some/app/path", { headers: { Accept: "text/html" } });
    await deep.arrayBuffer();
    expectDashboardHeaders(deep, "deep link");
    const head = await call("/", { method: "HEAD" });
    expectDashboardHeaders(head, "HEAD /");
    const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1] ?? "");
    expect(assets.length).toBeGreaterThan(0);
    for (const path of assets) {
      const res = await call(path);
      expect(res.status, path).toBe(200);
      await res.arrayBuffer();
      expectDashboardHeaders(res, path);
    }
  });

  it("the CSP forbids framing, inline script, other origins and service workers", () => {
    const directives = new Map(
      DASHBOARD_CSP.split(";").map((d) => {
        const [name = "", ...values] = d.trim().split(/\s+/);
        return [name, values] as const;
      }),
    );
    expect(directives.get("frame-ancestors")).toEqual(["'none'"]);
    expect(directives.get("default-src")).toEqual(["'none'"]);
    expect(directives.get("script-src")).toEqual(["'self'"]);
    expect(directives.get("connect-src")).toEqual(["'self'"]);
    expect(directives.get("worker-src")).toEqual(["'none'"]);
    expect(directives.get("base-uri")).toEqual(["'none'"]);
  });

  it("leaves the API's JSON and /docs' own policy alone", async () => {
    const api = await call("/v1/nothing-here", { headers: { Accept: "text/html" } });
    expect(api.status).toBe(404);
    expect(api.headers.get("content-security-policy")).toBeNull();
    const docs = await call("/docs");
    expect(docs.headers.get("content-security-policy")).toMatch(/script-src 'sha256-/);
  });
});
