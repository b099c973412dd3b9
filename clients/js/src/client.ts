/**
 * The client's core, for apps on Node (or any runtime with the fetch API): records go into a
 * bounded in-memory queue and one background sender POSTs them to the monitor's `/v1/logs` in
 * batches, when `batchSize` are waiting or the oldest has waited `flushMs`. Nothing on the app's
 * request path waits on the monitor: `record()` only pushes (or drops and counts when the queue is
 * full), and every failure is retried with backoff and jitter, then counted, never thrown. Every
 * record carries an `id` (`crypto.randomUUID()`), so a batch retried after a lost answer is stored
 * once. Timers do not keep the process alive; the queue is flushed when Node is about to exit, and
 * `shutdown()` flushes it on demand (bounded in time).
 */
import { clamp, logWarning, MAX_BODY_BYTES, readVerdict } from "./answer.js";
import { backoffDelay, isRetryableStatus, retryAfterMs } from "./backoff.js";
import { SERVICE_NAME, type MonitorRecord } from "./request-record.js";
import { backgroundTimer, nodeProcess, sleep } from "./runtime.js";

export interface ClientOptions {
  /** The monitor's ingest URL, e.g. `https://monitor.example/v1/logs`. */
  endpoint: string;
  /** The service name the records are filed under (1-64 of `A-Z a-z 0-9 . _ -`). */
  service: string;
  /** An ingest key of the monitor (`INGEST_KEYS`), sent as `Authorization: Bearer`. */
  ingestKey?: string;
  /** Records per POST (1-500, default 100). */
  batchSize?: number;
  /** How long a record may wait for a fuller batch, in ms (default 1,000). */
  flushMs?: number;
  /** Records held at most; further ones are dropped and counted (default 10,000). */
  maxQueue?: number;
  /** A send that has not answered after this long is abandoned, in ms (default 5,000). */
  timeoutMs?: number;
  /** Retries of a failed batch (0-10, default 3): network errors, timeouts, 408, 429 and 5xx. */
  maxRetries?: number;
  /** First retry waits up to this long, doubling each time (full jitter), in ms (default 500). */
  backoffMs?: number;
  /** Longest wait between retries, in ms (default 30,000). */
  maxBackoffMs?: number;
  /** Extra redaction after the built-in one: return a changed record, or null to not send it. */
  redact?: (record: MonitorRecord) => MonitorRecord | null;
  /** The adapters redact email addresses before sending (default true; the monitor's `REDACT_EMAILS` applies again on arrival). */
  redactEmails?: boolean;
  /** Flush when Node is about to exit on its own (`beforeExit`; default true). */
  flushOnExit?: boolean;
  /** The fetch to send with (default the global one). */
  fetch?: typeof fetch;
}

/** The client's counters since it was created. */
export interface ClientStats {
  recorded: number;
  sent: number;
  /** Records whose batch failed after its retries. */
  failed: number;
  /** Records the monitor answered as rejected (invalid). */
  rejected: number;
  /** Records not queued because the queue was full. */
  dropped: number;
  /** Retries made. */
  retries: number;
  /** Records waiting now. */
  queued: number;
}

/** A batch send's outcome: sent (with some rejected), worth retrying (after `waitMs`), or failed for good. */
type Outcome =
  | { kind: "done"; rejected: number; reasons: string[] }
  | { kind: "retry"; waitMs?: number; why: string }
  | { kind: "fail"; why: string };

