/**
 * Who and where an endpoint's traffic comes from: per bucket of time, the top consumers and the
 * top locations (the `region` of a record: the proxy's Cloudflare colo, or what the client sent),
 * each with requests, 5xx, silent failures and a small latency sketch, plus one "other" group.
 *
 * Bounded whatever the traffic: at most TOP_K named groups per dimension (a space-saving
 * heavy-hitters table). When a new name arrives and the table is full, the group with the
 * smallest space-saving weight leaves: its figures move into "other" and the newcomer inherits
 * its weight, so a name that keeps coming climbs back in. The totals are therefore exact
 * (named + other = every record); a named group's figures are exact since it last entered the
 * table (a lower bound), and its `w - n` bounds what it may have lost to "other". Buckets merge
 * by adding figures per name, then keeping the TOP_K largest. Pure.
 */
import { LatencySketch, type SketchData } from "../detect/sketch";

/** Named groups kept per dimension (the rest is "other"). */
export const TOP_K = 20;
/** The breakdown sketches are coarse (4%) and small: 42 of them live in one window row. */
export const GROUP_SKETCH_ACCURACY = 0.04;
export const GROUP_SKETCH_BUCKETS = 48;

/** The breakdown's dimensions. */
export const DIMENSIONS = ["consumer", "region"] as const;
export type Dimension = (typeof DIMENSIONS)[number];

/** Figures of one group, in the stored (compact) form. */
export interface GroupFigures {
  /** Requests, 5xx, silent failures (empty 2xx). */
  n: number;
  e: number;
  s: number;
  /** Latency sketch (accuracy GROUP_SKETCH_ACCURACY). */
  l: SketchData;
}

/** A named group: `k` the name ("" when records did not say), `w` its space-saving weight (>= n). */
export interface NamedGroup extends GroupFigures {
  k: string;
  w: number;
}

export interface DimensionTable {
  top: NamedGroup[];
  other: GroupFigures;
}

export type Breakdown = Record<Dimension, DimensionTable>;

/** What a record contributes (the fields the breakdown reads). */
export interface BreakdownRecord {
  status: number;
  latency_ms: number;
  response_empty: boolean;
  consumer?: string | null;
  region?: string | null;
}

const emptySketch = (): SketchData => ({ a: GROUP_SKETCH_ACCURACY, z: 0, b: [] });
const emptyFigures = (): GroupFigures => ({ n: 0, e: 0, s: 0, l: emptySketch() });

/** A breakdown with no records. */
export function emptyBreakdown(): Breakdown {
  return { consumer: { top: [], other: emptyFigures() }, region: { top: [], other: emptyFigures() } };
}

const sketchOf = (d: SketchData): LatencySketch =>
  LatencySketch.fromJSON(d.a === GROUP_SKETCH_ACCURACY ? d : emptySketch(), GROUP_SKETCH_BUCKETS);

const isSorted = (pairs: readonly [number, number][]): boolean =>
  pairs.every((p, i) => i === 0 || (pairs[i - 1]?.[0] ?? 0) < p[0]);

/**
 * Two stored sketches of the breakdown's accuracy added, on their sorted [index, count] pairs
 * (no LatencySketch objects: this runs on every hand-off). Past GROUP_SKETCH_BUCKETS the lowest
 * buckets collapse into the next one, as LatencySketch does.
 */
function mergeSketch(a: SketchData, b: SketchData): SketchData {
  if (b.z === 0 && b.b.length === 0) return a;
  if (a.z === 0 && a.b.length === 0) return { a: b.a, z: b.z, b: b.b.map((p) => [p[0], p[1]]) };
  const x = isSorted(a.b) ? a.b : [...a.b].sort((p, q) => p[0] - q[0]);
  const y = isSorted(b.b) ? b.b : [...b.b].sort((p, q) => p[0] - q[0]);
  const out: [number, number][] = [];
  let i = 0;
  let j = 0;
  while (i < x.length || j < y.length) {
    const p = x[i];
    const q = y[j];
    if (p && (!q || p[0] < q[0])) {
      out.push([p[0], p[1]]);
      i++;
    } else if (q && (!p || q[0] < p[0])) {
      out.push([q[0], q[1]]);
      j++;
    } else if (p && q) {
      out.push([p[0], p[1] + q[1]]);
      i++;
      j++;
    }
  }
  const excess = out.length - GROUP_SKETCH_BUCKETS;
  if (excess > 0) {
    const moved = out.slice(0, excess).reduce((sum, p) => sum + p[1], 0);
    const rest = out.slice(excess);
    const target = rest[0];
    if (target) target[1] += moved;
    return { a: a.a, z: a.z + b.z, b: rest };
  }
  return { a: a.a, z: a.z + b.z, b: out };
}

/** A stored sketch checked field by field (anything else reads as empty, see parseSketch). */
function sketchData(value: unknown): SketchData {
  const d = (typeof value === "object" && value !== null ? value : {}) as Partial<Record<keyof SketchData, unknown>>;
  if (d.a !== GROUP_SKETCH_ACCURACY) return emptySketch();
  const z = typeof d.z === "number" && Number.isFinite(d.z) && d.z > 0 ? d.z : 0;
  const b = Array.isArray(d.b)
    ? d.b.filter(
        (p): p is [number, number] =>
          Array.isArray(p) && Number.isInteger(p[0]) && typeof p[1] === "number" && Number.isFinite(p[1]) && p[1] > 0,
      )
    : [];
  return { a: GROUP_SKETCH_ACCURACY, z, b };
}

function addFigures(into: GroupFigures, from: GroupFigures): void {
  into.n += from.n;
  into.e += from.e;
  into.s += from.s;
  into.l = mergeSketch(into.l, from.l);
}

