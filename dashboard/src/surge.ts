/** The endpoint page's line about a traffic surge, from the endpoint's signals. */
import type { Signal } from "../../src/api-types";
import { formatPercent } from "./format";

/** "Traffic surge: 80 requests/min over 5 minutes (4.0x the usual 20/min), ...", or null without a surge. */
export function surgeText(signals: readonly Signal[]): string | null {
  const s = signals.find((x) => x.kind === "traffic_surge");
  if (!s || s.observed === null) return null;
  const ratio = s.baseline ? ` (${(s.observed / s.baseline).toFixed(1)}x the usual ${Math.round(s.baseline)}/min)` : "";
  const trouble = s.level === "warning" ? ", with latency, errors or 429s rising" : "";
  const limited = s.rate_limited
    ? `, ${formatPercent(s.rate_limited.share)} of requests answered 429 (usually ${formatPercent(s.rate_limited.usual)})`
    : "";
  return `Traffic surge: ${Math.round(s.observed)} requests/min over 5 minutes${ratio}${trouble}${limited}.`;
}