/** Reports records to the edge monitor in the background (see docs/clients.md, "Client package"). */
export class MonitorClient {
  readonly service: string;
  /** Whether the adapters' records have emails redacted (`redactEmails`). */
  readonly redactEmails: boolean;
  private readonly url: string;
  private readonly headers: Record<string, string>;
  private readonly batchSize: number;
  private readonly flushMs: number;
  private readonly maxQueue: number;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly fetchFn: typeof fetch;
  private readonly redact: ClientOptions["redact"];
  private queue: MonitorRecord[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private flushDue = false;
  private sending: Promise<void> | null = null;
  private readonly counts = { recorded: 0, sent: 0, failed: 0, rejected: 0, dropped: 0, retries: 0 };
  private readonly onExit = (): void => {
    if (this.queue.length > 0) void this.shutdown();
  };

  constructor(options: ClientOptions) {
    if (!SERVICE_NAME.test(options.service))
      throw new TypeError("edge-monitor-client: service must be 1-64 characters of A-Z a-z 0-9 . _ -");
    this.url = new URL(options.endpoint).toString();
    this.service = options.service;
    this.redactEmails = options.redactEmails ?? true;
    this.headers = options.ingestKey
      ? { "Content-Type": "application/json", Authorization: `Bearer ${options.ingestKey}` }
      : { "Content-Type": "application/json" };
    this.batchSize = clamp(options.batchSize, 1, 500, 100);
    this.flushMs = clamp(options.flushMs, 0, 60_000, 1_000);
    this.maxQueue = clamp(options.maxQueue, 1, 1_000_000, 10_000);
    this.timeoutMs = clamp(options.timeoutMs, 1, 60_000, 5_000);
    this.maxRetries = clamp(options.maxRetries, 0, 10, 3);
    this.backoffMs = clamp(options.backoffMs, 0, 60_000, 500);
    this.maxBackoffMs = clamp(options.maxBackoffMs, 0, 300_000, 30_000);
    this.fetchFn = options.fetch ?? ((input, init) => fetch(input, init));
    this.redact = options.redact;
    if (options.flushOnExit !== false) nodeProcess()?.once("beforeExit", this.onExit);
  }

  /** Queues one record (an `id` is added when it has none); never throws, never waits. */
  record(input: MonitorRecord): void {
    try {
      const withId: MonitorRecord = input.id === undefined ? { ...input, id: crypto.randomUUID() } : input;
      const record = this.redact ? this.redact(withId) : withId;
      if (!record) return;
      this.counts.recorded++;
      if (this.queue.length >= this.maxQueue) {
        this.counts.dropped++;
        return;
      }
      this.queue.push(record);
      if (this.queue.length >= this.batchSize) void this.kick();
      else if (this.timer === null) this.arm();
    } catch (err) {
      this.counts.dropped++;
      logWarning("edge_monitor_record_failed", this.service, { records: 1 }, err);
    }
  }

  /** Sends everything queued now; resolves when it was sent or given up on. Never rejects. */
  async flush(): Promise<void> {
    this.flushDue = true;
    while (this.sending !== null || (this.flushDue && this.queue.length > 0)) await this.kick();
    this.flushDue = false;
  }

  /** Flushes, waiting at most `timeoutMs` (default 10,000), and stops flushing on exit. */
  async shutdown(timeoutMs = 10_000): Promise<void> {
    const p = nodeProcess();
    p?.removeListener("beforeExit", this.onExit);
    let timer: ReturnType<typeof setTimeout> | undefined;
    // A ref'd timer: the process waits for the flush or the deadline, whichever comes first.
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([this.flush(), deadline]);
    if (timer !== undefined) clearTimeout(timer);
  }

  /** The counters since the client was created. */
  stats(): ClientStats {
    return { ...this.counts, queued: this.queue.length };
  }

  private arm(): void {
    this.timer = backgroundTimer(() => {
      this.timer = null;
      this.flushDue = true;
      void this.kick();
    }, this.flushMs);
  }

  /** Starts the sender unless it runs; answers its promise (which never rejects). */
  private kick(): Promise<void> {
    if (this.sending === null) {
      this.sending = this.drain().finally(() => {
        this.sending = null;
        if (this.queue.length >= this.batchSize || (this.flushDue && this.queue.length > 0)) void this.kick();
        else if (this.queue.length > 0 && this.timer === null) this.arm();
      });
    }
    return this.sending;
  }

  /** Sends full batches, and everything queued when a flush was due; one batch in flight at a time. */
  private async drain(): Promise<void> {
    let due = this.flushDue ? this.queue.length : 0;
    this.flushDue = false;
    while (this.queue.length >= this.batchSize || (due > 0 && this.queue.length > 0)) {
      const batch = this.queue.splice(0, this.batchSize);
      due -= batch.length;
      await this.sendWithRetries(batch);
    }
  }

  private async sendWithRetries(batch: MonitorRecord[]): Promise<void> {
    const body = JSON.stringify(batch);
    if (batch.length > 1 && new TextEncoder().encode(body).byteLength > MAX_BODY_BYTES) {
      const half = Math.ceil(batch.length / 2);
      await this.sendWithRetries(batch.slice(0, half));
      await this.sendWithRetries(batch.slice(half));
      return;
    }
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.sendOnce(body);
      if (outcome.kind === "done") {
        this.counts.sent += batch.length - outcome.rejected;
        this.counts.rejected += outcome.rejected;
        // Refused records are never sent again (a retry would be refused the same way): said once.
        if (outcome.rejected > 0)
          logWarning("edge_monitor_records_rejected", this.service, {
            records: outcome.rejected,
            errors: outcome.reasons,
          });
        return;
      }
      if (outcome.kind === "fail" || attempt >= this.maxRetries) {
        this.counts.failed += batch.length;
        logWarning("edge_monitor_send_failed", this.service, { records: batch.length }, outcome.why);
        return;
      }
      this.counts.retries++;
      const jittered = backoffDelay(attempt, this.backoffMs, this.maxBackoffMs);
      await sleep(Math.min(this.maxBackoffMs, Math.max(jittered, outcome.waitMs ?? 0)));
    }
  }

  private async sendOnce(body: string): Promise<Outcome> {
    const abort = new AbortController();
    const timer = backgroundTimer(
      () => abort.abort(new Error(`no answer within ${this.timeoutMs} ms`)),
      this.timeoutMs,
    );
    try {
      const res = await this.fetchFn(this.url, { method: "POST", headers: this.headers, body, signal: abort.signal });
      const text = await res.text();
      // A 2xx, or a 400 `invalid_records` (the batch arrived, every record refused): done either way.
      const verdict = readVerdict(res.status, text);
      if (verdict !== null) return { kind: "done", ...verdict };
      if (res.ok) return { kind: "done", rejected: 0, reasons: [] };
      const why = `the monitor answered ${res.status}: ${text.slice(0, 200)}`;
      return isRetryableStatus(res.status)
        ? { kind: "retry", waitMs: retryAfterMs(res.headers.get("Retry-After"), Date.now()), why }
        : { kind: "fail", why };
    } catch (err) {
      return { kind: "retry", why: err instanceof Error ? err.message : String(err) };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A client for the monitor at `options.endpoint` (see `ClientOptions`). */
export function createClient(options: ClientOptions): MonitorClient {
  return new MonitorClient(options);
}
