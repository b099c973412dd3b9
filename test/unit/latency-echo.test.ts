import { describe, expect, it } from "vitest";
import { MINUTE, SimEndpoint, openings } from "./endpoint-sim";

const WARM = 6 * 60;

// A minute or two of slow requests stays in every 5-minute latency window for 5 minutes: five
// overlapping views of the same few requests (z clipped at 4 added 3 a minute, and 15 is a drift), not five minutes of evidence of a drift (the
// `periodic-bursts` control of the scenario suite opened a WARNING this way in seed 3).
describe("latency baseline and one slow minute", () => {
  it("opens nothing for two minutes at 1.4-1.5x the usual latency on a steady 20 requests/min endpoint", () => {
    const found: string[] = [];
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      for (const median of [110, 120]) {
        const e = new SimEndpoint(seed);
        expect(openings(e.run(WARM, () => ({ rate: 20 })))).toEqual([]);
        const evs = [...e.run(2, () => ({ rate: 20, median })), ...e.run(40, () => ({ rate: 20 }))];
        for (const ev of openings(evs))
          found.push(
            `seed ${seed}, median ${median}: ${(ev.minute - e.start) / MINUTE} ${ev.signals.map((s) => s.kind).join(",")}`,
          );
      }
    }
    expect(found).toEqual([]);
  });
});
