/**
 * The endpoint object's alarm records when each job is next due in its in-memory due-work table
 * (src/monitor/due-work.ts) and the one pending alarm is the table's earliest entry.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { endpointStub, postLogs, record } from "./helpers";

describe("endpoint object: the due-work table drives its one alarm", () => {
  it("an alarm with records left to flush records the flush and sets the alarm at the earliest entry", async () => {
    const service = "due-work";
    const res = await postLogs([record(service, { path: "/due", timestamp: Date.now() - 30_000 })], { sync: true });
    expect(res.status).toBe(202);
    const stub = endpointStub(service, "GET", "/due");
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const { entries, pending } = await runInDurableObject(stub, async (m, state) => ({
      entries: m.jobs.due.entries(),
      pending: await state.storage.getAlarm(),
    }));
    // The flushed endpoint is live: it comes back at the next minute boundary to close silent minutes.
    expect(entries.silence).toBeGreaterThan(Date.now() - 1000);
    const earliest = Math.min(...Object.values(entries));
    expect(pending).not.toBeNull();
    expect(pending).toBeLessThanOrEqual(Math.max(earliest, Date.now()));
  });
});
