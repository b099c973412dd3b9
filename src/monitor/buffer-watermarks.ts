/**
 * The endpoint buffer's marks (buffer-marks.ts) as the buffer keeps them: in memory, saved to
 * their `meta` row when they must be and otherwise with the next save that happens anyway, and
 * the marks' own questions (the counts carried with them, the hours flushed at the D1 cap). The
 * base of RecordBuffer, which moves the marks as D1, R2 and the pruning take its chunks: the
 * marks' API is the buffer's, and the jobs keep calling it on the buffer.
 */
import type { Position } from "./buffer-batches";
import { cappedWrittenAt, withTaken, type Marks, type Unsaved } from "./buffer-marks";
import type { Counts } from "./chunk-codec";
import type { ChunkTable } from "./chunk-table";
import type { PoisonedRow } from "./flush";
import { BufferMarksSchema, parseStored } from "./stored-json";

/** How long flushed keys are remembered to recognise a retried hand-off. */
export const DEDUP_WINDOW_MS = 15 * 60 * 1000;

export class BufferWatermarks {
  protected marks: Marks = { d1: { seq: 0, offset: 0 }, r2: 0 };
  /**
   * Whether `marks` moved since they were saved, and how urgently they must be. A replayable move
   * waits for the next save that happens anyway (the once-a-minute windows persist, the next R2
   * pass, a prune): a quiet endpoint's flush then writes no row of its own.
   */
  protected unsaved: Unsaved = "none";

  /** `archived`: chunks wait for the R2 watermark too (the archive is bound). */
  constructor(
    protected readonly table: ChunkTable,
    private readonly archived: boolean,
  ) {}

  /** Reads the saved marks (on wake). */
  protected loadMarks(): void {
    const saved = this.table.readMarks();
    if (saved !== null) this.marks = parseStored(BufferMarksSchema, "buffer_marks", saved);
  }

  /**
   * D1 took the batch up to `to`, `flushed` rows of it (rows `poisoned` refused on their own go to
   * the quarantine, and then the marks are saved with them). In memory until `save` otherwise.
   */
  markFlushed(to: Position, poisoned: readonly PoisonedRow[], at: number, flushed = 0, replayable = false): void {
    for (const p of poisoned) this.table.quarantine(p, at);
    const moved = to.seq !== this.marks.d1.seq || to.offset !== this.marks.d1.offset;
    if (!moved && flushed === 0) return;
    this.marks = {
      ...this.marks,
      d1: to,
      flushed: (this.marks.flushed ?? 0) + flushed,
      flushed_at: flushed > 0 ? at : this.marks.flushed_at,
    };
    this.moved(replayable && poisoned.length === 0 ? "replayable" : "must");
    if (poisoned.length > 0) this.save(at);
  }

  /** R2 took every chunk before `next`, `archived` rows (in memory until a save: a lost mark means the saved pass is retried). */
  markArchived(next: number, archived = 0): void {
    if (next <= this.marks.r2 && archived === 0) return;
    const r2 = Math.max(next, this.marks.r2);
    const pass = this.marks.r2_pass && this.marks.r2_pass[1] > r2 ? this.marks.r2_pass : undefined;
    this.marks = { ...this.marks, r2, archived: (this.marks.archived ?? 0) + archived, r2_pass: pass };
    this.moved("replayable");
  }

  protected moved(how: Exclude<Unsaved, "none">): void {
    if (this.unsaved !== "must") this.unsaved = how;
  }

  /** Saves the marks when they moved (one row written). */
  save(at: number): void {
    if (this.unsaved !== "none") this.saveMarks(this.marks, at);
  }

  /** Saves the marks only when losing them would not be a mere re-send (see `Unsaved`). */
  saveRequired(at: number): void {
    if (this.unsaved === "must") this.saveMarks(this.marks, at);
  }

  /** The counts kept with the marks (`flushed`, `archived`), for the object's counters. */
  carried(): Counts {
    return { flushed: this.marks.flushed ?? 0, archived: this.marks.archived ?? 0 };
  }

  /** Hours flushed at the D1 cap (saved with the flush's marks, so an eviction does not forget them). */
  addCappedHours(hours: readonly number[]): void {
    const known = new Set(this.marks.capped ?? []);
    const fresh = hours.filter((h) => !known.has(h));
    if (fresh.length === 0) return;
    this.marks = { ...this.marks, capped: [...known, ...fresh] };
    this.moved("must");
  }

  /** Hours flushed at the D1 cap still waiting for their summary rows. */
  cappedHours(): number[] {
    return [...(this.marks.capped ?? [])];
  }

  /** Their summary rows are written at `now`: moved to `capped_written` (saved with the next marks). */
  clearCappedHours(hours: readonly number[], now: number): void {
    this.marks = cappedWrittenAt(this.marks, hours, now);
    this.moved("must");
  }

  /** Hours among `hours` whose summary row the object wrote (a flush of raw rows of them must write it again). */
  cappedWritten(hours: readonly number[]): number[] {
    const written = new Set(this.marks.capped_written ?? []);
    return hours.filter((h) => written.has(h));
  }

  /** Whether any hour's summary row was written by the object (so flushes look at their hours). */
  hasCappedWritten(): boolean {
    return (this.marks.capped_written?.length ?? 0) > 0;
  }

  /** When D1 last took a batch from this buffer (null: not since the marks kept it). */
  lastFlushAt(): number | null {
    return this.marks.flushed_at ?? null;
  }

  /** Chunks before this seq were taken by D1 (and R2 when it counts). */
  private takenCut(marks: Marks): number {
    return this.archived ? Math.min(marks.d1.seq, marks.r2) : marks.d1.seq;
  }

  protected saveMarks(next: Marks, at: number): void {
    this.marks = this.writeMarks(next, at);
    this.unsaved = "none";
  }

  /** Writes `next` (its `taken` list brought up to date at `at`) and returns what was written; memory is the caller's. */
  protected writeMarks(next: Marks, at: number): Marks {
    // Stamped no earlier than now: a mark moved during the caller's I/O was taken after its `at`.
    const marks = withTaken(next, this.takenCut(next), Math.max(at, Date.now()), DEDUP_WINDOW_MS);
    this.table.writeMarks(JSON.stringify(marks));
    return marks;
  }
}
