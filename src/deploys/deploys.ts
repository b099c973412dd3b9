/**
 * Deploy markers, as pure data: the input of `POST /v1/deploys`, the stable id of a deploy (one
 * per service and version, so a client retrying or records repeating a version add nothing), and
 * which deploy an incident started shortly after ("the most recent change is usually the cause").
 */
import * as z from "zod";
import { SERVICE_NAME } from "../services/config";

/** Default time after a deploy within which an incident is said to follow it (`DEPLOY_CORRELATION_MINUTES`). */
export { DEFAULT_DEPLOY_CORRELATION_MINUTES } from "../config";

export const VERSION = /^[A-Za-z0-9._+:@/-]{1,64}$/;

const instant = z.union([z.number().int().min(0), z.iso.datetime({ offset: true }).transform((s) => Date.parse(s))]);

/** `POST /v1/deploys`. */
export const deployInput = z.strictObject({
  service: z.string().regex(SERVICE_NAME, "1-64 characters of A-Z a-z 0-9 . _ -"),
  version: z.string().regex(VERSION, "1-64 characters of A-Z a-z 0-9 . _ + : @ / -"),
  at: instant.optional(),
  description: z.string().trim().min(1).max(500).optional(),
});
export type DeployInput = z.output<typeof deployInput>;

export interface Deploy {
  id: string;
  service: string;
  version: string;
  at: number;
  description: string | null;
  source: "api" | "records";
}

/** The deploy's id: a short stable hash of (service, version). */
export function deployId(service: string, version: string): string {
  let h = 0x811c9dc5;
  for (const ch of `${service}\u0000${version}`) {
    h ^= ch.codePointAt(0) ?? 0;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return `dep_${h.toString(36)}_${version.length.toString(36)}`;
}

/** The newest deploy of `service` at or before `openedAt` and at most `withinMs` before it, or null. */
export function deployBefore(
  list: readonly Deploy[],
  service: string,
  openedAt: number,
  withinMs: number,
): Deploy | null {
  let best: Deploy | null = null;
  for (const d of list) {
    if (d.service !== service || d.at > openedAt || openedAt - d.at > withinMs) continue;
    if (!best || d.at > best.at) best = d;
  }
  return best;
}

/** The explanation's clause: "started 4 min after deploy v1.42 of shop". */
export function deployPhrase(d: Pick<Deploy, "version" | "service" | "at">, openedAt: number): string {
  const minutes = Math.max(0, Math.round((openedAt - d.at) / 60_000));
  return `started ${minutes} min after deploy ${d.version} of ${d.service}`;
}

/**
 * A new version on an endpoint's records: the version of the newest record carrying one, when it
 * is newer than `last` (the version and time seen before) and differs from it, with the time
 * its first record in the batch was seen. Null when nothing changed.
 */
export function versionChange(
  records: readonly { timestamp: number; version?: string | null }[],
  last: { version: string; at: number } | null,
): { version: string; at: number } | null {
  let newest: { version: string; timestamp: number } | null = null;
  for (const r of records)
    if (r.version && (!newest || r.timestamp > newest.timestamp))
      newest = { version: r.version, timestamp: r.timestamp };
  if (!newest || (last && (newest.timestamp <= last.at || newest.version === last.version))) return null;
  const version = newest.version;
  const first = records.reduce(
    (min, r) => (r.version === version && r.timestamp < min ? r.timestamp : min),
    newest.timestamp,
  );
  return { version, at: first };
}
