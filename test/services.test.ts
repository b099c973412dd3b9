import { describe, expect, it } from "vitest";
import { ADMIN_KEY, call } from "./helpers";

function admin(path: string, method = "GET", body?: unknown): Promise<Response> {
  return call(path, {
    method,
    headers: { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

describe("services admin API", () => {
  it("lists the services declared in the SERVICES var", async () => {
    const res = await admin("/v1/services");
    expect(res.status).toBe(200);
    const { services } = await res.json<{ services: { name: string; source: string }[] }>();
    expect(services.map((s) => s.name).sort()).toEqual(expect.arrayContaining(["based", "quiet", "sampled", "shop"]));
    expect(services.find((s) => s.name === "shop")).toMatchObject({
      source: "vars",
      origin: "http://origin.test",
      hostnames: ["api.shop.test"],
      timeout_ms: 300,
    });
  });

  it("creates, reads, updates and deletes a service, with defaults filled in", async () => {
    const created = await admin("/v1/services/billing", "PUT", { origin: "http://origin.test/base/" });
    expect(created.status).toBe(201);
    expect(await created.json()).toEqual({
      name: "billing",
      origin: "http://origin.test/base",
      hostnames: [],
      timeout_ms: 30_000,
      recording: { enabled: true, sample_rate: 1 },
      raw_logs: { mode: "auto", sample_size: 2 },
      probes: [],
      source: "api",
    });
    // The proxy sees it at once in this isolate.
    const proxied = await call("/proxy/billing/echo");
    expect((await proxied.json<{ url: string }>()).url).toBe("http://origin.test/base/echo");

    const updated = await admin("/v1/services/billing", "PUT", {
      origin: "http://origin.test",
      timeout_ms: 1000,
      recording: { enabled: false },
    });
    expect(updated.status).toBe(200);
    expect(await (await admin("/v1/services/billing")).json()).toMatchObject({
      timeout_ms: 1000,
      recording: { enabled: false, sample_rate: 1 },
    });

    expect((await admin("/v1/services/billing", "DELETE")).status).toBe(204);
    expect((await admin("/v1/services/billing")).status).toBe(404);
    expect((await call("/proxy/billing/echo")).status).toBe(404);
    expect((await admin("/v1/services/billing", "DELETE")).status).toBe(404);
  });

  it("rejects invalid settings with field-level messages", async () => {
    const cases: [unknown, string][] = [
      [{}, "origin"],
      [{ origin: "ftp://x.test" }, "origin"],
      [{ origin: "http://user:pw@x.test" }, "origin"],
      [{ origin: "http://x.test?a=1" }, "origin"],
      [{ origin: "http://x.test", hostnames: ["not a host"] }, "hostnames"],
      [{ origin: "http://x.test", timeout_ms: 5 }, "timeout_ms"],
      [{ origin: "http://x.test", recording: { sample_rate: 0 } }, "recording"],
    ];
    for (const [body, field] of cases) {
      const res = await admin("/v1/services/bad", "PUT", body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      const err = await res.json<{ error: { code: string; details: string[] } }>();
      expect(err.error.code).toBe("invalid_request");
      expect(err.error.details.join(" ")).toContain(field);
    }
    const notJson = await call("/v1/services/bad", {
      method: "PUT",
      headers: { Authorization: `Bearer ${ADMIN_KEY}` },
      body: "{",
    });
    expect(notJson.status).toBe(400);
    expect((await admin("/v1/services/bad%20name", "PUT", { origin: "http://x.test" })).status).toBe(400);
  });

  it("refuses the monitor's own hostname and unknown (misspelt) settings", async () => {
    const own = await admin("/v1/services/lock", "PUT", { origin: "http://origin.test", hostnames: ["monitor.test"] });
    expect(own.status).toBe(409);
    expect((await own.json<{ error: { code: string } }>()).error.code).toBe("hostname_is_monitor");
    expect((await admin("/v1/services")).status).toBe(200);
    const typo = await admin("/v1/services/typo", "PUT", { origin: "http://origin.test", timeot_ms: 5 });
    expect(typo.status).toBe(400);
    expect((await typo.json<{ error: { details: string[] } }>()).error.details.join(" ")).toContain("timeot_ms");
  });

  it("refuses a hostname another service owns, and deleting a service declared in the var", async () => {
    const taken = await admin("/v1/services/other", "PUT", { origin: "http://x.test", hostnames: ["API.shop.test"] });
    expect(taken.status).toBe(409);
    expect((await taken.json<{ error: { code: string } }>()).error.code).toBe("hostname_taken");
    const declared = await admin("/v1/services/shop", "DELETE");
    expect(declared.status).toBe(409);
    expect((await declared.json<{ error: { code: string } }>()).error.code).toBe("declared_in_config");
  });

  it("a service stored in D1 overrides the var of the same name", async () => {
    expect((await admin("/v1/services/quiet", "PUT", { origin: "http://origin.test/base" })).status).toBe(201);
    expect(await (await admin("/v1/services/quiet")).json()).toMatchObject({
      source: "api",
      origin: "http://origin.test/base",
    });
    expect((await admin("/v1/services/quiet", "DELETE")).status).toBe(204);
    expect(await (await admin("/v1/services/quiet")).json()).toMatchObject({
      source: "vars",
      origin: "http://origin.test",
    });
  });
});
