/**
 * The daily profile in the endpoint object: learnt from the traffic posted to `POST /v1/logs`,
 * kept in a meta row of its own (rewritten only when an hour closes), not inside the engine
 * state that is rewritten at every evaluation.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { endpointStub } from "./helpers";
import { send, traffic } from "./traffic";

interface Profile {
  traffic: number[][];
  latency: number[][];
  hours: number;
  last_hour?: number;
}

describe("daily profile in the endpoint object", () => {
  it("learns one level per closed hour into its own row, bounded to 24 slots", async () => {
    const service = "season-row";
    const { records } = traffic(service, [{ minutes: 26 * 60, perMinute: 2 }]);
    await send(records);
    const stub = endpointStub(service, "GET", "/orders/:id");
    const rows = await runInDurableObject(stub, (_i, state) => {
      const get = (key: string): string | null =>
        state.storage.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0]?.value ??
        null;
      return { profile: get("season_profile"), engine: get("engine_state") };
    });
    expect(rows.profile).not.toBeNull();
    const profile = JSON.parse(rows.profile ?? "null") as Profile;
    // 26 hours of records: at least 24 hours closed (the first and last may be partial).
    expect(profile.hours).toBeGreaterThanOrEqual(24);
    expect(profile.traffic).toHaveLength(24);
    expect(profile.traffic.every((days) => days.length >= 1 && days.length <= 2)).toBe(true);
    // About 2 requests a minute: log1p(2).
    for (const days of profile.traffic) for (const v of days) expect(v).toBeCloseTo(Math.log1p(2), 0);
    // The engine state row holds the hour being summed, not the profile.
    const engine = JSON.parse(rows.engine ?? "{}") as { season?: unknown; detectors: { season?: { hour: number } } };
    expect(engine.season).toBeUndefined();
    expect(engine.detectors.season?.hour).toBeGreaterThan(0);
  });

  it("keeps the profile through a re-evaluation, without learning the replayed hours twice", async () => {
    const service = "season-reeval";
    const { records } = traffic(service, [{ minutes: 26 * 60, perMinute: 2 }]);
    await send(records);
    const stub = endpointStub(service, "GET", "/orders/:id");
    const read = () =>
      runInDurableObject(
        stub,
        (_i, state) =>
          JSON.parse(
            state.storage.sql
              .exec<{ value: string }>("SELECT value FROM meta WHERE key = 'season_profile'")
              .toArray()[0]?.value ?? "null",
          ) as Profile | null,
      );
    const before = await read();
    expect(before?.hours).toBeGreaterThanOrEqual(24);
    expect(before?.last_hour).toBeGreaterThan(0);
    const result = await stub.reevaluate(180, { service, method: "GET", route: "/orders/:id" });
    expect(result.records).toBeGreaterThan(0);
    // Before: the reset deleted the profile and the replay relearnt three hours of it from scratch.
    expect(await read()).toEqual(before);
  });
});
