/**
 * The write-behind windows' checkpoint (see windows.ts): the windows changed in memory are
 * persisted with the event-time clock and the mark of the buffer chunks they hold, at most every
 * WINDOWS_PERSIST_MS; on wake the chunks the mark lacks are added back into the windows. Buffer
 * chunks the persisted windows do not hold yet are never pruned.
 */
import { log } from "../lib/log";
import { endpointOf, type MonitorContext } from "./monitor-context";
import type { AbsorbedMark } from "./chunk-contents";
import { AbsorbedMarkSchema, parseStored } from "./stored-json";

/** The windows changed in memory are persisted at most this often (see windows.ts: write-behind). */
export const WINDOWS_PERSIST_MS = 60_000;
/** ...or sooner once this many buckets changed (a backfill touching hours of event time): bounds memory and the replay on wake. */
const WINDOWS_PERSIST_BUCKETS = 120;

export class WindowsCheckpoint {
  /** Chunks committed whose records the windows have not taken yet (detection waits for settings). */
  readonly unabsorbed = new Set<number>();
  /** Which chunks the persisted windows hold (see record-buffer.ts); chunks from `below` on are not pruned. */
  private absorbed: AbsorbedMark = { below: 0, also: [] };
  /** When the windows were last persisted (0: not since the object woke). */
  private persistedAt = 0;

  constructor(private readonly c: MonitorContext) {}

  /** On wake, after the buffer loaded: the mark of the persisted windows. */
  loadMark(): void {
    const mark = this.c.store.get("windows_absorbed");
    if (mark === null) {
      // A new object, or one whose windows were written per hand-off: they hold every chunk.
      this.absorbed = { below: this.c.buffer.next(), also: [] };
      this.c.store.set("windows_absorbed", JSON.stringify(this.absorbed));
    } else this.absorbed = parseStored(AbsorbedMarkSchema, "windows_absorbed", mark);
  }

  /**
   * On wake: adds the buffer chunks the persisted windows lack back into the windows (they were
   * in memory only when the object went away). Nothing is evaluated again.
   */
  async replay(): Promise<void> {
    const chunks = this.c.buffer.windowChunks(this.absorbed);
    const endpoint = endpointOf(this.c.store);
    if (chunks.length === 0 || !endpoint) return;
    const cfg = await this.c.detection.config(endpoint);
    for (const c of chunks) this.c.detection.replay(c.records, c.addedAt, cfg);
    log("info", "windows_replayed", {
      endpoint: this.c.name,
      chunks: chunks.length,
      records: chunks.reduce((n, c) => n + c.records.length, 0),
    });
  }

  /**
   * Persists the windows changed in memory, the event-time clock and the mark of the chunks they
   * hold, in one transaction: at most every WINDOWS_PERSIST_MS unless WINDOWS_PERSIST_BUCKETS
   * changed (`force`: now).
   */
  persist(now: number, force = false): void {
    const { windows } = this.c;
    // Chunks whose records never change the windows (probes, late or duplicate records only) still
    // move the mark, so that they can be pruned: `behind`.
    if (!windows.changed() && !this.behind() && !force) return;
    if (!force && now - this.persistedAt < WINDOWS_PERSIST_MS && windows.changedCount() < WINDOWS_PERSIST_BUCKETS)
      return;
    this.c.storage.transactionSync(() => this.write());
    this.persistedAt = now;
  }

  /**
   * Writes the windows, the clock and the mark inside the caller's transaction (a re-evaluation's
   * page: its windows are then persisted with the engine state the page moved).
   */
  write(): void {
    const { windows, buffer } = this.c;
    const below = Math.min(...this.unabsorbed, buffer.next());
    const mark: AbsorbedMark = { below, also: buffer.seqsFrom(below).filter((seq) => !this.unabsorbed.has(seq)) };
    windows.persist();
    this.c.detection.persistClock();
    this.c.store.set("windows_absorbed", JSON.stringify(mark));
    // Flush marks that waited (a quiet endpoint's flushes save none of their own) go with them.
    buffer.save(Date.now());
    this.absorbed = mark;
  }

  /** Whether chunks were committed and absorbed since the mark was written. */
  private behind(): boolean {
    return Math.min(...this.unabsorbed, this.c.buffer.next()) > this.absorbed.below;
  }

  /** When the windows changed in memory (or the mark behind) are due to be persisted (null: nothing). */
  dueAt(): number | null {
    return this.c.windows.changed() || this.behind() ? this.persistedAt + WINDOWS_PERSIST_MS : null;
  }

  /** Deletes the buffer's chunks D1 and R2 took before the dedup window and the windows hold, folding their counts into `counters`. */
  pruneBuffer(now: number): void {
    const { buffer, store } = this.c;
    const pruned = this.c.storage.transactionSync(() => {
      const out = buffer.prune(now, this.absorbed.below);
      store.fold(out.counts);
      return out;
    });
    pruned.commit();
    buffer.forget(pruned.keys);
    store.unpend(pruned.counts);
  }
}