/** Groups records by name per dimension (exact figures of one batch). */
function groupBatch(records: readonly BreakdownRecord[], dim: Dimension): Map<string, GroupFigures> {
  const groups = new Map<string, { figures: GroupFigures; sketch: LatencySketch }>();
  for (const r of records) {
    const key = (r[dim] ?? "").slice(0, 128);
    let g = groups.get(key);
    if (!g) {
      g = { figures: emptyFigures(), sketch: new LatencySketch(GROUP_SKETCH_ACCURACY, GROUP_SKETCH_BUCKETS) };
      groups.set(key, g);
    }
    g.figures.n++;
    if (r.status >= 500) g.figures.e++;
    if (r.response_empty && r.status >= 200 && r.status < 300) g.figures.s++;
    g.sketch.add(r.latency_ms);
  }
  return new Map([...groups].map(([k, g]) => [k, { ...g.figures, l: g.sketch.toJSON() }]));
}

/** Space-saving insert of one group's figures into a table (mutates it). */
function insert(table: DimensionTable, key: string, figures: GroupFigures, k: number): void {
  const known = table.top.find((g) => g.k === key);
  if (known) {
    addFigures(known, figures);
    known.w += figures.n;
    return;
  }
  if (table.top.length < k) {
    table.top.push({ k: key, w: figures.n, ...figures });
    return;
  }
  let min = 0;
  for (let i = 1; i < table.top.length; i++) if ((table.top[i]?.w ?? 0) < (table.top[min]?.w ?? 0)) min = i;
  const evicted = table.top[min];
  if (!evicted) return;
  addFigures(table.other, evicted);
  table.top[min] = { k: key, w: evicted.w + figures.n, ...figures };
}

/** The breakdown with a batch of records added (each dimension bounded by `k` named groups). */
export function addRecords(breakdown: Breakdown, records: readonly BreakdownRecord[], k = TOP_K): Breakdown {
  return addRecordsInPlace(structuredClone(breakdown), records, k);
}

/** addRecords on a breakdown the caller owns (just parsed): changes and returns it, without a copy. */
export function addRecordsInPlace(next: Breakdown, records: readonly BreakdownRecord[], k = TOP_K): Breakdown {
  for (const dim of DIMENSIONS) {
    // The batch's biggest groups first: a heavy name of this batch is not evicted by its own light ones.
    const groups = [...groupBatch(records, dim)].sort((a, b) => b[1].n - a[1].n || (a[0] < b[0] ? -1 : 1));
    for (const [key, figures] of groups) insert(next[dim], key, figures, k);
  }
  return next;
}

/** Several buckets' breakdowns as one: figures added per name, the `k` largest kept named, the rest in "other". */
export function mergeBreakdowns(list: readonly Breakdown[], k = TOP_K): Breakdown {
  const out = emptyBreakdown();
  for (const dim of DIMENSIONS) {
    const byKey = new Map<string, NamedGroup>();
    for (const b of list) {
      addFigures(out[dim].other, b[dim].other);
      for (const g of b[dim].top) {
        const known = byKey.get(g.k);
        if (known) {
          addFigures(known, g);
          known.w += g.w;
        } else byKey.set(g.k, structuredClone(g));
      }
    }
    const ranked = [...byKey.values()].sort((a, b) => b.n - a.n || b.e - a.e || (a.k < b.k ? -1 : 1));
    out[dim].top = ranked.slice(0, k);
    for (const g of ranked.slice(k)) addFigures(out[dim].other, g);
  }
  return out;
}

/** A stored breakdown read back defensively (anything malformed reads as empty). */
export function parseBreakdown(text: string | null): Breakdown {
  if (!text) return emptyBreakdown();
  try {
    const data = JSON.parse(text) as Partial<Breakdown>;
    const out = emptyBreakdown();
    for (const dim of DIMENSIONS) {
      const t = data[dim];
      if (!t || !Array.isArray(t.top)) continue;
      const figures = (g: Partial<GroupFigures>): GroupFigures => ({
        n: Number(g.n) || 0,
        e: Number(g.e) || 0,
        s: Number(g.s) || 0,
        l: sketchData(g.l),
      });
      out[dim] = {
        top: t.top.map((g) => ({ k: String(g.k ?? ""), w: Number(g.w) || 0, ...figures(g) })),
        other: figures(t.other ?? {}),
      };
    }
    return out;
  } catch {
    return emptyBreakdown();
  }
}

/** One group as the API shows it. */
export interface GroupView {
  /** The consumer or location; null for records that did not name one, and for "other". */
  name: string | null;
  requests: number;
  status_5xx: number;
  silent_failures: number;
  error_rate: number | null;
  p50_ms: number | null;
  p95_ms: number | null;
  /** For named groups: requests it may have lost to "other" (space-saving error bound). */
  max_undercount?: number;
}

/** One group's figures as the API shows them. */
export function groupView(name: string | null, g: GroupFigures): GroupView {
  const sketch = sketchOf(g.l);
  return {
    name,
    requests: g.n,
    status_5xx: g.e,
    silent_failures: g.s,
    error_rate: g.n > 0 ? g.e / g.n : null,
    p50_ms: sketch.quantile(0.5),
    p95_ms: sketch.quantile(0.95),
  };
}

/** A dimension table as the API shows it: named groups largest first, then "other". */
export function tableView(t: DimensionTable): { top: GroupView[]; other: GroupView; total: GroupView } {
  const total = emptyFigures();
  for (const g of t.top) addFigures(total, g);
  addFigures(total, t.other);
  return {
    top: [...t.top]
      .sort((a, b) => b.n - a.n)
      .map((g) => ({ ...groupView(g.k === "" ? null : g.k, g), max_undercount: g.w - g.n })),
    other: groupView(null, t.other),
    total: groupView(null, total),
  };
}
