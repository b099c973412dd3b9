/**
 * Zod schemas of the engine state the endpoint object stores as JSON (`engine_state`, and the
 * daily profile in `season_profile`), read back on every evaluation instead of being cast. They
 * mirror the TS types exactly (each shape is checked against its type by the compiler, see
 * schema-kit.ts) and are never stricter than what any version stored:
 * - fields added after the first release are optional, as in the types;
 * - objects are loose: keys this version does not know (written by a newer one) are kept, and
 *   written back with the rest, as the cast kept them;
 * - no constraint beyond the type (no integer or range checks: a state is not input);
 * - JSON's lossy spots: NaN and ±Infinity were written as null (`jsonFloat`, where a version could
 *   produce them: the metric baselines of the first engine) and `undefined` fields were dropped
 *   (every field that can be undefined is optional).
 * No transform and no default either: a value the schemas accept equals what JSON.parse gave, and
 * the object goes on with JSON.parse's own value (src/monitor/engine-state-rows.ts), so the engine
 * reads exactly what the cast read. Pure.
 */
import * as z from "zod";
import type { Ewma } from "./baseline";
import type { DetectorState } from "./detector-state";
import type { EngineState } from "./evaluate";
import type { RecentFamilies } from "./health";
import { MachineSchema } from "./incident-schemas";
import type { MetricState } from "./metric";
import type { ObjectiveState } from "./objective";
import type { RateState } from "./rates";
import { jsonFloat, type ShapeOf } from "./schema-kit";
import type { SeasonAccumulator, SeasonProfile } from "./season";
import type { DaySums, WeekState } from "./season-week";
import type { DipState, SilenceState } from "./silence";
import type { SurgeState } from "./surge";
import type { SeasonMetric } from "./types";

const num = z.number();
const nullableNum = z.number().nullable();

const ewmaShape = { mean: jsonFloat, variance: jsonFloat, n: num } satisfies ShapeOf<Ewma>;
const EwmaSchema: z.ZodType<Ewma> = z.looseObject(ewmaShape);

const metricShape = {
  ewma: EwmaSchema,
  up: jsonFloat,
  down: jsonFloat,
  high: jsonFloat,
  low: jsonFloat,
  spiking: z.enum(["up", "down"]).nullable(),
} satisfies ShapeOf<MetricState>;
const MetricStateSchema: z.ZodType<MetricState> = z.looseObject(metricShape);

const rateShape = { bad: num, total: num, n: num, cusum: num } satisfies ShapeOf<RateState>;
const RateStateSchema: z.ZodType<RateState> = z.looseObject(rateShape);

const objectiveShape = {
  p95: z.array(num),
  p99: z.array(num),
  latency_ms: nullableNum,
  p95_ms: nullableNum,
  learnt_at: num.optional(),
  slower_than_default: z.boolean(),
} satisfies ShapeOf<ObjectiveState>;

const surgeShape = { run: num, since: nullableNum } satisfies ShapeOf<SurgeState>;
const silenceShape = { run: num, longest: num } satisfies ShapeOf<SilenceState>;
const dipShape = { low: num, current: nullableNum.optional(), dropping: z.boolean() } satisfies ShapeOf<DipState>;

const accumulatorShape = {
  hour: num,
  traffic_sum: num,
  traffic_n: num,
  latency_sum: num,
  latency_n: num,
  requests_total: num.optional(),
  status_5xx: num.optional(),
} satisfies ShapeOf<SeasonAccumulator>;

const recentLatencyShape = {
  latency_p95: num.optional(),
  latency_p50: num.optional(),
} satisfies ShapeOf<NonNullable<DetectorState["recent"]>>;

const detectorShape = {
  minutes: num,
  latency_p95: MetricStateSchema,
  latency_p50: MetricStateSchema,
  traffic: MetricStateSchema,
  errors: RateStateSchema,
  silent: RateStateSchema,
  inconsistent: RateStateSchema,
  client: RateStateSchema,
  recent: z.looseObject(recentLatencyShape).optional(),
  objective: z.looseObject(objectiveShape).optional(),
  surge: z.looseObject(surgeShape).optional(),
  rate_limited: RateStateSchema.optional(),
  silence: z.looseObject(silenceShape).optional(),
  dip: z.looseObject(dipShape).optional(),
  season: z.looseObject(accumulatorShape).optional(),
} satisfies ShapeOf<DetectorState>;
const DetectorStateSchema: z.ZodType<DetectorState> = z.looseObject(detectorShape);

const family = num.optional();
const recentShape = {
  latency: family,
  availability: family,
  silent: family,
  consistency: family,
  traffic: family,
  probe: family,
  client: family,
  consumer: family,
} satisfies ShapeOf<RecentFamilies>;

/** Per metric: the daily and weekly profiles learn traffic, latency and the 5xx share. */
const perMetric = <T>(schema: z.ZodType<T>): z.ZodType<Record<SeasonMetric, T>> =>
  z.looseObject({ traffic: schema, latency: schema, errors: schema } satisfies ShapeOf<Record<SeasonMetric, T>>);

const slots = z.array(z.array(num));
const daySumsShape = { day: num, sum: perMetric(num), n: perMetric(num) } satisfies ShapeOf<DaySums>;
const weekShape = {
  levels: perMetric(slots),
  today: z.looseObject(daySumsShape).nullable(),
} satisfies ShapeOf<WeekState>;

const profileShape = {
  traffic: slots,
  latency: slots,
  errors: slots.optional(),
  week: z.looseObject(weekShape).optional(),
  hours: num,
  last_hour: num.optional(),
} satisfies ShapeOf<SeasonProfile>;

/** `season_profile`: the daily (and weekly) profile, in a row of its own. */
export const SeasonProfileSchema: z.ZodType<SeasonProfile> = z.looseObject(profileShape);

/** `engine_state`: detectors, recent families and the incident machine (the profile is stored apart). */
export const EngineStateSchema: z.ZodType<EngineState> = z.looseObject({
  detectors: DetectorStateSchema,
  recent: z.looseObject(recentShape),
  machine: MachineSchema,
  season: SeasonProfileSchema.nullable().optional(),
} satisfies ShapeOf<EngineState>);
