/**
 * The stored-JSON schemas accept every shape the code stored over its versions (fields added later
 * absent, NaN and Infinity written by JSON as null, keys they do not know kept) and refuse what no
 * version stored. The round trip of real values is in test/stored-json-rows.test.ts.
 */
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { StoredCountsSchema } from "../../src/cost/counts";
import { IncidentSchema } from "../../src/detect/incident-schema";
import { IncidentGroupSchema } from "../../src/incidents/group-schema";
import { EndpointStateSchema } from "../../src/monitor/endpoint-state-schema";
import { shapeOf } from "../../src/lib/stored-schema";
import { BucketSchema } from "../../src/monitor/route-admission";

/** What JSON storage gives back for `value`. */
const stored = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

const figures = {
  requests_per_minute: 60,
  error_rate: 0.1,
  client_error_rate: 0,
  silent_failure_rate: 0,
  p50_ms: 40,
  p95_ms: 120,
  p99_ms: null,
  availability_burn_1h: 12,
  latency_burn_1h: null,
};

/** An incident as the first version stored it (4e84679: no maintenance, deploy, concentration or timeline). */
const firstIncident = {
  id: "inc_1",
  service: "shop",
  method: "GET",
  route: "/orders/:id",
  severity: "WARNING",
  status: "open",
  opened_at: 1_700_000_000_000,
  escalated_at: null,
  resolved_at: null,
  last_event_at: 1_700_000_060_000,
  clean_minutes: 0,
  severity_score: 0.4,
  health_score: 60,
  action: "RETRY",
  signals: [
    {
      kind: "error_rate_baseline",
      family: "availability",
      level: "warning",
      unit: "ratio",
      window: "5m",
      observed: 0.1,
      peak: 0.12,
      baseline: 0.001,
      threshold: null,
      first_event_at: 1_700_000_000_000,
      last_event_at: 1_700_000_060_000,
    },
  ],
  figures_at_open: figures,
  figures,
  explanation: "5xx rose",
};

const firstState = {
  service: "shop",
  method: "GET",
  route: "/orders/:id",
  health: "WARNING",
  severity_score: 0.4,
  health_score: 60,
  action: "RETRY",
  signals: [
    {
      kind: "error_rate_baseline",
      family: "availability",
      level: "warning",
      observed: 0.1,
      baseline: 0.001,
      threshold: null,
      unit: "ratio",
      window: "5m",
      strength: 0.5,
    },
  ],
  figures,
  baselines: {
    p95_ms: { value: 100, low: 80, high: 130, n: 400 },
    p50_ms: null,
    requests_per_minute: null,
    error_rate: 0.001,
    silent_failure_rate: null,
    inconsistency_rate: null,
    client_error_rate: null,
  },
  open_incident_id: "inc_1",
  evaluated_at: 1_700_000_000_000,
};

const member = {
  incident_id: "inc_1",
  service: "shop",
  method: "GET",
  route: "/a",
  severity: "WARNING",
  status: "open",
  opened_at: 1,
  resolved_at: null,
  signal_kinds: ["probe_failed"],
  joined_at: 2,
  alerted_alone: false,
};
const firstGroup = {
  id: "grp_1",
  service: "shop",
  status: "open",
  opened_at: 1,
  resolved_at: null,
  hold_until: 3,
  severity: "WARNING",
  origin_down: false,
  alert: "none",
  dedup_key: "grp_1",
  members: [member],
  updated_at: 2,
};

