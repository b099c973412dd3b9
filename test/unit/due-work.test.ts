import { describe, expect, it } from "vitest";
import { DueWork } from "../../src/monitor/due-work";

describe("due-work table", () => {
  it("keeps the earliest time per kind and answers the earliest entry, never before the floor", () => {
    const due = new DueWork();
    expect(due.earliest(0)).toBeNull();
    due.set("flush", 5_000);
    due.set("flush", 9_000);
    due.set("outbox", null);
    due.set("silence", 60_000);
    expect(due.get("flush")).toBe(5_000);
    expect(due.get("outbox")).toBeNull();
    expect(due.entries()).toEqual({ flush: 5_000, silence: 60_000 });
    expect(due.earliest(1_000)).toBe(5_000);
    // Work already late is due now, not in the past.
    expect(due.earliest(7_000)).toBe(7_000);
    due.clear();
    expect(due.earliest(0)).toBeNull();
  });
});
