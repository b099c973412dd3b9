/**
 * Zod schemas of the engine state the endpoint object stores as JSON (`engine_state`, and the
 * daily profile in `season_profile`), read back on every evaluation instead of being cast. They
 * mirror the TS types exactly (each shape is checked against its type by the compiler, see
 * src/lib/stored-schema.ts) and are never stricter than what any version stored:
 * - fields added after the first release are optional, as in the types;
 * - objects are loose: keys this version does not know (written by a newer one) are kept, and
 *   written back with the rest, as the cast kept them;
 * - no constraint beyond the type (no integer or range checks: a state is not input);
 * - JSON's lossy spots: NaN and ±Infinity were written as null (`storedNumber`, where a version could
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
import { shapeOf, storedNumber } from "../lib/stored-schema";
import type { Machine } from "./incident";
import { EvidenceSchema, IncidentSchema } from "./incident-schema";
import type { MetricState } from "./metric";
import type { ObjectiveState } from "./objective";
import type { RateState } from "./rates";
import type { SeasonAccumulator, SeasonProfile } from "./season";
import type { DaySums, WeekState } from "./season-week";
import type { DipState, SilenceState } from "./silence";
import type { SurgeState } from "./surge";
import type { SeasonMetric } from "./types";

const num = z.number();
const nullableNum = z.number().nullable();

const EwmaSchema: z.ZodType<Ewma> = z.looseObject(
  shapeOf<Ewma>()({ mean: storedNumber, variance: storedNumber, n: num }),
);

const MetricStateSchema: z.ZodType<MetricState> = z.looseObject(
  shapeOf<MetricState>()({
    ewma: EwmaSchema,
    up: storedNumber,
    down: storedNumber,
    high: storedNumber,
    low: storedNumber,
    spiking: z.enum(["up", "down"]).nullable(),
  }),
);

const RateStateSchema: z.ZodType<RateState> = z.looseObject(
  shapeOf<RateState>()({ bad: num, total: num, n: num, cusum: num }),
);

const ObjectiveSchema: z.ZodType<ObjectiveState> = z.looseObject(
  shapeOf<ObjectiveState>()({
    p95: z.array(num),
    p99: z.array(num),
    latency_ms: nullableNum,
    p95_ms: nullableNum,
    learnt_at: num.optional(),
    slower_than_default: z.boolean(),
  }),
);

const SurgeSchema: z.ZodType<SurgeState> = z.looseObject(shapeOf<SurgeState>()({ run: num, since: nullableNum }));
const SilenceSchema: z.ZodType<SilenceState> = z.looseObject(shapeOf<SilenceState>()({ run: num, longest: num }));
const DipSchema: z.ZodType<DipState> = z.looseObject(
  shapeOf<DipState>()({ low: num, current: nullableNum.optional(), dropping: z.boolean() }),
);

const AccumulatorSchema: z.ZodType<SeasonAccumulator> = z.looseObject(
  shapeOf<SeasonAccumulator>()({
    hour: num,
    traffic_sum: num,
    traffic_n: num,
    latency_sum: num,
    latency_n: num,
    requests_total: num.optional(),
    status_5xx: num.optional(),
  }),
);

const RecentLatencySchema: z.ZodType<NonNullable<DetectorState["recent"]>> = z.looseObject(
  shapeOf<NonNullable<DetectorState["recent"]>>()({
    latency_p95: num.optional(),
    latency_p50: num.optional(),
  }),
);

const DetectorStateSchema: z.ZodType<DetectorState> = z.looseObject(
  shapeOf<DetectorState>()({
    minutes: num,
    latency_p95: MetricStateSchema,
    latency_p50: MetricStateSchema,
    traffic: MetricStateSchema,
    errors: RateStateSchema,
    silent: RateStateSchema,
    inconsistent: RateStateSchema,
    client: RateStateSchema,
    recent: RecentLatencySchema.optional(),
    objective: ObjectiveSchema.optional(),
    surge: SurgeSchema.optional(),
    rate_limited: RateStateSchema.optional(),
    silence: SilenceSchema.optional(),
    dip: DipSchema.optional(),
    season: AccumulatorSchema.optional(),
  }),
);

const family = num.optional();
const RecentSchema: z.ZodType<RecentFamilies> = z.looseObject(
  shapeOf<RecentFamilies>()({
    latency: family,
    availability: family,
    silent: family,
    consistency: family,
    traffic: family,
    probe: family,
    client: family,
    consumer: family,
  }),
);

/** Per metric: the daily and weekly profiles learn traffic, latency and the 5xx share. */
const perMetric = <T>(schema: z.ZodType<T>): z.ZodType<Record<SeasonMetric, T>> =>
  z.looseObject(shapeOf<Record<SeasonMetric, T>>()({ traffic: schema, latency: schema, errors: schema }));

const slots = z.array(z.array(num));
const DaySumsSchema: z.ZodType<DaySums> = z.looseObject(
  shapeOf<DaySums>()({ day: num, sum: perMetric(num), n: perMetric(num) }),
);
const WeekSchema: z.ZodType<WeekState> = z.looseObject(
  shapeOf<WeekState>()({
    levels: perMetric(slots),
    today: DaySumsSchema.nullable(),
  }),
);

/** `season_profile`: the daily (and weekly) profile, in a row of its own. */
export const SeasonProfileSchema: z.ZodType<SeasonProfile> = z.looseObject(
  shapeOf<SeasonProfile>()({
    traffic: slots,
    latency: slots,
    errors: slots.optional(),
    week: WeekSchema.optional(),
    hours: num,
    last_hour: num.optional(),
  }),
);

/** The incident machine (`machine` in `engine_state`): its incidents parse as the incidents table's. */
const MachineSchema: z.ZodType<Machine> = z.looseObject(
  shapeOf<Machine>()({
    open: IncidentSchema.nullable(),
    streak_start: nullableNum,
    streak: num,
    pending: z.array(EvidenceSchema).optional(),
    resolved: IncidentSchema.nullable().optional(),
  }),
);

/** `engine_state`: detectors, recent families and the incident machine (the profile is stored apart). */
export const EngineStateSchema: z.ZodType<EngineState> = z.looseObject(
  shapeOf<EngineState>()({
    detectors: DetectorStateSchema,
    recent: RecentSchema,
    machine: MachineSchema,
    season: SeasonProfileSchema.nullable().optional(),
  }),
);
