/**
 * No flapping, end to end: an endpoint that goes bad, better and bad again within the hour keeps
 * one incident (re-opened, its timeline recording each change) in `GET /v1/incidents/:id`.
 */
import { describe, expect, it } from "vitest";
import { getJson } from "./helpers";
import { send, traffic } from "./traffic";

type TimelineEntry = { at: number; change: string; severity: string; signals: string[] };
type ApiIncident = {
  id: string;
  status: string;
  severity: string;
  opened_at: number;
  reopened_count: number;
  timeline: TimelineEntry[];
};

describe("incident re-open window", () => {
  it("a burst of 5xx, a recovery and a second burst within the hour of its resolution are one incident with a timeline", async () => {
    const { records, phaseStarts } = traffic("flap-outage", [
      { minutes: 90, perMinute: 60 },
      { minutes: 5, perMinute: 60, errorRate: 0.12 },
      // The 5xx of a burst stay in the rate detectors' hour window: it resolves about 75 min later.
      { minutes: 90, perMinute: 60 },
      { minutes: 5, perMinute: 60, errorRate: 0.12 },
      { minutes: 150, perMinute: 60 },
    ]);
    await send(records);
    const list = await getJson<{ incidents: ApiIncident[] }>("/v1/incidents?service=flap-outage");
    expect(list.status).toBe(200);
    expect(list.body.incidents).toHaveLength(1);
    const id = list.body.incidents[0]?.id ?? "";
    const { status, body } = await getJson<ApiIncident>(`/v1/incidents/${id}`);
    expect(status).toBe(200);
    expect(body.status).toBe("resolved");
    expect(body.reopened_count).toBe(1);
    expect(body.timeline.map((e) => e.change)).toEqual(["opened", "resolved", "reopened", "resolved"]);
    const [opened, firstResolution, reopened] = body.timeline;
    expect(opened?.at).toBeGreaterThanOrEqual(phaseStarts[1] ?? 0);
    expect(opened?.signals.length).toBeGreaterThan(0);
    expect(firstResolution?.at).toBeLessThan(phaseStarts[3] ?? 0);
    expect(reopened?.at).toBeGreaterThanOrEqual(phaseStarts[3] ?? 0);
    expect(reopened?.at).toBeLessThanOrEqual((phaseStarts[3] ?? 0) + 2 * 60_000);
    expect(reopened?.severity).toBe("WARNING");
  });
});
