import { describe, expect, it } from "vitest";
import {
  admissionSettings,
  DEFAULT_ROUTE_BURST,
  DEFAULT_ROUTE_RATE_PER_HOUR,
  refill,
  showsRouteExists,
  touchIntervalMs,
} from "../../src/monitor/route-admission";

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

describe("route admission rules", () => {
  it("a response shows its route exists unless it is 404, 405, 410, 414, 431, 501 or the origin did not answer", () => {
    for (const status of [200, 201, 204, 301, 304, 400, 401, 403, 409, 422, 429, 500, 503])
      expect(showsRouteExists(status, true)).toBe(true);
    for (const status of [404, 405, 410, 414, 431, 501]) expect(showsRouteExists(status, true)).toBe(false);
    expect(showsRouteExists(502, false)).toBe(false);
    expect(showsRouteExists(504, false)).toBe(false);
  });

  it("the token bucket starts full, refills at the hourly rate and never above the burst", () => {
    const s = { ratePerHour: 60, burst: 5 };
    const first = refill(null, 1000, s);
    expect(first).toEqual({ tokens: 5, at: 1000 });
    expect(refill({ tokens: 0, at: 0 }, 30 * 60 * 1000, { ratePerHour: 60, burst: 100 }).tokens).toBeCloseTo(30);
    expect(refill({ tokens: 0, at: 0 }, 30 * 60 * 1000, { ratePerHour: 6, burst: 5 }).tokens).toBeCloseTo(3);
    expect(refill({ tokens: 4, at: 0 }, 10 * HOUR, s).tokens).toBe(5);
    // A clock that goes back does not take tokens.
    expect(refill({ tokens: 2, at: 5000 }, 1000, s).tokens).toBe(2);
  });

  it("reads the env with defaults for missing or invalid values", () => {
    expect(admissionSettings({}, 500)).toEqual({
      maxRoutes: 500,
      ttlMs: 30 * DAY,
      ratePerHour: DEFAULT_ROUTE_RATE_PER_HOUR,
      burst: DEFAULT_ROUTE_BURST,
    });
    expect(
      admissionSettings(
        { MAX_ROUTES_PER_SERVICE: "7", ROUTE_TTL_DAYS: "2", PROXY_ROUTES_PER_HOUR: "10", PROXY_ROUTES_BURST: "4" },
        500,
      ),
    ).toEqual({ maxRoutes: 7, ttlMs: 2 * DAY, ratePerHour: 10, burst: 4 });
    expect(
      admissionSettings({ MAX_ROUTES_PER_SERVICE: "-1", ROUTE_TTL_DAYS: "x", PROXY_ROUTES_BURST: "0" }, 500),
    ).toMatchObject({ maxRoutes: 500, ttlMs: 30 * DAY, burst: DEFAULT_ROUTE_BURST });
  });

  it("an isolate touches a route in use at most daily and well inside the TTL", () => {
    expect(touchIntervalMs(30 * DAY)).toBe(DAY);
    expect(touchIntervalMs(2 * DAY)).toBe(DAY / 2);
  });
});
