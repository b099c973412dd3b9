/**
 * What an endpoint object answers about itself: its ingest counters with the last hour of
 * minute buckets (`stats`), and the detection view (`detail`): health, active signals,
 * baselines, the windows as time series and its recent incidents.
 */
import type { Incident } from "../detect/incident";
import type { DetectionRunner } from "./detection-runner";
import { HOUR_MS, MINUTE_MS } from "./minute-counts";
import type { EndpointState } from "./publish";
import type { SeriesPoint } from "./window-rows";
import type { EndpointWindows } from "./windows";

export interface EndpointCounters {
  service: string | null;
  method: string | null;
  route: string | null;
  received: number;
  /** Hand-off RPCs received (several requests' records can share one). */
  handoffs: number;
  duplicates: number;
  late: number;
  flushed: number;
  backlog: number;
  /** Records written through to the R2 archive, those buffered and not yet there, and its failures. */
  archived: number;
  archive_backlog: number;
  archive_failures: number;
  consecutive_archive_failures: number;
  /** Hand-off chunks held in the buffer (until D1 and R2 took them and the dedup window passed). */
  buffered_chunks: number;
  flush_failures: number;
  /** Records D1 refused on their own, kept in the object's quarantine table. */
  quarantined: number;
  /** Rows in the quarantine table now (replayed ones have left it). */
  in_quarantine: number;
  /** "full": the last flush failed because D1 refused writes for capacity (records wait here). */
  storage: "ok" | "full";
  consecutive_flush_failures: number;
  last_flush_at: number | null;
  last_event_at: number | null;
}

export interface EndpointStats extends EndpointCounters {
  minutes: {
    minute: number;
    count: number;
    status_5xx: number;
    status_4xx: number;
    silent_failures: number;
    latency_avg_ms: number;
    latency_max_ms: number;
  }[];
}

export interface EndpointDetail extends EndpointStats {
  /** Newest event time seen (the clock of the windows). */
  watermark: number | null;
  state: EndpointState | null;
  series: { minutes: SeriesPoint[]; hours: SeriesPoint[] };
  incidents: Incident[];
}

export function buildStats(windows: EndpointWindows, counters: EndpointCounters, now = Date.now()): EndpointStats {
  const since = Math.floor((now - HOUR_MS) / MINUTE_MS) * MINUTE_MS;
  const minutes = windows.series(MINUTE_MS, since, Number.MAX_SAFE_INTEGER).map((m) => ({
    minute: m.start,
    count: m.count,
    status_5xx: m.status_5xx,
    status_4xx: m.status_4xx,
    silent_failures: m.silent_failures,
    latency_avg_ms: m.latency_avg_ms,
    latency_max_ms: m.max_ms,
  }));
  return { ...counters, minutes };
}

export function buildDetail(
  stats: EndpointStats,
  windows: EndpointWindows,
  detection: DetectionRunner,
): EndpointDetail {
  return {
    ...stats,
    watermark: detection.watermark(),
    state: detection.endpointState(),
    series: {
      minutes: windows.series(MINUTE_MS, 0, Number.MAX_SAFE_INTEGER),
      hours: windows.series(HOUR_MS, 0, Number.MAX_SAFE_INTEGER),
    },
    incidents: detection.incidents(20),
  };
}
