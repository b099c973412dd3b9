/** The cost meter's figures as the settings page shows them (pure). */

export interface D1Size {
  bytes: number | null;
  max_bytes: number;
  share: number | null;
  state: "ok" | "high" | "full" | "unknown";
}

export interface CostSection {
  records: number;
  usd_per_million_records: number | null;
  lines: { d1_rows_written: { per_million_records: number }; do_rows_written: { per_million_records: number } };
  prices: { taken_on: string };
  d1_size: D1Size;
}

const gb = (bytes: number) => `${(bytes / 1e9).toFixed(bytes < 1e8 ? 3 : 2)} GB`;

/** One line on the monitor's own cost per million records ingested. */
export function costLine(c: CostSection): string {
  if (c.usd_per_million_records === null) return "Cost: no record ingested yet.";
  const perRecord = (perMillion: number) => (perMillion / 1e6).toFixed(2);
  return `Cost: $${c.usd_per_million_records.toFixed(2)} per million records at list prices of ${c.prices.taken_on} (${c.records.toLocaleString("en-US")} records; D1 ${perRecord(c.lines.d1_rows_written.per_million_records)} and Durable Object ${perRecord(c.lines.do_rows_written.per_million_records)} rows written per record).`;
}

/** One line on D1's size against its budget. */
export function d1SizeLine(s: D1Size): string {
  if (s.bytes === null || s.share === null) return `D1 size: unknown (budget ${gb(s.max_bytes)}).`;
  return `D1 size: ${gb(s.bytes)} of ${gb(s.max_bytes)} (${(s.share * 100).toFixed(1)}%, ${s.state}).`;
}
