/**
 * Correlation of signals into an endpoint's health, and the deterministic rules that score it
 * and recommend an action. One weak signal gives WARNING; CRITICAL needs a page-level burn rate
 * or two independent families of signals (latency, availability, silent failures,
 * inconsistencies, traffic) that agree in time, i.e. both fired within AGREEMENT_MINUTES. `info`
 * signals (4xx) and `ticket` ones (slow error-budget burn) never change health. Services roll up their endpoints, the system its services.
 * Pure.
 */
import type { Action, Health, Signal, SignalFamily } from "./types";

/** Two families agree in time when both fired within this many minutes of event time. */
export const AGREEMENT_MINUTES = 10;

/** The event-time minute at which each family last fired. */
export type RecentFamilies = Partial<Record<SignalFamily, number>>;

export interface Assessment {
  health: Health;
  /** 0 (nothing wrong) .. 1 (as bad as it gets). */
  severity_score: number;
  /** 100 (healthy) .. 0. */
  health_score: number;
  action: Action;
  /** Families that count as agreeing at this minute. */
  families: SignalFamily[];
  recent: RecentFamilies;
}

const RANK: Record<Health, number> = { NORMAL: 0, WARNING: 1, CRITICAL: 2 };

export function worse(a: Health, b: Health): Health {
  return RANK[a] >= RANK[b] ? a : b;
}

/** Health, scores and action of one endpoint at `minute` (event time). */
export function assess(signals: readonly Signal[], recent: RecentFamilies, minute: number): Assessment {
  const weighty = signals.filter((s) => s.level === "warning" || s.level === "page");
  const nextRecent: RecentFamilies = { ...recent };
  // A surge explains trouble rather than agreeing with it as an independent family, and a
  // consumer past its objective is part of the endpoint's own figures, not independent of them.
  for (const s of weighty) if (s.kind !== "traffic_surge" && s.family !== "consumer") nextRecent[s.family] = minute;
  const since = minute - AGREEMENT_MINUTES * 60_000;
  const agreeing = (Object.entries(nextRecent) as [SignalFamily, number][])
    .filter(([, at]) => at > since)
    .map(([f]) => f);
  const page = weighty.some((s) => s.level === "page");
  let health: Health = "NORMAL";
  if (weighty.length > 0) health = page || agreeing.length >= 2 ? "CRITICAL" : "WARNING";
  const strongest = Math.max(0, ...weighty.map((s) => s.strength));
  const infoOnly = signals.length > 0 && weighty.length === 0;
  const severity =
    health === "CRITICAL"
      ? 0.7 + 0.3 * Math.min(1, strongest + 0.1 * (agreeing.length - 1))
      : health === "WARNING"
        ? 0.35 + 0.3 * strongest
        : infoOnly
          ? 0.1
          : 0;
  const severity_score = Math.round(severity * 1000) / 1000;
  return {
    health,
    severity_score,
    health_score: Math.round(100 * (1 - severity_score)),
    action: recommend(health, weighty),
    families: health === "NORMAL" ? [] : agreeing,
    recent: nextRecent,
  };
}

/**
 * The recommended action:
 * - NORMAL: CONTINUE.
 * - CRITICAL: HALT when the endpoint is effectively down (traffic stopped, or a 5xx rate of 50% or
 *   more), otherwise ESCALATE.
 * - WARNING: RETRY for 5xx (transient server errors: retry with backoff), REPROCESS for silent
 *   failures or inconsistencies (answers that looked fine were not: redo the affected work),
 *   ESCALATE for a traffic drop or stop (someone should look upstream), CONTINUE for latency alone
 *   (slower but serving; watch it).
 */
export function recommend(health: Health, signals: readonly Signal[]): Action {
  if (health === "NORMAL") return "CONTINUE";
  const has = (f: SignalFamily): boolean => signals.some((s) => s.family === f);
  if (health === "CRITICAL") {
    const down = signals.some(
      (s) => s.kind === "traffic_stop" || (s.family === "availability" && s.unit === "ratio" && s.observed >= 0.5),
    );
    return down ? "HALT" : "ESCALATE";
  }
  if (has("availability")) return "RETRY";
  if (has("silent") || has("consistency")) return "REPROCESS";
  if (has("traffic") || has("probe")) return "ESCALATE";
  return "CONTINUE";
}

export interface RollupItem {
  health: Health;
  severity_score: number;
}

/** A service from its endpoints, or the system from its services: the worst health and score. */
export function rollup(items: readonly RollupItem[]): {
  health: Health;
  severity_score: number;
  health_score: number;
  counts: Record<Health, number>;
} {
  const counts: Record<Health, number> = { NORMAL: 0, WARNING: 0, CRITICAL: 0 };
  let health: Health = "NORMAL";
  let severity = 0;
  for (const i of items) {
    counts[i.health]++;
    health = worse(health, i.health);
    severity = Math.max(severity, i.severity_score);
  }
  return { health, severity_score: severity, health_score: Math.round(100 * (1 - severity)), counts };
}
