import { describe, expect, it } from "vitest";
import {
  formatAgo,
  formatBurn,
  formatBytes,
  formatCount,
  formatDuration,
  formatKind,
  formatMs,
  formatPercent,
  formatRate,
  formatSignalValue,
  formatTime,
  MISSING,
} from "./format";

describe("formatters", () => {
  it("latency", () => {
    expect(formatMs(0.42)).toBe("0.42 ms");
    expect(formatMs(12.44)).toBe("12.4 ms");
    expect(formatMs(850.4)).toBe("850 ms");
    expect(formatMs(1250)).toBe("1.25 s");
    expect(formatMs(12_345)).toBe("12.3 s");
    expect(formatMs(null)).toBe(MISSING);
    expect(formatMs(NaN)).toBe(MISSING);
  });

  it("percentages keep the decimals that matter", () => {
    expect(formatPercent(0)).toBe("0%");
    expect(formatPercent(0.00001)).toBe("< 0.01%");
    expect(formatPercent(0.0025)).toBe("0.25%");
    expect(formatPercent(0.042)).toBe("4.2%");
    expect(formatPercent(0.62)).toBe("62%");
    expect(formatPercent(0.615)).toBe("61.5%");
    expect(formatPercent(0.995)).toBe("99.5%");
    expect(formatPercent(0.9995)).toBe("99.95%");
    expect(formatPercent(1)).toBe("100%");
    expect(formatPercent(undefined)).toBe(MISSING);
  });

  it("counts, rates, burn rates and bytes", () => {
    expect(formatCount(16380)).toBe("16,380");
    expect(formatCount(16380, true)).toBe("16.4k");
    expect(formatCount(4_500_000, true)).toBe("4.5M");
    expect(formatRate(40)).toBe("40/min");
    expect(formatRate(0.5)).toBe("0.5/min");
    expect(formatRate(6)).toBe("6/min");
    expect(formatRate(12_000)).toBe("12.0k/min");
    expect(formatBurn(19.99)).toBe("20x");
    expect(formatBurn(1.26)).toBe("1.3x");
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatBytes(2 * 1024 * 1024)).toBe("2.0 MB");
  });

  it("durations and relative times", () => {
    expect(formatDuration(45_000)).toBe("45 s");
    expect(formatDuration(12 * 60_000)).toBe("12 min");
    expect(formatDuration(185 * 60_000)).toBe("3 h 5 min");
    expect(formatDuration(2 * 3_600_000)).toBe("2 h");
    expect(formatDuration(52 * 3_600_000)).toBe("2 d 4 h");
    const now = 1_800_000_000_000;
    expect(formatAgo(now - 10_000, now)).toBe("just now");
    expect(formatAgo(now - 5 * 60_000, now)).toBe("5 min ago");
    expect(formatAgo(now + 2 * 60_000, now)).toBe("in 2 min");
    expect(formatAgo(null, now)).toBe(MISSING);
  });

  it("local times", () => {
    const t = new Date(2026, 10, 30, 2, 5, 9).getTime();
    expect(formatTime(t)).toBe("2026-11-30 02:05:09");
    expect(formatTime(t, true)).toBe("02:05:09");
  });

  it("signal values follow their unit", () => {
    expect(formatKind("error_rate_threshold")).toBe("error rate threshold");
    expect(formatSignalValue(0.595, "ratio")).toBe("59.5%");
    expect(formatSignalValue(2100, "ms")).toBe("2.10 s");
    expect(formatSignalValue(14.4, "burn_rate")).toBe("14x");
    expect(formatSignalValue(8, "per_minute")).toBe("8/min");
    expect(formatSignalValue(3, "count")).toBe("3");
    expect(formatSignalValue(null, "count")).toBe(MISSING);
  });
});
