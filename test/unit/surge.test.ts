import { describe, expect, it } from "vitest";
import { DEFAULT_DETECTION } from "../../src/detect/config";
import { emptyEngineState, evaluateMinute, type EngineState, type Evaluation } from "../../src/detect/evaluate";
import { SURGE_LEARN_AFTER_MINUTES, SURGE_MINUTES, emptySurge, surgeStep } from "../../src/detect/surge";
import { emptyTotals, type LatencySample, type Snapshot, type Totals } from "../../src/detect/types";

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);

type MinuteOpts = { p95?: number; status_5xx?: number; status_4xx?: number; status_429?: number };

/** A minute-by-minute endpoint through the real detectors, health and incidents (Poisson-free: exact counts). */
class Endpoint {
  private readonly history: Totals[] = [];
  state: EngineState = emptyEngineState();

  /** `status_4xx` are the 4xx other than 429 (2% unless given); 429s are 4xx too. */
  minute(count: number, opts: MinuteOpts = {}): Evaluation {
    const status_429 = opts.status_429 ?? 0;
    this.history.push({
      ...emptyTotals(),
      count,
      status_5xx: opts.status_5xx ?? 0,
      status_4xx: (opts.status_4xx ?? Math.round(count * 0.02)) + status_429,
      status_429,
    });
    const last = (n: number): Totals => {
      const out = emptyTotals();
      for (const t of this.history.slice(-n)) for (const k of Object.keys(out) as (keyof Totals)[]) out[k] += t[k];
      return out;
    };
    const p95 = opts.p95 ?? 200;
    const latency: LatencySample = {
      window_minutes: 5,
      count: last(5).count,
      p50: p95 / 2,
      p95,
      p99: p95 * 1.5,
      max: p95 * 2,
    };
    const snapshot: Snapshot = {
      minute_start: T0 + (this.history.length - 1) * MINUTE,
      minute: last(1),
      w5: last(5),
      w15: last(15),
      w30: last(30),
      w60: last(60),
      w360: last(360),
      w3d: last(4320),
      latency,
    };
    const ev = evaluateMinute(this.state, snapshot, DEFAULT_DETECTION, { service: "svc", method: "GET", route: "/x" });
    this.state = ev.state;
    return ev;
  }

  run(n: number, count: number | ((i: number) => number), opts: MinuteOpts = {}): Evaluation[] {
    return Array.from({ length: n }, (_, i) => this.minute(typeof count === "function" ? count(i) : count, opts));
  }
}

const surgeOf = (d: Evaluation | undefined) => d?.signals.find((s) => s.kind === "traffic_surge");
const kinds = (list: Evaluation[]) => new Set(list.flatMap((d) => d.signals.map((s) => s.kind)));

describe("surgeStep", () => {
  it("needs SURGE_MINUTES minutes in a row at 3x, with volume", () => {
    let state = emptySurge();
    const out = [];
    for (let i = 0; i < 7; i++) {
      const step = surgeStep(state, {
        minute_start: T0 + i * MINUTE,
        minute: { ...emptyTotals(), count: 70 },
        w5: { ...emptyTotals(), count: 70 * Math.min(5, i + 1) },
        expected: 20,
      });
      state = step.state;
      out.push(step);
    }
    expect(out.map((s) => s.surge !== null)).toEqual([false, false, false, false, true, true, true]);
    expect(out[SURGE_MINUTES - 1]?.surge).toEqual({ observed: 70, expected: 20, since: T0 });
    expect(out.every((s) => s.hold)).toBe(true);
    // Quiet endpoints never surge: 3x of 1 request/min is not enough volume.
    const quiet = surgeStep(
      { run: 10, since: T0 },
      { minute_start: T0, minute: { ...emptyTotals(), count: 4 }, w5: { ...emptyTotals(), count: 20 }, expected: 1 },
    );
    expect(quiet.surge).toBeNull();
    // During warm-up (no learnt level) nothing is judged.
    expect(surgeStep(state, { minute_start: T0, minute: emptyTotals(), w5: emptyTotals(), expected: null })).toEqual({
      state: emptySurge(),
      surge: null,
      hold: false,
    });
  });
});

