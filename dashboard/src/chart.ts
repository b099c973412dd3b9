/**
 * Time-series charts on uPlot (canvas, about 20 KB gzip, draws 10,000 points in a few
 * milliseconds): lines with gaps for empty buckets, a horizontal baseline band (the endpoint's
 * learnt ±2σ range), incident spans shaded behind the lines (red CRITICAL, amber WARNING),
 * maintenance windows hatched in blue along the bottom, and deploy markers as labelled dashed
 * vertical lines in violet.
 */
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { h } from "./dom";
import { formatMs, formatRate } from "./format";
import type { Marker, Span, WindowBand } from "./series";

export interface Line {
  label: string;
  values: (number | null)[];
  color: string;
  dash?: number[];
}

export interface ChartSpec {
  title: string;
  /** How the y values read: latency in ms, a percentage, requests per minute. */
  unit: "ms" | "%" | "rpm";
  lines: Line[];
  band?: { low: number; high: number; label: string } | null;
  spans?: Span[];
  /** Maintenance windows (a hatched band at the bottom of the plot). */
  windows?: WindowBand[];
  /** Deploys (a dashed vertical line labelled with the version). */
  markers?: Marker[];
  /** Text for screen readers: what the chart shows in one sentence. */
  summary: string;
  height?: number;
}

const SPAN_FILL: Record<string, string> = { CRITICAL: "rgba(220, 38, 38, 0.13)", WARNING: "rgba(217, 119, 6, 0.13)" };
const SPAN_EDGE: Record<string, string> = { CRITICAL: "rgba(220, 38, 38, 0.8)", WARNING: "rgba(217, 119, 6, 0.8)" };

function formatY(unit: ChartSpec["unit"], v: number): string {
  if (unit === "ms") return formatMs(v);
  if (unit === "rpm") return formatRate(v);
  return `${Number(v.toPrecision(3))}%`;
}

function spansPlugin(spans: Span[]): uPlot.Plugin {
  return {
    hooks: {
      drawClear: (u) => {
        const { ctx } = u;
        const { top, height } = u.bbox;
        for (const s of spans) {
          const x0 = u.valToPos(s.start / 1000, "x", true);
          const x1 = u.valToPos(s.end / 1000, "x", true);
          ctx.fillStyle = SPAN_FILL[s.severity] ?? SPAN_FILL.WARNING ?? "";
          ctx.fillRect(x0, top, Math.max(2, x1 - x0), height);
          ctx.fillStyle = SPAN_EDGE[s.severity] ?? SPAN_EDGE.WARNING ?? "";
          ctx.fillRect(x0, top, Math.max(1, devicePixelRatio * 1.5), height);
        }
      },
    },
  };
}

const WINDOW_FILL = "rgba(37, 99, 235, 0.10)";
const WINDOW_EDGE = "rgba(37, 99, 235, 0.85)";
const MARKER = "rgba(124, 58, 237, 0.95)";

/** Maintenance windows behind the lines, deploy markers over them. */
function contextPlugin(windows: WindowBand[], markers: Marker[]): uPlot.Plugin {
  return {
    hooks: {
      drawClear: (u) => {
        const { ctx } = u;
        const { top, height } = u.bbox;
        const px = devicePixelRatio;
        for (const w of windows) {
          const x0 = u.valToPos(w.start / 1000, "x", true);
          const x1 = u.valToPos(w.end / 1000, "x", true);
          ctx.fillStyle = WINDOW_FILL;
          ctx.fillRect(x0, top, Math.max(2, x1 - x0), height);
          // A solid strip along the bottom with diagonal hatching: readable without colour.
          ctx.fillStyle = WINDOW_EDGE;
          ctx.fillRect(x0, top + height - 4 * px, Math.max(2, x1 - x0), 4 * px);
          ctx.save();
          ctx.beginPath();
          ctx.rect(x0, top, Math.max(2, x1 - x0), height);
          ctx.clip();
          ctx.strokeStyle = "rgba(37, 99, 235, 0.18)";
          ctx.lineWidth = px;
          for (let x = x0 - height; x < x1; x += 10 * px) {
            ctx.beginPath();
            ctx.moveTo(x, top + height);
            ctx.lineTo(x + height, top);
            ctx.stroke();
          }
          ctx.restore();
        }
      },
      draw: (u) => {
        const { ctx } = u;
        const { top, height, left, width } = u.bbox;
        const px = devicePixelRatio;
        ctx.save();
        ctx.font = `${11 * px}px system-ui, sans-serif`;
        ctx.textBaseline = "top";
        ctx.textAlign = "left";
        for (const m of markers) {
          const x = u.valToPos(m.at / 1000, "x", true);
          if (x < left || x > left + width) continue;
          ctx.strokeStyle = MARKER;
          ctx.lineWidth = 1.5 * px;
          ctx.setLineDash([4 * px, 3 * px]);
          ctx.beginPath();
          ctx.moveTo(x, top);
          ctx.lineTo(x, top + height);
          ctx.stroke();
          ctx.setLineDash([]);
          const label = `deploy ${m.label}`;
          const w = ctx.measureText(label).width;
          const tx = Math.min(x + 3 * px, left + width - w - 2 * px);
          ctx.fillStyle = "rgba(255, 255, 255, 0.85)";
          ctx.fillRect(tx - px, top + 2 * px, w + 2 * px, 13 * px);
          ctx.fillStyle = MARKER;
          ctx.fillText(label, tx, top + 3 * px);
        }
        ctx.restore();
      },
    },
  };
}

