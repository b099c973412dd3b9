import { describe, expect, it } from "vitest";
import { costLine, d1SizeLine } from "./cost";

describe("cost lines", () => {
  it("show dollars per million records and rows per record", () => {
    const line = costLine({
      records: 60_000,
      usd_per_million_records: 14.1234,
      lines: {
        d1_rows_written: { per_million_records: 7_000_000 },
        do_rows_written: { per_million_records: 3_500_000 },
      },
      prices: { taken_on: "2026-12-06" },
      d1_size: { bytes: 1, max_bytes: 9e9, share: 0, state: "ok" },
    });
    expect(line).toBe(
      "Cost: $14.12 per million records at list prices of 2026-12-06 (60,000 records; D1 7.00 and Durable Object 3.50 rows written per record).",
    );
    expect(
      costLine({
        records: 0,
        usd_per_million_records: null,
        lines: { d1_rows_written: { per_million_records: 0 }, do_rows_written: { per_million_records: 0 } },
        prices: { taken_on: "x" },
        d1_size: { bytes: null, max_bytes: 9e9, share: null, state: "unknown" },
      }),
    ).toBe("Cost: no record ingested yet.");
  });

  it("show D1's size against its budget", () => {
    expect(d1SizeLine({ bytes: 7.5e9, max_bytes: 9e9, share: 0.8333, state: "high" })).toBe(
      "D1 size: 7.50 GB of 9.00 GB (83.3%, high).",
    );
    expect(d1SizeLine({ bytes: null, max_bytes: 9e9, share: null, state: "unknown" })).toBe(
      "D1 size: unknown (budget 9.00 GB).",
    );
  });
});