describe("stored incidents", () => {
  it("parse as the first version stored them, unchanged", () => {
    expect(IncidentSchema.parse(stored(firstIncident))).toEqual(firstIncident);
  });

  it("parse with every field added since, and keep keys they do not know", () => {
    const now = {
      ...firstIncident,
      signals: [
        { ...firstIncident.signals[0], consumer: "acme", objective: "error_rate", requests: 40 },
        { ...firstIncident.signals[0], kind: "traffic_surge", rate_limited: { share: 0.3, usual: 0.01 } },
      ],
      in_maintenance: false,
      maintenance_id: null,
      maintenance_released_at: null,
      deploy: { id: "d1", version: "v2", at: 5, description: null },
      concentration: [
        {
          dimension: "consumer",
          metric: "5xx",
          names: ["acme"],
          share: 0.9,
          rate: 0.5,
          rate_elsewhere: 0.01,
          failures: 90,
          requests: 180,
          text: "t",
        },
      ],
      timeline: [{ at: 1, change: "opened", severity: "WARNING", signals: ["error_rate_baseline"] }],
      reopened_count: 0,
      from_a_later_version: { x: 1 },
    };
    expect(IncidentSchema.parse(stored(now))).toEqual(now);
  });

  it("read NaN and Infinity as the null JSON stored for them", () => {
    const odd = stored({
      ...firstIncident,
      severity_score: NaN,
      figures: { ...figures, requests_per_minute: Infinity },
    });
    expect(IncidentSchema.parse(odd)).toEqual(odd);
    expect(IncidentSchema.parse(odd).severity_score).toBeNull();
  });

  it("refuse what no version stored", () => {
    expect(IncidentSchema.safeParse({ ...firstIncident, status: "closed" }).success).toBe(false);
    expect(IncidentSchema.safeParse({ ...firstIncident, signals: {} }).success).toBe(false);
    expect(IncidentSchema.safeParse({ ...firstIncident, id: undefined }).success).toBe(false);
    expect(IncidentSchema.safeParse({ ...firstIncident, opened_at: "yesterday" }).success).toBe(false);
  });
});

describe("a stored endpoint state", () => {
  it("parses as stored before learnt objectives (no objective, no slower_than_default_objective)", () => {
    expect(EndpointStateSchema.parse(stored(firstState))).toEqual(firstState);
  });

  it("parses with them, and refuses an unknown health", () => {
    const now = {
      ...firstState,
      baselines: {
        ...firstState.baselines,
        objective: { latency_ms: null, p95_ms: 300, learning: false, slower_than_default_objective: true },
      },
      slower_than_default_objective: true,
    };
    expect(EndpointStateSchema.parse(stored(now))).toEqual(now);
    expect(EndpointStateSchema.safeParse({ ...firstState, health: "FINE" }).success).toBe(false);
  });
});

describe("a stored group", () => {
  it("parses as stored before groups per origin (no services, no origin, members without origin)", () => {
    expect(IncidentGroupSchema.parse(stored(firstGroup))).toEqual(firstGroup);
  });

  it("parses with them, and refuses members that are not a list", () => {
    const now = {
      ...firstGroup,
      services: ["shop", "cart"],
      origin: "api.example",
      members: [{ ...member, origin: "api.example" }],
    };
    expect(IncidentGroupSchema.parse(stored(now))).toEqual(now);
    expect(IncidentGroupSchema.safeParse({ ...firstGroup, members: 7 }).success).toBe(false);
  });
});

describe("stored counts and buckets", () => {
  it("counts parse with fields absent (older meters) or null, and refuse text", () => {
    const older = { worker_requests: 3, do_rows_written: null };
    expect(StoredCountsSchema.parse(stored(older))).toEqual(older);
    expect(StoredCountsSchema.safeParse({ worker_requests: "3" }).success).toBe(false);
  });

  it("a bucket parses as stored, and refuses one without tokens", () => {
    expect(BucketSchema.parse({ tokens: 1.5, at: 10 })).toEqual({ tokens: 1.5, at: 10 });
    expect(BucketSchema.safeParse({ at: 10 }).success).toBe(false);
  });
});

describe("shapeOf", () => {
  interface T {
    a: string;
    b?: number | null;
  }

  it("takes a schema of each field of exactly the field's type (the rest fails tsc)", () => {
    const shape = shapeOf<T>()({ a: z.string(), b: z.number().nullable().optional() });
    expect(Object.keys(shape)).toEqual(["a", "b"]);
    // @ts-expect-error a field of the type missing
    shapeOf<T>()({ a: z.string() });
    // @ts-expect-error an optional field made required (stricter than what was stored)
    shapeOf<T>()({ a: z.string(), b: z.number().nullable() });
    // @ts-expect-error null refused where the type allows it
    shapeOf<T>()({ a: z.string(), b: z.number().optional() });
    // @ts-expect-error a field the type does not have
    shapeOf<T>()({ a: z.string(), b: z.number().nullable().optional(), c: z.string() });
  });
});
