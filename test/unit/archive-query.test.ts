import { describe, expect, it } from "vitest";
import {
  compareKeys,
  daysBetween,
  decodeArchiveCursor,
  encodeArchiveCursor,
  keyDay,
  keyHour,
} from "../../src/archive/query";
import { archiveKeys, hourPrefix } from "../../src/retention/archive";

const H = Date.UTC(2026, 6, 1, 13);

describe("archive keys read back", () => {
  it("orders an hour's object before its parts, parts by first timestamp numerically, and hours by time", () => {
    const group = (timestamp: number) => ({ service: "s", hourStart: H, rows: [{ timestamp } as never] });
    const [base, part9] = archiveKeys(group(9), "u");
    const [, part10, unique10] = archiveKeys(group(10), "a-b");
    const next = `${hourPrefix("s", H + 3_600_000)}.ndjson.gz`;
    const day = "raw/s/2026/07/01/";
    const keys = [next, unique10, part10, part9, base, day].filter((k): k is string => k !== undefined);
    expect(keys.sort((a, b) => compareKeys(a, b, "s"))).toEqual([day, base, part9, part10, unique10, next]);
    expect(keys.map((k) => keyHour(k, "s"))).toEqual([null, H, H, H, H, H + 3_600_000]);
    expect(keyDay(day, "s")).toBe(Date.UTC(2026, 6, 1));
    expect(keyHour("raw/s/notes.txt", "s")).toBeNull();
    expect(keyHour(base ?? "", "other")).toBeNull();
  });

  it("round-trips a cursor, and refuses one of another service or not ours", () => {
    const p = { key: `${hourPrefix("shop", H)}.12.ndjson.gz`, line: 40 };
    expect(decodeArchiveCursor(encodeArchiveCursor(p), "shop")).toEqual(p);
    expect(decodeArchiveCursor(encodeArchiveCursor(p), "other")).toBeNull();
    expect(decodeArchiveCursor(encodeArchiveCursor({ key: "raw/shop/x", line: 0 }), "shop")).toBeNull();
    expect(decodeArchiveCursor(encodeArchiveCursor({ ...p, line: -1 }), "shop")).toBeNull();
    expect(decodeArchiveCursor("%%%", "shop")).toBeNull();
  });

  it("lists the UTC days of a range", () => {
    expect([...daysBetween(H, H + 36 * 3_600_000)]).toEqual([
      Date.UTC(2026, 6, 1),
      Date.UTC(2026, 6, 2),
      Date.UTC(2026, 6, 3),
    ]);
  });
});
