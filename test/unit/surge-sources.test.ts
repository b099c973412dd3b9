/**
 * Who sends a surge (src/breakdown/surge-sources.ts): the consumers whose requests per minute rose
 * the most, named when a few of them hold most of the extra requests; a surge spread over every
 * consumer names nothing.
 */
import { describe, expect, it } from "vitest";
import { surgeSources } from "../../src/breakdown/surge-sources";
import { emptyBreakdown, type Breakdown } from "../../src/breakdown/top-k";

/** A breakdown whose consumers sent `requests` each (no other dimension named). */
function consumers(requests: Record<string, number>, other = 0): Breakdown {
  const b = emptyBreakdown();
  const figures = (n: number) => ({ n, e: 0, s: 0, l: { a: 0.02, z: 0, b: [] as [number, number][] } });
  b.consumer.top = Object.entries(requests).map(([k, n]) => ({ k, w: n, ...figures(n) }));
  b.consumer.other = figures(other);
  b.region.other = figures(Object.values(requests).reduce((s, n) => s + n, other));
  return b;
}

describe("surge sources", () => {
  const before = { breakdown: consumers({ app: 600, web: 600, ios: 600 }), minutes: 60 };

  it("names the consumer that sent most of the extra requests, with its rate now and before", () => {
    const during = { breakdown: consumers({ app: 50, web: 50, ios: 50, "bot-7": 250 }), minutes: 5 };
    const [c, ...rest] = surgeSources(during, before);
    expect(rest).toEqual([]);
    expect(c).toMatchObject({
      dimension: "consumer",
      metric: "requests",
      names: ["bot-7"],
      rate: 50,
      rate_elsewhere: 0,
    });
    expect(c?.share).toBeCloseTo(50 / 50, 6);
    expect(c?.text).toBe("consumer bot-7 sent 100% of the extra requests (50/min, usually 0.0/min)");
  });

  it("names nothing when every consumer rose alike, or when there is no surge", () => {
    const alike = { breakdown: consumers({ app: 200, web: 200, ios: 200 }), minutes: 5 };
    expect(surgeSources(alike, before)).toEqual([]);
    const steady = { breakdown: consumers({ app: 50, web: 50, ios: 50 }), minutes: 5 };
    expect(surgeSources(steady, before)).toEqual([]);
  });

  it("names up to three consumers together when no one of them holds the share", () => {
    const during = { breakdown: consumers({ app: 50, a: 120, b: 110, c: 100, d: 20 }), minutes: 5 };
    const [c] = surgeSources(during, { breakdown: consumers({ app: 600 }), minutes: 60 });
    expect(c?.names).toEqual(["a", "b"]);
    expect(c?.text).toMatch(
      /^consumers a and b sent \d+% of the extra requests \(46\/min together, usually 0\.0\/min\)$/,
    );
  });
});
