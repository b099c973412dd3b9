/**
 * The `cost` section of GET /v1/stats: the endpoint objects' published counts (every record
 * they took, their D1 and SQLite rows, their requests) plus this isolate's Worker counts, per
 * million records ingested and in dollars at list prices, with the D1 size against its budget.
 */
import { config } from "../config";
import { COST_FIELDS, addCounts, type CostCounts } from "./counts";
import { currentD1Size, type D1SizeReport } from "./d1-size";
import { PRICES_TAKEN_ON, pricesFrom, type Prices } from "./prices";
import { costReport, type CostReport } from "./report";
import { workerMeter } from "./worker";

export interface CostStats extends CostReport {
  counts: CostCounts;
  prices: Prices & { taken_on: string; source: "default" | "COST_PRICES"; errors: string[] };
  d1_size: D1SizeReport;
  notes: string[];
}

/** What the caveats of the figures are, said next to them. */
export const COST_NOTES = [
  "Endpoint objects' counts (records, D1 and SQLite rows, requests) are as they last published them to endpoint_health; Worker requests and the D1 rows of Worker routes and cron jobs are this isolate's since it started (approximate).",
  "D1 rows read are counted only where D1 returns meta (run/all/batch); drizzle selects (raw) and first() are not counted (rows read cost $0.001 per million).",
  "Durable Object duration (GB-s), Worker CPU time and storage are not in the per-record figure; D1 storage is given per month for its current size.",
  "Retention deletes are counted when they run (they bill index rows too: D1 reports one row per deleted table row here, production may report more).",
];

/** Sums of the endpoint objects' published counts and records, read from endpoint_health. */
async function publishedCounts(db: D1Database): Promise<{ records: number; counts: Partial<CostCounts> }> {
  const sums = COST_FIELDS.map((f) => `total(json_extract(metrics, '$.cost.${f}')) AS ${f}`).join(", ");
  const row = await db
    .prepare(`SELECT total(events_processed) AS records, ${sums} FROM endpoint_health WHERE json_valid(metrics)`)
    .first<Record<string, number>>();
  const counts: Partial<CostCounts> = {};
  for (const f of COST_FIELDS) counts[f] = row?.[f] ?? 0;
  return { records: row?.records ?? 0, counts };
}

/** The cost section of GET /v1/stats. */
export async function costStats(env: Env): Promise<CostStats> {
  const { prices, source, errors } = pricesFrom(config(env).COST_PRICES ?? undefined);
  const published = await publishedCounts(env.DB);
  const counts = addCounts(published.counts, workerMeter.counts);
  const d1Size = await currentD1Size(env.DB, workerMeter, env.D1_MAX_BYTES);
  return {
    ...costReport(counts, published.records, prices, d1Size.bytes),
    counts,
    prices: { ...prices, taken_on: PRICES_TAKEN_ON, source, errors },
    d1_size: d1Size,
    notes: COST_NOTES,
  };
}
