/**
 * The service context the charts draw: its maintenance windows and deploy markers (read key), and
 * a text legend of them under the charts (the canvas draws them; the text says them).
 */
import { api } from "../api";
import { h } from "../dom";
import { formatTime } from "../format";
import type { Marker, WindowBand } from "../series";
import type { Deploy, MaintenanceWindow } from "../../../src/api-types";

/** The service's windows (the last 7 days and ahead) and its deploys of [from, to). */
export async function loadServiceContext(
  service: string,
  from: number,
  to: number,
  signal: AbortSignal,
): Promise<{ windows: MaintenanceWindow[]; deploys: Deploy[] }> {
  const s = encodeURIComponent(service);
  const [m, d] = await Promise.all([
    api<{ windows: MaintenanceWindow[] }>(`/v1/maintenance?service=${s}&include_ended=true`, { signal }),
    api<{ deploys: Deploy[] }>(`/v1/deploys?service=${s}&from=${from}&to=${to}&limit=200`, { signal }),
  ]);
  return { windows: m.windows, deploys: d.deploys };
}

/** "Deploys: v1.42 at 12:03 · Maintenance: 11:00 – 13:00 (db upgrade)", or nothing. */
export function contextLegend(windows: WindowBand[], markers: Marker[]): HTMLElement | null {
  if (windows.length === 0 && markers.length === 0) return null;
  return h(
    "p",
    { class: "chart-context" },
    markers.length
      ? h(
          "span",
          { class: "legend-deploy" },
          `Deploys: ${markers.map((m) => `${m.label} at ${formatTime(m.at)}`).join(", ")}`,
        )
      : null,
    markers.length && windows.length ? " · " : null,
    windows.length
      ? h(
          "span",
          { class: "legend-maintenance" },
          `Maintenance: ${windows.map((w) => `${formatTime(w.start)} – ${formatTime(w.end)} (${w.label})`).join(", ")}`,
        )
      : null,
  );
}
