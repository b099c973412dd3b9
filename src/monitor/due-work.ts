/**
 * The endpoint object's due-work table: each job that needs the object to come back records when
 * it is next due (kind -> time), and the alarm sets ONE alarm for the earliest entry.
 *
 * The table lives in memory only and is rebuilt by each alarm from the jobs' own state (the
 * buffer's backlog, the outbox's rows, the windows' mark ...), which is on disk already: after an
 * eviction the next wake derives it again. It is never written to SQLite, on purpose: each row
 * written is billed, and a row per due change would cost more than the work it schedules (the one
 * durable trace is the alarm itself, one row per setAlarm, see alarm-schedule.ts).
 */

/** The reasons the object comes back. */
export type DueKind =
  /** Buffered records waiting for their flush (or the R2 pass's minute), or a failed flush's retry. */
  | "flush"
  /** Counters waiting for their publish, or a failed publish's retry. */
  | "publish"
  /** A live endpoint's next minute boundary: silent minutes are closed on the wall clock. */
  | "silence"
  /** Windows changed since the last persist. */
  | "checkpoint"
  /** Records waiting for their write-through to R2. */
  | "archive"
  /** The open incident's follow-up (maintenance end, reminder). */
  | "follow-up"
  /** Alert events to fan out, or messages due (or their hand-off to the queue). */
  | "outbox"
  /** Summary rows of hours flushed at the D1 cap that failed to be written. */
  | "capped-summaries";

export class DueWork {
  private readonly due = new Map<DueKind, number>();

  /** Records when `kind` is next due (null: not due; an earlier time already recorded wins). */
  set(kind: DueKind, at: number | null): void {
    if (at === null) return;
    const current = this.due.get(kind);
    if (current === undefined || at < current) this.due.set(kind, at);
  }

  /** Forgets every entry (an alarm starts from the jobs' state, not from the last alarm's table). */
  clear(): void {
    this.due.clear();
  }

  /** When `kind` is due (null: not). */
  get(kind: DueKind): number | null {
    return this.due.get(kind) ?? null;
  }

  /** The earliest entry (null: nothing due), never before `notBefore`. */
  earliest(notBefore: number): number | null {
    if (this.due.size === 0) return null;
    return Math.max(notBefore, Math.min(...this.due.values()));
  }

  /** The table as an object, for logs and tests. */
  entries(): Partial<Record<DueKind, number>> {
    return Object.fromEntries(this.due);
  }
}
