/**
 * The endpoint object's event-time clock: the watermark (the newest record's time) and when a
 * live record last arrived. A minute closes when a record at least a minute and a grace later
 * arrives; when an endpoint's records stop coming while it was live (its records near wall-clock
 * time), the alarm closes minutes on wall-clock time instead, so silence is noticed. A replay of
 * old traffic (far behind the wall clock) never runs on wall-clock time, so it gives the same
 * incidents as the live traffic did.
 *
 * Write-behind like the windows: every hand-off moves the clock in memory, `persist` writes it
 * to `meta` with the windows.
 */
import { MINUTE_MS } from "./minute-counts";
import type { ObjectMeta } from "./object-meta";

/** A minute closes this long after its end (event time), for records that arrive slightly out of order. */
export const RECORD_GRACE_MS = MINUTE_MS;
/** On wall-clock time (silence), a minute closes this long after its end. */
export const ALARM_GRACE_MS = 3 * MINUTE_MS;
/**
 * An endpoint is live when its newest record was at most this far behind the wall clock on
 * arrival; less than the alarm's grace, so that a live endpoint's records reach their minute
 * before the wall clock closes it.
 */
export const LIVE_LAG_MS = 2 * MINUTE_MS;
/** After this long without a live record the silence alarm stops. */
export const LIVE_EXPIRY_MS = 3 * 24 * 60 * MINUTE_MS;

export class EventClock {
  /** Ahead of `meta`; loaded from it on first use (undefined: not loaded yet). */
  private clock: { watermark: number | null; liveAt: number } | undefined;

  constructor(private readonly store: ObjectMeta) {}

  private now(): { watermark: number | null; liveAt: number } {
    if (!this.clock) {
      const w = this.store.get("watermark");
      this.clock = { watermark: w === null ? null : Number(w), liveAt: Number(this.store.get("live_at") ?? 0) };
    }
    return this.clock;
  }

  /** The newest record's time, capped at the wall clock for live traffic (null: none yet). */
  watermark(): number | null {
    return this.now().watermark;
  }

  /** Writes the clock to `meta` (an unchanged value writes no row). Call inside the transaction that persists the windows. */
  persist(): void {
    const clock = this.now();
    if (clock.watermark !== null) this.store.set("watermark", String(clock.watermark));
    if (clock.liveAt > 0) this.store.set("live_at", String(clock.liveAt));
  }

  /**
   * Moves the clock after records up to `newest` were added (inside the ingest transaction);
   * `now` is the wall clock for live traffic, null for a replay from D1. The first records start
   * the evaluation at `firstMinute`.
   */
  advance(newest: number, firstMinute: number, now: number | null): void {
    const clock = this.now();
    const current = clock.watermark;
    // A client clock running fast must not close minutes other clients are still sending: live
    // records move the clock at most to the wall clock.
    const capped = now === null ? newest : Math.min(newest, now);
    if (current === null || capped > current) clock.watermark = capped;
    if (this.store.get("last_evaluated") === null) this.store.set("last_evaluated", String(firstMinute - MINUTE_MS));
    if (now !== null && now - Math.max(newest, current ?? 0) <= LIVE_LAG_MS) clock.liveAt = Math.max(clock.liveAt, now);
  }

  /** Whether the silence alarm should keep closing minutes on wall-clock time. */
  isLive(now: number): boolean {
    const liveAt = this.now().liveAt;
    return liveAt > 0 && now - liveAt <= LIVE_EXPIRY_MS;
  }

  /** Forgets the watermark (its `meta` row too), keeping the last live arrival (re-evaluation). */
  reset(): void {
    this.store.delete("watermark");
    this.clock = { watermark: null, liveAt: this.now().liveAt };
  }
}
