/** Formatters for figures and times as the dashboard shows them. Pure; missing values are an en dash. */

export const MISSING = "–";

function finite(v: number | null | undefined): v is number {
  return typeof v === "number" && Number.isFinite(v);
}

/** Latency: `850 ms`, `1.25 s`, `12.4 ms` for small values, `0.42 ms` under one. */
export function formatMs(v: number | null | undefined): string {
  if (!finite(v)) return MISSING;
  if (v >= 10_000) return `${(v / 1000).toFixed(1)} s`;
  if (v >= 1000) return `${(v / 1000).toFixed(2)} s`;
  if (v >= 100) return `${Math.round(v)} ms`;
  if (v >= 1) return `${v.toFixed(1)} ms`;
  return `${v.toFixed(2)} ms`;
}

/** A ratio (0..1) as a percentage with sensible precision: `0%`, `0.25%`, `4.2%`, `62%`. */
export function formatPercent(ratio: number | null | undefined): string {
  if (!finite(ratio)) return MISSING;
  const p = ratio * 100;
  if (p === 0) return "0%";
  const abs = Math.abs(p);
  if (abs < 0.01) return p < 0 ? "> −0.01%" : "< 0.01%";
  if (abs < 1) return `${p.toFixed(2)}%`;
  if (abs < 10) return `${p.toFixed(1)}%`;
  // Near 100% the decimals matter (99.5% vs 99.95%).
  if (abs >= 99 && abs < 100) return `${Number(p.toFixed(2))}%`;
  return `${Number(p.toFixed(1))}%`;
}

/** A count with thousands separators, or a short form (`12.3k`, `4.5M`) when `short`. */
export function formatCount(v: number | null | undefined, short = false): string {
  if (!finite(v)) return MISSING;
  if (short && Math.abs(v) >= 1_000_000) return `${(v / 1_000_000).toFixed(1)}M`;
  if (short && Math.abs(v) >= 10_000) return `${(v / 1000).toFixed(1)}k`;
  return Math.round(v).toLocaleString("en-US");
}

/** A rate per minute: `40/min`, `0.5/min`. */
export function formatRate(perMinute: number | null | undefined): string {
  if (!finite(perMinute)) return MISSING;
  if (perMinute >= 100) return `${formatCount(perMinute, true)}/min`;
  if (perMinute >= 10) return `${Math.round(perMinute)}/min`;
  return `${Number(perMinute.toFixed(1))}/min`;
}

/** A burn rate: `20x`, `1.3x`. */
export function formatBurn(v: number | null | undefined): string {
  if (!finite(v)) return MISSING;
  return v >= 10 ? `${Math.round(v)}x` : `${v.toFixed(1)}x`;
}

/** Bytes: `512 B`, `1.5 KB`, `2.0 MB`. */
export function formatBytes(v: number | null | undefined): string {
  if (!finite(v)) return MISSING;
  if (v < 1024) return `${v} B`;
  if (v < 1024 * 1024) return `${(v / 1024).toFixed(1)} KB`;
  return `${(v / 1024 / 1024).toFixed(1)} MB`;
}

/** A duration in ms as `45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`. */
export function formatDuration(ms: number | null | undefined): string {
  if (!finite(ms)) return MISSING;
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

/** How long ago `t` was, from `now`: `just now`, `5 min ago`, `in 2 min` for the future. */
export function formatAgo(t: number | null | undefined, now: number): string {
  if (!finite(t)) return MISSING;
  const diff = now - t;
  if (Math.abs(diff) < 30_000) return "just now";
  return diff > 0 ? `${formatDuration(diff)} ago` : `in ${formatDuration(-diff)}`;
}

/** A local date and time: `2026-11-30 14:05:09`, or the time only when `timeOnly`. */
export function formatTime(t: number | null | undefined, timeOnly = false): string {
  if (!finite(t)) return MISSING;
  const d = new Date(t);
  const pad = (n: number) => String(n).padStart(2, "0");
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return timeOnly ? time : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

/** The text of a signal kind: `error_rate_threshold` → `error rate threshold`. */
export function formatKind(kind: string): string {
  return kind.replace(/_/g, " ");
}

/** A signal's observed value in its unit. */
export function formatSignalValue(v: number | null | undefined, unit: string): string {
  if (unit === "ratio") return formatPercent(v);
  if (unit === "ms") return formatMs(v);
  if (unit === "burn_rate") return formatBurn(v);
  if (unit === "per_minute") return formatRate(v);
  if (!finite(v)) return MISSING;
  return Number(v.toPrecision(3)).toString();
}
