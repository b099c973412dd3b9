import { describe, expect, it } from "vitest";
import { ANNOUNCE_WITHIN_MS, FIRST_RETRY_MS, announceChange, retryDelayMs } from "../../src/alerts/outbox";

function fakeOutbox(announced: string[] = []) {
  const queued: { incident_id: string; event: string; round?: number }[] = [];
  return {
    queued,
    wasAnnounced: (id: string) => announced.includes(id),
    enqueue: (e: { incident_id: string; event: string; round?: number }) =>
      void queued.push({ incident_id: e.incident_id, event: e.event, ...(e.round ? { round: e.round } : {}) }),
  };
}

const NOW = Date.UTC(2026, 10, 30, 12);
const incident = (id: string, ageMs: number) => ({
  id,
  last_event_at: NOW - ageMs,
  severity: "CRITICAL" as const,
  service: "svc",
});

describe("announceChange", () => {
  it("announces recent changes", () => {
    const outbox = fakeOutbox();
    announceChange(outbox, incident("a", 60_000), "opened", NOW);
    expect(outbox.queued).toEqual([{ incident_id: "a", event: "incident.opened" }]);
  });

  it("does not announce an opening long ago in event time (a backfill)", () => {
    const outbox = fakeOutbox();
    announceChange(outbox, incident("b", ANNOUNCE_WITHIN_MS + 1), "opened", NOW);
    announceChange(outbox, incident("b", ANNOUNCE_WITHIN_MS + 1), "resolved", NOW);
    expect(outbox.queued).toEqual([]);
  });

  it("always announces the escalation and resolution of an incident whose opening was announced, however late", () => {
    const outbox = fakeOutbox(["c"]);
    announceChange(outbox, incident("c", 5 * ANNOUNCE_WITHIN_MS), "escalated", NOW);
    announceChange(outbox, incident("c", 5 * ANNOUNCE_WITHIN_MS), "resolved", NOW);
    expect(outbox.queued.map((q) => q.event)).toEqual(["incident.escalated", "incident.resolved"]);
  });
});

describe("announceChange after a re-open", () => {
  it("announces the re-open as an update and the next escalation and resolution as new events of the same incident", () => {
    const outbox = fakeOutbox(["d"]);
    announceChange(outbox, incident("d", 60_000), "resolved", NOW);
    const again = { ...incident("d", 60_000), reopened_count: 1 };
    announceChange(outbox, again, "reopened", NOW);
    announceChange(outbox, again, "escalated", NOW);
    announceChange(outbox, again, "resolved", NOW);
    expect(outbox.queued).toEqual([
      { incident_id: "d", event: "incident.resolved" },
      { incident_id: "d", event: "incident.updated", round: 1 },
      { incident_id: "d", event: "incident.escalated", round: 1 },
      { incident_id: "d", event: "incident.resolved", round: 1 },
    ]);
  });
});

describe("retryDelayMs", () => {
  it("starts at about 30 s and doubles, with ±20% jitter", () => {
    expect(retryDelayMs(1, () => 0)).toBe(Math.round(FIRST_RETRY_MS * 0.8));
    expect(retryDelayMs(1, () => 1)).toBe(Math.round(FIRST_RETRY_MS * 1.2));
    expect(retryDelayMs(2, () => 0.5)).toBe(2 * FIRST_RETRY_MS);
    expect(retryDelayMs(4, () => 0.5)).toBe(8 * FIRST_RETRY_MS);
  });

  it("never waits more than about an hour", () => {
    expect(retryDelayMs(30, () => 0.5)).toBe(3_600_000);
    expect(retryDelayMs(30, () => 1)).toBeLessThanOrEqual(1.2 * 3_600_000);
  });
});