/** A live chart: destroy it when its page goes away. */
export interface Chart {
  el: HTMLElement;
  plot: uPlot;
  destroy(): void;
}

/** Draws a chart of `x` (seconds) into a new figure; the figure is returned with the plot. */
export function timeChart(x: number[], spec: ChartSpec, width?: number): Chart {
  const holder = h("div", { class: "chart-canvas" });
  const el = h(
    "figure",
    { class: "chart", role: "group", "aria-label": spec.title },
    h("figcaption", null, spec.title),
    h("p", { class: "sr-only" }, spec.summary),
    holder,
  );
  const data: (number | null)[][] = [x, ...spec.lines.map((l) => l.values)];
  const value = (_u: uPlot, v: number | null) => (v === null ? "–" : formatY(spec.unit, v));
  const series: uPlot.Series[] = [
    {},
    ...spec.lines.map((l) => ({ label: l.label, stroke: l.color, width: 1.5, dash: l.dash, value })),
  ];
  const bands: uPlot.Band[] = [];
  if (spec.band) {
    const hi = data.length;
    data.push(
      x.map(() => spec.band?.high ?? null),
      x.map(() => spec.band?.low ?? null),
    );
    series.push(
      // One legend entry for the band: its upper edge carries the label, the lower edge is hidden there (style.css).
      {
        label: spec.band.label,
        stroke: "rgba(100, 116, 139, 0.6)",
        width: 1,
        dash: [4, 4],
        points: { show: false },
        value: () => `${formatY(spec.unit, spec.band?.low ?? 0)} – ${formatY(spec.unit, spec.band?.high ?? 0)}`,
      },
      {
        label: `${spec.band.label} low`,
        class: "band-low",
        stroke: "rgba(100, 116, 139, 0.6)",
        width: 1,
        dash: [4, 4],
        points: { show: false },
      },
    );
    bands.push({ series: [hi, hi + 1], fill: "rgba(100, 116, 139, 0.12)" });
  }
  const opts: uPlot.Options = {
    width: width ?? 600,
    height: spec.height ?? 200,
    series,
    bands,
    scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] } },
    axes: [
      { stroke: "#64748b", grid: { stroke: "rgba(100,116,139,0.15)" } },
      {
        stroke: "#64748b",
        size: 64,
        grid: { stroke: "rgba(100,116,139,0.15)" },
        values: (_u, vals) => vals.map((v) => formatY(spec.unit, v)),
      },
    ],
    legend: { live: true },
    cursor: { drag: { x: false, y: false } },
    plugins: [
      ...(spec.spans?.length ? [spansPlugin(spec.spans)] : []),
      ...(spec.windows?.length || spec.markers?.length ? [contextPlugin(spec.windows ?? [], spec.markers ?? [])] : []),
    ],
  };
  const plot = new uPlot(opts, data as uPlot.AlignedData, holder);
  let observer: ResizeObserver | null = null;
  if (width === undefined && typeof ResizeObserver !== "undefined") {
    observer = new ResizeObserver(() => {
      const w = Math.floor(holder.clientWidth);
      if (w > 0 && Math.abs(w - plot.width) > 1) plot.setSize({ width: w, height: opts.height });
    });
    observer.observe(holder);
  }
  return {
    el,
    plot,
    destroy() {
      observer?.disconnect();
      plot.destroy();
    },
  };
}

/**
 * Renders a chart of `n` points (three lines, a band, an incident span) off screen and answers
 * how long it took, drawing included (ms): the browser test checks the 100 ms budget for 10,000
 * points with it.
 */
export async function benchChart(n: number): Promise<number> {
  const now = Math.floor(Date.now() / 1000);
  const x = Array.from({ length: n }, (_, i) => now - (n - i) * 60);
  const wave = (i: number, k: number) => 80 * k + 20 * Math.sin(i / 50) + ((i * 7919) % 13);
  // Styled through the CSSOM: the dashboard's CSP refuses style attributes.
  const host = h("div");
  Object.assign(host.style, { position: "absolute", left: "-10000px", top: "0", width: "1000px" });
  document.body.appendChild(host);
  const start = performance.now();
  const chart = timeChart(
    x,
    {
      title: "bench",
      unit: "ms",
      summary: "bench",
      lines: [
        { label: "p50", values: x.map((_, i) => wave(i, 1)), color: "#2563eb" },
        { label: "p95", values: x.map((_, i) => wave(i, 2)), color: "#d97706" },
        { label: "p99", values: x.map((_, i) => wave(i, 3)), color: "#dc2626" },
      ],
      band: { low: 150, high: 190, label: "baseline" },
      spans: [
        { id: "bench", start: (x[n >> 1] ?? 0) * 1000, end: (x[n - 1] ?? 0) * 1000, severity: "CRITICAL", open: true },
      ],
    },
    1000,
  );
  host.appendChild(chart.el);
  // uPlot draws in a microtask queued by its constructor: this await runs after it.
  await Promise.resolve();
  const elapsed = performance.now() - start;
  if (chart.plot.status !== 1) throw new Error("the chart did not draw");
  chart.destroy();
  host.remove();
  return elapsed;
}
