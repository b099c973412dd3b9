/** Sparklines as inline SVG: a few hundred bytes each, no canvas, no chart library. */
import { h } from "./dom";

/** The `points` attribute of a polyline drawing `values` in a w×h box (max at the top, 0 at the bottom). */
export function sparkPoints(values: number[], w: number, height: number, max = Math.max(0, ...values)): string {
  if (values.length === 0) return "";
  const step = values.length > 1 ? w / (values.length - 1) : 0;
  const scale = max > 0 ? (height - 2) / max : 0;
  return values.map((v, i) => `${(i * step).toFixed(1)},${(height - 1 - v * scale).toFixed(1)}`).join(" ");
}

/** Requests per minute (line) and 5xx (red line, same scale) over the last hour. */
export function sparklineSvg(requests: number[], errors: number[], label: string): SVGSVGElement {
  const w = 120;
  const height = 28;
  const max = Math.max(0, ...requests);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${height}`);
  svg.setAttribute("width", String(w));
  svg.setAttribute("height", String(height));
  svg.setAttribute("class", "spark");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  for (const [values, cls] of [
    [requests, "spark-req"],
    [errors, "spark-err"],
  ] as const) {
    if (cls === "spark-err" && !values.some((v) => v > 0)) continue;
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", sparkPoints(values, w, height, max));
    line.setAttribute("class", cls);
    svg.appendChild(line);
  }
  return svg;
}

/** Placeholder while a row's series loads. */
export function sparkPlaceholder(): HTMLSpanElement {
  return h("span", { class: "spark spark-empty", "aria-hidden": "true" });
}
