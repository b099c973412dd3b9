/**
 * The zod schema of the endpoint's state as the endpoint object stores it for the next publish
 * (`endpoint_state` in `meta`), mirroring publish.ts's types field for field (see
 * src/lib/stored-schema.ts). State stored before learnt objectives lacks `objective` and
 * `slower_than_default_objective`, both optional in the types.
 */
import * as z from "zod";
import { ActionSchema, FiguresSchema, SignalSchema } from "../detect/incident-schema";
import { shapeOf, storedNumber } from "../lib/stored-schema";
import type { Band, Baselines, EndpointState } from "./publish";

const nullableNumber = storedNumber.nullable();

const BandSchema: z.ZodType<Band> = z.looseObject(
  shapeOf<Band>()({ value: storedNumber, low: storedNumber, high: storedNumber, n: storedNumber }),
);

type Objective = NonNullable<Baselines["objective"]>;
const ObjectiveSchema: z.ZodType<Objective> = z.looseObject(
  shapeOf<Objective>()({
    latency_ms: nullableNumber,
    p95_ms: nullableNumber,
    learning: z.boolean(),
    slower_than_default_objective: z.boolean(),
  }),
);

const BaselinesSchema: z.ZodType<Baselines> = z.looseObject(
  shapeOf<Baselines>()({
    p95_ms: BandSchema.nullable(),
    p50_ms: BandSchema.nullable(),
    requests_per_minute: BandSchema.nullable(),
    error_rate: nullableNumber,
    silent_failure_rate: nullableNumber,
    inconsistency_rate: nullableNumber,
    client_error_rate: nullableNumber,
    objective: ObjectiveSchema.optional(),
  }),
);

/** The endpoint's state after an evaluation, as stored for the next publish. */
export const EndpointStateSchema: z.ZodType<EndpointState> = z.looseObject(
  shapeOf<EndpointState>()({
    service: z.string(),
    method: z.string(),
    route: z.string(),
    health: z.enum(["NORMAL", "WARNING", "CRITICAL"]),
    severity_score: storedNumber,
    health_score: storedNumber,
    action: ActionSchema,
    signals: z.array(SignalSchema),
    figures: FiguresSchema,
    baselines: BaselinesSchema,
    open_incident_id: z.string().nullable(),
    slower_than_default_objective: z.boolean().optional(),
    evaluated_at: storedNumber,
  }),
);
