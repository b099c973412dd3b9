/**
 * Re-evaluation from the R2 archive (`POST /v1/control/re-evaluate?source=archive`): the same
 * records, written by the real archive writer (an hour split in parts, one object written twice
 * as after a crash between put and delete) and gone from D1, replay to the same incidents as a
 * re-evaluation from D1.
 */
import { env } from "cloudflare:workers";
import { asc, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import { requestLogs } from "../src/db/schema";
import { groupByServiceHour, writeGroup } from "../src/retention/archive";
import { ADMIN_KEY, call, countLogs, getJson } from "./helpers";
import { send, traffic } from "./traffic";

type Result = {
  service: string;
  method: string;
  route: string;
  records: number;
  incidents: string[];
  open_incident_id: string | null;
  error?: string;
};

async function reevaluate(query: string): Promise<{
  status: number;
  body: { source: string; endpoints: Result[]; error?: { code: string; message: string; details: string[] } };
}> {
  const res = await call(`/v1/control/re-evaluate?${query}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${ADMIN_KEY}` },
  });
  return { status: res.status, body: await res.json<{ source: string; endpoints: Result[] }>() };
}

async function incidentIds(service: string): Promise<string[]> {
  const { body } = await getJson<{ incidents: { id: string; status: string }[] }>(`/v1/incidents?service=${service}`);
  return body.incidents.map((i) => `${i.id}:${i.status}`).sort();
}

describe("POST /v1/control/re-evaluate?source=archive", () => {
  it("reproduces from R2 the incidents a re-evaluation from D1 gives on the same records", async () => {
    const service = "reeval-arch";
    const { records } = traffic(service, [
      { minutes: 90, perMinute: 40 },
      { minutes: 8, perMinute: 40, errorRate: 0.7 },
      { minutes: 40, perMinute: 40 },
    ]);
    await send(records);
    const fromD1 = await reevaluate(`lookback_minutes=600&service=${service}`);
    expect(fromD1.status).toBe(200);
    expect(fromD1.body.endpoints).toHaveLength(1);
    const d1 = fromD1.body.endpoints[0];
    expect(d1?.incidents.length).toBeGreaterThanOrEqual(1);
    const incidentsAfterD1 = await incidentIds(service);

    // Archive every row with the real writer: the first hour in two parts, one object twice.
    const rows = await drizzle(env.DB)
      .select()
      .from(requestLogs)
      .where(eq(requestLogs.service, service))
      .orderBy(asc(requestLogs.timestamp), asc(requestLogs.recordKey))
      .all();
    expect(rows.length).toBe(records.length);
    const groups = groupByServiceHour(rows);
    const [first, ...rest] = groups;
    if (!first) throw new Error("no rows");
    const half = Math.floor(first.rows.length / 2);
    await writeGroup(env.ARCHIVE, { ...first, rows: first.rows.slice(0, half) });
    await writeGroup(env.ARCHIVE, { ...first, rows: first.rows.slice(half) });
    for (const g of rest) await writeGroup(env.ARCHIVE, g);
    const again = rest[0];
    if (again) await writeGroup(env.ARCHIVE, again); // a crash after the put, before the D1 delete
    await env.DB.prepare("DELETE FROM request_logs WHERE service = ?").bind(service).run();
    expect(await countLogs(service)).toBe(0);

    const e = `service=${service}&method=${d1?.method ?? ""}&route=${encodeURIComponent(d1?.route ?? "")}`;
    const fromArchive = await reevaluate(`lookback_minutes=600&${e}&source=archive`);
    expect(fromArchive.status).toBe(200);
    expect(fromArchive.body.source).toBe("archive");
    const arch = fromArchive.body.endpoints[0];
    expect(arch?.error).toBeUndefined();
    expect(arch?.records).toBe(d1?.records);
    expect(arch?.incidents).toEqual(d1?.incidents);
    expect(arch?.open_incident_id).toBe(d1?.open_incident_id);
    expect(await incidentIds(service)).toEqual(incidentsAfterD1);
  }, 60_000);

  it("needs the endpoint named in full, and says so in the error envelope", async () => {
    const { status, body } = await reevaluate("source=archive&service=reeval-arch");
    expect(status).toBe(400);
    expect(body.error?.code).toBe("invalid_request");
    expect(body.error?.details).toEqual([
      "method: required with source=archive",
      "route: required with source=archive",
    ]);
    expect((await reevaluate("source=r2")).status).toBe(400);
  });
});
