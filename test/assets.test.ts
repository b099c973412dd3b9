/**
 * The dashboard's files are what no route takes (GET/HEAD outside the API prefixes); a service's
 * own hostname always reaches the proxy, "/" included; the API keeps its JSON 404.
 */
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call } from "./helpers";

describe("dashboard assets", () => {
  it("serves the dashboard at / and for unknown paths of the app, not for the API", async () => {
    const html = { headers: { Accept: "text/html,application/xhtml+xml" } };
    const root = await call("/");
    expect(root.status).toBe(200);
    expect(root.headers.get("content-type")).toMatch(/text\/html/);
    expect(await root.text()).toMatch(/<html|<!doctype html/i);
    const deep = await call("/some/app/path", html);
    expect(deep.headers.get("content-type")).toMatch(/text\/html/);
    // An API client asking for an unknown path keeps the JSON 404.
    const client = await call("/some/app/path");
    expect(client.status).toBe(404);
    expect(client.headers.get("content-type")).toMatch(/application\/json/);
    const api = await call("/v1/nothing-here", html);
    expect(api.status).toBe(404);
    expect((await api.json<{ error: { code: string } }>()).error.code).toBe("not_found");
    const post = await call("/", { method: "POST" });
    expect(post.status).toBe(404);
  });

  it("proxies / on a service's own hostname to its origin, never the dashboard", async () => {
    const direct = await env.ORIGIN.fetch(new Request("http://origin.test/"));
    const proxied = await exports.default.fetch(new Request("http://api.shop.test/"));
    expect(proxied.status).toBe(direct.status);
    expect(await proxied.text()).toBe(await direct.text());
  });
});
