// @ts-check
/**
 * The simulator's one-line progress display: elapsed time, requests sent, the status mix and the
 * monitor's current health of the endpoints being degraded. On a terminal the line is rewritten
 * in place; otherwise (a pipe, a log file, a test) a plain line is printed every 10 seconds.
 */

/** Counts of what was sent and how it was answered. */
export class Tally {
  sent = 0;
  /** Generated but not delivered: the in-flight cap was reached, or the monitor refused a batch. */
  dropped = 0;
  /** @type {Record<string, number>} */
  classes = { "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0, err: 0 };
  empty = 0;

  /**
   * One answer: an HTTP status, or null when there was none (network error).
   * @param {number | null} status
   */
  add(status, empty = false) {
    this.sent++;
    if (status === null) this.classes.err++;
    else this.classes[`${Math.floor(status / 100)}xx`] = (this.classes[`${Math.floor(status / 100)}xx`] ?? 0) + 1;
    if (empty) this.empty++;
  }
}

/**
 * `mm:ss`, or `h:mm:ss` from an hour.
 * @param {number} ms
 */
export function clock(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const mm = String(Math.floor(s / 60) % 60).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** @type {(n: number, total: number) => string} */
const pct = (n, total) => (total === 0 ? "0%" : `${((100 * n) / total).toFixed(n / total < 0.1 ? 1 : 0)}%`);

/**
 * The status mix: every class that occurred, with empty 2xx bodies.
 * @param {Tally} tally
 */
export function statusMix(tally) {
  const answered = tally.sent;
  const parts = Object.entries(tally.classes)
    .filter(([, n]) => n > 0)
    .map(([cls, n]) => `${cls} ${pct(n, answered)}`);
  if (tally.empty > 0) parts.push(`empty ${pct(tally.empty, answered)}`);
  return parts.join(" ") || "-";
}

/**
 * @typedef {{ health: string; health_score: number; open_incident_id?: string | null; figures?: Record<string, number | null | undefined> }} EndpointHealth
 * @typedef {{ name: string; endpoint: EndpointHealth | undefined }} WatchedHealth
 */

/**
 * One endpoint's health as `GET /v1/endpoints` reports it, in a few words.
 * @param {EndpointHealth | undefined} endpoint
 */
export function describeHealth(endpoint) {
  if (!endpoint) return "not evaluated yet";
  const f = endpoint.figures ?? {};
  const figures = [];
  if (typeof f.error_rate === "number") figures.push(`5xx ${(100 * f.error_rate).toFixed(1)}%`);
  if (typeof f.p95_ms === "number") figures.push(`p95 ${Math.round(f.p95_ms)} ms`);
  if (typeof f.silent_failure_rate === "number" && f.silent_failure_rate > 0)
    figures.push(`empty ${(100 * f.silent_failure_rate).toFixed(1)}%`);
  if (typeof f.requests_per_minute === "number") figures.push(`${Math.round(f.requests_per_minute)}/min`);
  const incident = endpoint.open_incident_id ? ", incident open" : "";
  return `${endpoint.health} ${Math.round(endpoint.health_score)}${figures.length ? ` (${figures.join(", ")})` : ""}${incident}`;
}

/**
 * The progress line. `health`: `[{name: "GET /search", endpoint | undefined}]`, or null when not polled yet.
 * @param {{ elapsedMs: number; durationMs: number; tally: Tally; health: WatchedHealth[] | null }} state
 */
export function progressLine({ elapsedMs, durationMs, tally, health }) {
  const rate = elapsedMs > 0 ? (tally.sent / (elapsedMs / 60_000)).toFixed(0) : "0";
  const dropped = tally.dropped > 0 ? `, ${tally.dropped} dropped` : "";
  const monitor =
    health === null ? "monitor: -" : health.map((h) => `${h.name}: ${describeHealth(h.endpoint)}`).join(" | ");
  return `[${clock(elapsedMs)}/${clock(durationMs)}] sent ${tally.sent} (${rate}/min${dropped}) | ${statusMix(tally)} | ${monitor}`;
}

/**
 * @typedef {{ update(line: string, force?: boolean): void; done(): void }} Progress
 */

/**
 * Writes progress lines: in place on a TTY, every `everyMs` as plain lines otherwise.
 * @param {NodeJS.WriteStream} [stream]
 * @returns {Progress}
 */
export function createProgress(stream = process.stdout, { everyMs = 10_000 } = {}) {
  const tty = Boolean(stream.isTTY);
  let lastPlain = 0;
  let shown = false;
  return {
    update(line, force = false) {
      if (tty) {
        const width = stream.columns || 160;
        stream.write(`\r\x1b[2K${line.length > width - 1 ? `${line.slice(0, width - 2)}…` : line}`);
        shown = true;
      } else if (force || Date.now() - lastPlain >= everyMs) {
        stream.write(`${line}\n`);
        lastPlain = Date.now();
      }
    },
    /** Ends the in-place line so the next output starts on its own line. */
    done() {
      if (tty && shown) stream.write("\n");
      shown = false;
    },
  };
}
