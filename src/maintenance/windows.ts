/**
 * Maintenance windows and silences, as pure data: the API's input schema, and whether a window
 * covers an endpoint over a span of time. A window is wall-clock time; an incident's span is its
 * event time, which for live traffic is the same clock. Detection keeps running inside a window:
 * only the alert is held (src/monitor/service-context.ts, src/monitor/follow-up.ts).
 */
import * as z from "zod";
import { SERVICE_NAME } from "../services/config";

/** A window lasts at most this long (a forgotten silence must end on its own). */
export const MAX_WINDOW_MS = 31 * 24 * 60 * 60_000;

const endpointRef = z.strictObject({
  method: z
    .string()
    .regex(/^[A-Za-z]{1,16}$/)
    .transform((m) => m.toUpperCase()),
  route: z.string().min(1).max(512).startsWith("/"),
});

const instant = z.union([z.number().int().min(0), z.iso.datetime({ offset: true }).transform((s) => Date.parse(s))]);

/** `POST /v1/maintenance`: start and end, or "now for N minutes" (`duration_minutes`, start defaulting to now). */
export const maintenanceInput = z
  .strictObject({
    service: z.string().regex(SERVICE_NAME, "1-64 characters of A-Z a-z 0-9 . _ -"),
    endpoints: z.array(endpointRef).min(1).max(100).optional(),
    starts_at: instant.optional(),
    ends_at: instant.optional(),
    duration_minutes: z
      .number()
      .int()
      .min(1)
      .max(MAX_WINDOW_MS / 60_000)
      .optional(),
    reason: z.string().trim().min(1).max(500).optional(),
  })
  .refine((v) => (v.ends_at === undefined) !== (v.duration_minutes === undefined), {
    message: "give either ends_at or duration_minutes",
    path: ["ends_at"],
  });
export type MaintenanceInput = z.output<typeof maintenanceInput>;

export interface EndpointRef {
  method: string;
  route: string;
}

export interface MaintenanceWindow {
  id: string;
  service: string;
  /** null: every endpoint of the service. */
  endpoints: EndpointRef[] | null;
  starts_at: number;
  ends_at: number;
  reason: string | null;
  created_at: number;
}

/** The window an input describes at `now`, or the problem with it. */
export function windowFrom(
  input: MaintenanceInput,
  id: string,
  now: number,
): { ok: true; window: MaintenanceWindow } | { ok: false; message: string } {
  const starts = input.starts_at ?? now;
  const ends = input.ends_at ?? starts + (input.duration_minutes ?? 0) * 60_000;
  if (ends <= starts) return { ok: false, message: "ends_at must be after starts_at" };
  if (ends - starts > MAX_WINDOW_MS) return { ok: false, message: "a window lasts at most 31 days" };
  if (ends <= now) return { ok: false, message: "the window has already ended" };
  return {
    ok: true,
    window: {
      id,
      service: input.service,
      endpoints: input.endpoints ?? null,
      starts_at: starts,
      ends_at: ends,
      reason: input.reason ?? null,
      created_at: now,
    },
  };
}

/** Whether `w` applies to the endpoint (its service, and its list of endpoints when it has one). */
export function windowMatches(w: MaintenanceWindow, e: { service: string; method: string; route: string }): boolean {
  if (w.service !== e.service) return false;
  return w.endpoints === null || w.endpoints.some((x) => x.method === e.method && x.route === e.route);
}

/** The first window of the endpoint overlapping [from, to) (an instant when from = to), or null. */
export function coveringWindow(
  windows: readonly MaintenanceWindow[],
  e: { service: string; method: string; route: string },
  from: number,
  to = from,
): MaintenanceWindow | null {
  return windows.find((w) => windowMatches(w, e) && w.starts_at <= Math.max(from, to - 1) && w.ends_at > from) ?? null;
}
