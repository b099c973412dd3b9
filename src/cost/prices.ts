/**
 * List prices used to turn counted work into dollars (Workers Paid plan, beyond the included
 * usage, in US dollars). Defaults taken on 2026-12-06 from Cloudflare's public pricing pages:
 * developers.cloudflare.com/workers/platform/pricing (Workers requests $0.30/M),
 * /durable-objects/platform/pricing (requests $0.15/M; SQLite rows written $1.00/M, rows read
 * $0.001/M, stored data $0.20/GB-month; each setAlarm billed as one row written),
 * /d1/platform/pricing (rows written $1.00/M, rows read $0.001/M, storage $0.75/GB-month; an
 * index write is an extra row written) and /r2/pricing (standard storage: class A $4.50/M,
 * class B $0.36/M, storage $0.015/GB-month). Override any of them with the `COST_PRICES` setting
 * (a JSON object with some of these fields). Included monthly allowances are not subtracted:
 * the figures are marginal prices per million records.
 */
import * as z from "zod";

export const PRICES_TAKEN_ON = "2026-12-06";

export interface Prices {
  workers_requests_per_million: number;
  do_requests_per_million: number;
  do_rows_written_per_million: number;
  do_rows_read_per_million: number;
  do_storage_per_gb_month: number;
  d1_rows_written_per_million: number;
  d1_rows_read_per_million: number;
  d1_storage_per_gb_month: number;
  r2_class_a_per_million: number;
  r2_class_b_per_million: number;
  r2_storage_per_gb_month: number;
}

export const DEFAULT_PRICES: Prices = {
  workers_requests_per_million: 0.3,
  do_requests_per_million: 0.15,
  do_rows_written_per_million: 1.0,
  do_rows_read_per_million: 0.001,
  do_storage_per_gb_month: 0.2,
  d1_rows_written_per_million: 1.0,
  d1_rows_read_per_million: 0.001,
  d1_storage_per_gb_month: 0.75,
  r2_class_a_per_million: 4.5,
  r2_class_b_per_million: 0.36,
  r2_storage_per_gb_month: 0.015,
};

const price = z.number().finite().min(0);
const overrides = z.strictObject(
  Object.fromEntries(Object.keys(DEFAULT_PRICES).map((k) => [k, price.optional()])) as Record<
    keyof Prices,
    z.ZodOptional<typeof price>
  >,
);

/**
 * The prices in effect: the defaults, overridden by the `COST_PRICES` JSON setting. A setting
 * that is not valid JSON of known, non-negative numbers is ignored (the defaults apply) and named
 * in `errors`, so a typo shows in GET /v1/stats instead of silently skewing the figures.
 */
export function pricesFrom(setting: string | undefined): {
  prices: Prices;
  source: "default" | "COST_PRICES";
  errors: string[];
} {
  if (setting === undefined || setting.trim() === "") return { prices: DEFAULT_PRICES, source: "default", errors: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(setting);
  } catch {
    return { prices: DEFAULT_PRICES, source: "default", errors: ["COST_PRICES is not JSON"] };
  }
  const result = overrides.safeParse(parsed);
  if (!result.success)
    return {
      prices: DEFAULT_PRICES,
      source: "default",
      errors: result.error.issues.map((i) => `COST_PRICES.${i.path.join(".")}: ${i.message}`),
    };
  const set = Object.fromEntries(Object.entries(result.data).filter(([, v]) => v !== undefined)) as Partial<Prices>;
  return { prices: { ...DEFAULT_PRICES, ...set }, source: "COST_PRICES", errors: [] };
}
