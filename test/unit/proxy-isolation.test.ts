import { describe, expect, it } from "vitest";
import {
  isServiceWorkerScript,
  isolateRequestHeaders,
  isolateResponseHeaders,
  ORIGIN_WIDE_RESPONSE_HEADERS,
  PROXY_SANDBOX_CSP,
} from "../../src/proxy/isolation";

describe("proxy isolation: the sandbox", () => {
  it("is a CSP sandbox that lets scripts run but never grants the monitor's origin", () => {
    const tokens = PROXY_SANDBOX_CSP.split(/\s+/);
    expect(tokens[0]).toBe("sandbox");
    expect(tokens).toContain("allow-scripts");
    expect(tokens).not.toContain("allow-same-origin");
    // A popup of a proxied page stays sandboxed: it cannot open an unsandboxed monitor page.
    expect(tokens).not.toContain("allow-popups-to-escape-sandbox");
    expect(tokens).not.toContain("allow-top-navigation");
  });
});

describe("proxy isolation: response headers", () => {
  it("drops every header that acts on the whole origin, repeated Set-Cookie included, and keeps the rest", () => {
    const origin = new Headers({
      "content-type": "text/html",
      "cache-control": "no-store",
      etag: '"v1"',
      "x-kept": "1",
    });
    for (const name of ORIGIN_WIDE_RESPONSE_HEADERS) origin.append(name, "x");
    origin.append("set-cookie", "a=1; Path=/");
    origin.append("Set-Cookie", "b=2; Path=/; Domain=monitor.test");
    origin.set("Service-Worker-Allowed", "/");
    const out = isolateResponseHeaders(origin);
    for (const name of [
      "set-cookie",
      "set-cookie2",
      "service-worker-allowed",
      "clear-site-data",
      "strict-transport-security",
      "alt-svc",
      "nel",
      "report-to",
      "accept-ch",
      "critical-ch",
    ]) {
      expect(out.has(name), name).toBe(false);
    }
    expect(out.getAll("set-cookie")).toEqual([]);
    expect(Object.fromEntries(out)).toEqual({
      "content-type": "text/html",
      "cache-control": "no-store",
      etag: '"v1"',
      "x-kept": "1",
      "content-security-policy": PROXY_SANDBOX_CSP,
    });
  });

  it("keeps the origin's own CSP and adds the sandbox as a second policy (both are enforced)", () => {
    const out = isolateResponseHeaders(new Headers({ "content-security-policy": "default-src 'self'" }));
    const policies = (out.get("content-security-policy") ?? "").split(",").map((p) => p.trim());
    expect(policies).toEqual(["default-src 'self'", PROXY_SANDBOX_CSP]);
  });

  it("an origin cannot loosen the sandbox: a sandbox of its own with allow-same-origin stays a separate policy", () => {
    const out = isolateResponseHeaders(
      new Headers({ "content-security-policy": "sandbox allow-scripts allow-same-origin" }),
    );
    const policies = (out.get("content-security-policy") ?? "").split(",").map((p) => p.trim());
    // Each policy's sandbox applies: the intersection has no allow-same-origin.
    expect(policies).toContain(PROXY_SANDBOX_CSP);
    expect(policies).toHaveLength(2);
  });

  it("leaves the input untouched", () => {
    const origin = new Headers({ "set-cookie": "a=1" });
    isolateResponseHeaders(origin);
    expect(origin.get("set-cookie")).toBe("a=1");
    expect(origin.has("content-security-policy")).toBe(false);
  });
});

describe("proxy isolation: request headers", () => {
  it("does not send the monitor's cookies on, and keeps the service's own credentials", () => {
    const out = isolateRequestHeaders(
      new Headers({ cookie: "CF_Authorization=jwt; other=1", authorization: "Bearer service-token", "x-kept": "1" }),
    );
    expect(out.has("cookie")).toBe(false);
    expect(out.get("authorization")).toBe("Bearer service-token");
    expect(out.get("x-kept")).toBe("1");
  });

  it("tells a service worker script fetch (Service-Worker: script) from anything else", () => {
    expect(isServiceWorkerScript(new Headers({ "service-worker": "script" }))).toBe(true);
    expect(isServiceWorkerScript(new Headers({ "Service-Worker": " Script " }))).toBe(true);
    expect(isServiceWorkerScript(new Headers({ "service-worker": "navigation-preload" }))).toBe(false);
    expect(isServiceWorkerScript(new Headers({ "service-worker-navigation-preload": "true" }))).toBe(false);
    expect(isServiceWorkerScript(new Headers())).toBe(false);
  });
});
