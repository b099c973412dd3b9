/**
 * The middleware's per-isolate batch of records. Workers must not share a promise between
 * requests (a promise made in one request's context and awaited in another can hang), so this
 * queue holds only plain data and answers each request with what that request should send in its
 * own `waitUntil`: the whole queue when it is full or its oldest record has waited `flushMs`, or
 * nothing, possibly with the job of lingering `flushMs` and then draining (one request at a time
 * holds that job; if it never comes back, as when its isolate was stopped, a later request takes
 * it over). Pure: the clock is passed in.
 */

export interface QueueLimits {
  /** Records per POST. */
  batchSize: number;
  /** How long a record may wait for companions. */
  flushMs: number;
  /** Records held at most; further ones are dropped (and counted) until a send drains the queue. */
  maxQueued: number;
}

export interface PushResult<T> {
  /** Batches this request sends now. */
  batches: T[][];
  /** True when this request should wait `flushMs` and then call `expire` with `token`. */
  linger: boolean;
  token: number;
  dropped: boolean;
}

/** A lingering request that has not come back this long after its deadline is presumed gone. */
const LINGER_GRACE_MS = 5_000;

/** Splits records into batches of at most `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Records waiting to be sent, with the decisions of when to send them. */
export class BatchQueue<T> {
  private items: { record: T; at: number }[] = [];
  private lingerToken = 0;
  private lingerUntil: number | null = null;

  constructor(private readonly limits: QueueLimits) {}

  get size(): number {
    return this.items.length;
  }

  /** Adds a record and says what the request that brought it should send. */
  push(record: T, now: number): PushResult<T> {
    if (this.items.length >= this.limits.maxQueued) {
      return { batches: [], linger: false, token: 0, dropped: true };
    }
    this.items.push({ record, at: now });
    const oldest = this.items[0]?.at ?? now;
    if (this.items.length >= this.limits.batchSize || now - oldest >= this.limits.flushMs) {
      return { batches: this.takeAll(), linger: false, token: 0, dropped: false };
    }
    if (this.lingerUntil === null || now > this.lingerUntil + LINGER_GRACE_MS) {
      this.lingerToken++;
      this.lingerUntil = now + this.limits.flushMs;
      return { batches: [], linger: true, token: this.lingerToken, dropped: false };
    }
    return { batches: [], linger: false, token: 0, dropped: false };
  }

  /** The lingering request is back: everything queued is its to send. */
  expire(token: number): T[][] {
    if (token === this.lingerToken) this.lingerUntil = null;
    return this.takeAll();
  }

  private takeAll(): T[][] {
    const records = this.items.map((i) => i.record);
    this.items = [];
    return chunk(records, this.limits.batchSize);
  }
}
