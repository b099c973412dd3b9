/**
 * The cost of reading the engine state back with zod (src/monitor/engine-state-rows.ts) against
 * the cast it replaced (JSON.parse alone): a state after `days` simulated days of a daily cycle
 * with an open incident (the daily profile full), read `n` times each way. Run by
 * bench/engine-state-parse.mjs.
 */
import { readEngineState, readSeasonProfile } from "../../src/monitor/engine-state-rows";
import { HOUR, SimEndpoint } from "../../test/unit/endpoint-sim";

export interface ParseCost {
  engine_state_bytes: number;
  season_profile_bytes: number;
  /** Microseconds per read, the best of `rounds`. */
  us: Record<"cast_engine_state" | "zod_engine_state" | "cast_season_profile" | "zod_season_profile", number>;
}

/** Measures both reads of a realistic stored state. */
export function measureParse(days: number, n: number, rounds: number): ParseCost {
  const e = new SimEndpoint(1);
  e.run(days * 1440, (t) => ({ rate: 60 + 40 * Math.sin((2 * Math.PI * t) / (24 * HOUR)) }));
  e.run(30, () => ({ rate: 60, p5xx: 0.3 }));
  if (!e.state.machine.open || !e.state.season) throw new Error("the simulated state has no open incident or profile");
  const { season, ...rest } = e.state;
  const engine = JSON.stringify(rest);
  const profile = JSON.stringify(season);
  const best = (read: () => unknown): number => {
    let min = Number.POSITIVE_INFINITY;
    for (let r = 0; r < rounds; r++) {
      const t = performance.now();
      for (let i = 0; i < n; i++) read();
      min = Math.min(min, ((performance.now() - t) * 1000) / n);
    }
    return Math.round(min * 10) / 10;
  };
  return {
    engine_state_bytes: engine.length,
    season_profile_bytes: profile.length,
    us: {
      cast_engine_state: best(() => JSON.parse(engine)),
      zod_engine_state: best(() => readEngineState(engine)),
      cast_season_profile: best(() => JSON.parse(profile)),
      zod_season_profile: best(() => readSeasonProfile(profile)),
    },
  };
}
