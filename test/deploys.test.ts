/**
 * Deploy markers end to end: the API (ingest key to write, read key to list, validation), an
 * incident opening 3 minutes after `POST /v1/deploys` names the deploy in its explanation, and a
 * new `version` on a service's records is a marker of its own.
 */
import { describe, expect, it } from "vitest";
import { ADMIN_KEY, call, getJson, INGEST_KEY, READ_KEY } from "./helpers";
import { send, traffic } from "./traffic";

const MINUTE = 60_000;
const ingest = { Authorization: `Bearer ${INGEST_KEY}`, "Content-Type": "application/json" };

type Deploy = { id: string; service: string; version: string; at: number; description: string | null; source: string };
type Incident = {
  id: string;
  opened_at: number;
  explanation: string;
  deploy: { id: string; version: string; at: number } | null;
};

function postDeploy(body: unknown): Promise<Response> {
  return call("/v1/deploys", { method: "POST", headers: ingest, body: JSON.stringify(body) });
}

describe("deploy markers", () => {
  it("records a deploy, updates the same version, lists them newest first", async () => {
    const now = Date.now();
    const a = await postDeploy({ service: "dep-api", version: "v1.41", at: now - 60 * MINUTE });
    expect(a.status).toBe(201);
    const b = await (
      await postDeploy({ service: "dep-api", version: "v1.42", description: "checkout rewrite" })
    ).json<Deploy>();
    expect(b).toMatchObject({ service: "dep-api", version: "v1.42", description: "checkout rewrite", source: "api" });
    expect(b.at).toBeGreaterThanOrEqual(now);
    // The same version again is the same marker, moved.
    const again = await (
      await postDeploy({ service: "dep-api", version: "v1.41", at: new Date(now - 30 * MINUTE).toISOString() })
    ).json<Deploy>();
    expect(again.id).toBe((await a.json<Deploy>()).id);
    const list = (await getJson<{ deploys: Deploy[] }>("/v1/deploys?service=dep-api")).body.deploys;
    expect(list.map((d) => [d.version, d.at])).toEqual([
      ["v1.42", b.at],
      ["v1.41", now - 30 * MINUTE],
    ]);
    expect(
      (
        await getJson<{ deploys: Deploy[] }>(
          `/v1/deploys?service=dep-api&from=${now - 45 * MINUTE}&to=${now - 15 * MINUTE}`,
        )
      ).body.deploys.map((d) => d.version),
    ).toEqual(["v1.41"]);
  });

  it("refuses a bad deploy with a 400", async () => {
    for (const body of [
      { service: "dep-bad" },
      { service: "dep-bad", version: "has space" },
      { service: "bad name", version: "v1" },
      { service: "dep-bad", version: "v1", at: Date.now() + 60 * MINUTE },
      { service: "dep-bad", version: "v1", extra: 1 },
    ]) {
      const res = await postDeploy(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((await res.json<{ error: { code: string } }>()).error.code).toBe("invalid_request");
    }
    expect((await getJson<{ deploys: Deploy[] }>("/v1/deploys?service=dep-bad")).body.deploys).toEqual([]);
    expect((await getJson<unknown>("/v1/deploys?from=20&to=10")).status).toBe(400);
  });

  it("names the deploy in the explanation of an incident that opens 3 minutes after it", async () => {
    const { records, phaseStarts } = traffic("dep-a", [
      { minutes: 80, perMinute: 40 },
      { minutes: 20, perMinute: 40, latencyMs: 400 },
    ]);
    const step = phaseStarts[1] ?? 0;
    // The baseline first: the endpoint's object has read the service's (no) deploys by then.
    await send(records.filter((r) => (r.timestamp as number) < step));
    expect((await postDeploy({ service: "dep-a", version: "v1.42", at: step - 3 * MINUTE })).status).toBe(201);
    await send(records.filter((r) => (r.timestamp as number) >= step));
    const [incident] = (await getJson<{ incidents: Incident[] }>("/v1/incidents?service=dep-a")).body.incidents;
    expect(incident?.explanation).toMatch(/latency/);
    const minutes = Math.round(((incident?.opened_at ?? 0) - (step - 3 * MINUTE)) / MINUTE);
    expect(minutes).toBeGreaterThanOrEqual(3);
    expect(minutes).toBeLessThanOrEqual(5);
    expect(incident?.explanation).toContain(`Started ${minutes} min after deploy v1.42 of dep-a.`);
    expect(incident?.deploy).toMatchObject({ version: "v1.42", at: step - 3 * MINUTE });

    // POST /v1/analysis compares the hours after the deploy with those before it.
    const agg = await call(`/v1/control/aggregate?from=${Date.now() - 4 * 3_600_000}&to=${Date.now()}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(agg.status).toBe(200);
    const deployId = incident?.deploy?.id;
    const res = await call("/v1/analysis", {
      method: "POST",
      headers: { Authorization: `Bearer ${READ_KEY}`, "Content-Type": "application/json" },
      body: JSON.stringify({ deploy_id: deployId, lookback_minutes: 60 }),
    });
    expect(res.status).toBe(200);
    const body = await res.json<{
      deploy: { version: string };
      range: { from: number; before_to: number };
      findings: { kind: string; service: string; before: number | null; after: number | null }[];
    }>();
    expect(body.deploy.version).toBe("v1.42");
    expect(body.range.from).toBeLessThanOrEqual(step - 3 * MINUTE);
    expect(body.range.before_to).toBe(body.range.from);
    expect(body.findings.every((f) => f.service === "dep-a")).toBe(true);
    const latency = body.findings.find((f) => f.kind === "latency_p95");
    expect(latency?.after ?? 0).toBeGreaterThan((latency?.before ?? Infinity) * 2);
    const missing = await call("/v1/analysis", {
      method: "POST",
      headers: { Authorization: `Bearer ${READ_KEY}`, "Content-Type": "application/json" },
      body: JSON.stringify({ deploy_id: "dep_nothere_1", lookback_minutes: 60 }),
    });
    expect(missing.status).toBe(404);
  });

  it("does not name a deploy older than DEPLOY_CORRELATION_MINUTES", async () => {
    const { records, phaseStarts } = traffic("dep-b", [
      { minutes: 80, perMinute: 40 },
      { minutes: 20, perMinute: 40, latencyMs: 400 },
    ]);
    const step = phaseStarts[1] ?? 0;
    await send(records.filter((r) => (r.timestamp as number) < step));
    await postDeploy({ service: "dep-b", version: "v7", at: step - 45 * MINUTE });
    await send(records.filter((r) => (r.timestamp as number) >= step));
    const [incident] = (await getJson<{ incidents: Incident[] }>("/v1/incidents?service=dep-b")).body.incidents;
    expect(incident?.explanation).toMatch(/latency/);
    expect(incident?.explanation).not.toMatch(/deploy/);
    expect(incident?.deploy).toBeNull();
  });

  it("takes a new version on a service's records as a deploy (the first version seen only starts the history)", async () => {
    const now = Date.now();
    const rec = (t: number, version: string) => ({
      timestamp: t,
      service: "dep-rec",
      method: "GET",
      path: "/items/1",
      status: 200,
      latency_ms: 20,
      version,
    });
    await send([rec(now - 10 * MINUTE, "2026.1"), rec(now - 9 * MINUTE, "2026.1")]);
    expect((await getJson<{ deploys: Deploy[] }>("/v1/deploys?service=dep-rec")).body.deploys).toEqual([]);
    await send([rec(now - 5 * MINUTE, "2026.2"), rec(now - 4 * MINUTE, "2026.2"), rec(now - 6 * MINUTE, "2026.1")]);
    const list = (await getJson<{ deploys: Deploy[] }>("/v1/deploys?service=dep-rec")).body.deploys;
    expect(list.map((d) => [d.version, d.at, d.source])).toEqual([["2026.2", now - 5 * MINUTE, "records"]]);
    // A record with a version that is no version is refused on its own, with the field named.
    const bad = await call("/v1/logs", {
      method: "POST",
      headers: ingest,
      body: JSON.stringify([rec(now, "no spaces allowed")]),
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain("version");
  });
});
