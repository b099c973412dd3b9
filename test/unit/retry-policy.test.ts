import { describe, expect, it } from "vitest";
import { decodePosition, encodePosition } from "../../src/control/quarantine";
import { isCapacityError } from "../../src/db/capacity";
import { TimeoutError } from "../../src/lib/timeout";
import { HANDOFF_ATTEMPTS, retryDecision } from "../../src/ingest/retry-policy";
import { reportStorage, storageState, STORAGE_REPORT_TTL_MS } from "../../src/ingest/storage-state";

const marked = (flags: Record<string, boolean>) => Object.assign(new Error("x"), flags);

describe("retryDecision", () => {
  it("retries only errors marked retryable, up to the attempt limit", () => {
    expect(retryDecision(marked({ retryable: true }), 1, 0)).toBe("retry");
    expect(retryDecision(marked({ retryable: true }), HANDOFF_ATTEMPTS - 1, 0)).toBe("retry");
    expect(retryDecision(marked({ retryable: true }), HANDOFF_ATTEMPTS, 0)).toBe("give_up");
    expect(retryDecision(new Error("unknown"), 1, 0)).toBe("give_up");
    expect(retryDecision(marked({ retryable: false }), 1, 0)).toBe("give_up");
    expect(retryDecision("a string", 1, 0)).toBe("give_up");
  });

  it("never retries an overloaded object, even when it is also marked retryable", () => {
    expect(retryDecision(marked({ overloaded: true }), 1, 0)).toBe("overloaded");
    expect(retryDecision(marked({ overloaded: true, retryable: true }), 1, 0)).toBe("overloaded");
  });

  it("retries a timeout once at most", () => {
    expect(retryDecision(new TimeoutError("slow"), 1, 1)).toBe("retry");
    expect(retryDecision(new TimeoutError("slow"), 2, 2)).toBe("give_up");
  });
});

describe("isCapacityError", () => {
  it("knows D1's and SQLite's messages for a full database, and nothing else", () => {
    expect(isCapacityError(new Error("D1_ERROR: database or disk is full: SQLITE_FULL"))).toBe(true);
    expect(isCapacityError(new Error("D1_ERROR: Exceeded maximum DB size"))).toBe(true);
    expect(isCapacityError(new Error("SQLITE_FULL"))).toBe(true);
    expect(isCapacityError(new Error("D1_ERROR: NOT NULL constraint failed: request_logs.status"))).toBe(false);
    expect(isCapacityError(new Error("D1_ERROR: network connection lost"))).toBe(false);
  });
});

describe("storageState", () => {
  it("is full from the first report until a write succeeds, or until reports stop for the TTL", () => {
    reportStorage(false, 0);
    expect(storageState(1000)).toEqual({ storage: "ok", full_since: null });
    reportStorage(true, 1000);
    reportStorage(true, 2000);
    expect(storageState(2500)).toEqual({ storage: "full", full_since: 1000 });
    expect(storageState(2000 + STORAGE_REPORT_TTL_MS + 1).storage).toBe("ok");
    reportStorage(true, 3000);
    reportStorage(false, 3500);
    expect(storageState(3600).storage).toBe("ok");
  });
});

describe("quarantine cursor", () => {
  it("round-trips any endpoint and key, and refuses what it did not make", () => {
    const p = { endpoint: { service: "s", method: "GET", route: "/ä/:id" }, key: "c:s:GET:/ä/:id#x" };
    expect(decodePosition(encodePosition(p))).toEqual(p);
    expect(decodePosition("not-ours")).toBeNull();
    expect(decodePosition(btoa(encodeURIComponent(JSON.stringify([1, 2, 3, 4]))))).toBeNull();
  });
});
