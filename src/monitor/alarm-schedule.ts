/**
 * The endpoint object's one alarm: set only when it would fire earlier than the pending one
 * (each setAlarm is billed as one SQLite row written), and the time of the pending alarm kept
 * in memory so that a hand-off does not ask storage each time.
 */
import type { CostMeter } from "../cost/counts";

export class AlarmSchedule {
  /** When the pending alarm is known to fire (null: unknown, ask storage). */
  private alarmAt: number | null = null;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly meter: CostMeter,
  ) {}

  /** The alarm fired: whether another is pending is unknown until asked. */
  fired(): void {
    this.alarmAt = null;
  }

  /** Makes sure an alarm fires at `at` or earlier (`keepPending`: only when none is pending). */
  async schedule(at: number, keepPending = false): Promise<void> {
    if (this.alarmAt !== null && (this.alarmAt <= at || keepPending)) return;
    const current = await this.storage.getAlarm();
    if (current === null || (current > at && !keepPending)) {
      await this.setCounted(at);
      this.alarmAt = at;
    } else {
      this.alarmAt = current;
    }
  }

  /** When the pending alarm fires (null: none is pending). */
  async pendingAt(): Promise<number | null> {
    if (this.alarmAt !== null) return this.alarmAt;
    this.alarmAt = await this.storage.getAlarm();
    return this.alarmAt;
  }

  /** Sets the alarm at `at` whatever is pending (a flush's backoff moves it later too). */
  async setAt(at: number): Promise<void> {
    this.alarmAt = at;
    await this.setCounted(at);
  }

  private async setCounted(at: number): Promise<void> {
    // Each setAlarm is billed as one SQLite row written.
    this.meter.add({ do_rows_written: 1 });
    await this.storage.setAlarm(at);
  }
}