describe("traffic surges in detect", () => {
  it("shows a 3x surge for 5 minutes as an info signal; no health change; no drop when it ends", () => {
    const e = new Endpoint();
    e.run(120, 20);
    const during = e.run(15, 60);
    expect(surgeOf(during[SURGE_MINUTES - 2])).toBeUndefined();
    const shown = surgeOf(during[SURGE_MINUTES - 1]);
    expect(shown).toMatchObject({ level: "info", family: "traffic", unit: "per_minute", window: "5m" });
    expect(shown?.observed).toBe(60);
    expect(shown?.baseline).toBeGreaterThan(18);
    expect(shown?.baseline).toBeLessThan(22);
    expect(during.slice(SURGE_MINUTES).every((d) => surgeOf(d)?.level === "info")).toBe(true);
    // The baseline did not learn the surge, so the return to normal is no drop.
    const after = e.run(60, 20);
    expect(kinds(after).has("traffic_drop")).toBe(false);
    expect(kinds(after).has("traffic_surge")).toBe(false);
  });

  it("a surge with latency rising 1.3x is a warning that names it", () => {
    const e = new Endpoint();
    e.run(120, 20, { p95: 200 });
    const during = e.run(10, 70, { p95: 260 });
    const s = surgeOf(during.at(-1));
    expect(s?.level).toBe("warning");
  });

  it("a 3x surge with 429s rising opens a WARNING incident whose explanation names the surge and the 429s", () => {
    const e = new Endpoint();
    // 429s are usual here (1 in 20, 5%): a rate limiter at work on a normal day.
    e.run(120, 20, { status_429: 1 });
    const during = e.run(10, 70, { status_429: 20 });
    const s = surgeOf(during.at(-1));
    expect(s?.level).toBe("warning");
    expect(s?.rate_limited?.share).toBeCloseTo(20 / 70, 5);
    expect(s?.rate_limited?.usual).toBeCloseTo(0.05, 2);
    const opened = during.filter((d) => d.change === "opened");
    expect(opened).toHaveLength(1);
    const incident = during.at(-1)?.incident;
    expect(incident).toMatchObject({ severity: "WARNING", status: "open" });
    expect(incident?.signals.map((x) => x.kind)).toEqual(["traffic_surge"]);
    expect(incident?.explanation).toMatch(
      /^Warning: Traffic to GET \/x surged to 70 requests\/min, 3\.\dx its usual 2\d requests\/min, over \d+ min, with 29% of requests answered 429 Too Many Requests \(usually 5\.\d%\)/,
    );
  });

  it("a 3x surge with a steady share of 429s (and of other 4xx) stays an info signal and opens no incident", () => {
    const e = new Endpoint();
    e.run(120, 20, { status_429: 1 });
    const during = e.run(15, 60, { status_429: 3 });
    expect(surgeOf(during.at(-1))).toMatchObject({ level: "info" });
    expect(surgeOf(during.at(-1))?.rate_limited).toBeUndefined();
    expect(during.every((d) => d.assessment.health === "NORMAL" && d.incident === null)).toBe(true);
  });

  it("a surge with other 4xx rising (a scanner's 404s) stays info: only 429s say the endpoint turns load away", () => {
    const e = new Endpoint();
    e.run(120, 20);
    const during = e.run(10, 70, { status_4xx: 20 });
    expect(surgeOf(during.at(-1))?.level).toBe("info");
    expect(during.some((d) => d.change === "opened")).toBe(false);
  });

  it("a lasting surge becomes the new level", () => {
    const e = new Endpoint();
    e.run(120, 20);
    const during = e.run(SURGE_LEARN_AFTER_MINUTES + 120, 80);
    expect(surgeOf(during[10])).toBeDefined();
    expect(surgeOf(during.at(-1))).toBeUndefined();
  });

  it("a slow daily ramp (5x over three hours) is no surge", () => {
    const e = new Endpoint();
    e.run(120, 10);
    const ramp = e.run(180, (i) => Math.round(10 * 5 ** (i / 180)));
    expect(kinds(ramp).has("traffic_surge")).toBe(false);
  });
});
