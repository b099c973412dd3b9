/**
 * Copies what detection changed in the endpoint object to D1: its incidents and the endpoint's
 * health row (state, counters, backlog, cost). A changed state (every closed minute) or incident
 * is published at the next alarm; counters and backlog alone at most every PUBLISH_EVERY_MS.
 *
 * Its JSON in `meta` is parsed with zod (endpoint-state-schema.ts, src/lib/stored-schema.ts): a
 * state that does not parse is logged and dropped (the next evaluation stores a fresh one; nothing
 * is published from it meanwhile), a `published` row that does not parse reads as nothing
 * published (counters are published again, which rewrites it).
 */
import * as z from "zod";
import { StoredCountsSchema, type CostCounts } from "../cost/counts";
import type { Endpoint } from "../detect/incident";
import type { Evaluation } from "../detect/evaluate";
import type { RequestMetrics } from "../metrics/request-counters";
import type { IncidentRows } from "./incident-rows";
import { parseStoredOrNull, shapeOf } from "../lib/stored-schema";
import { EndpointStateSchema } from "./endpoint-state-schema";
import type { ObjectMeta } from "./object-meta";
import { backlogMark, publishState, type Baselines, type EndpointState, type PublishedCounters } from "./publish";

/**
 * Counters and backlog alone (no evaluation changed the state) are published at most this often:
 * a publish is a D1 write and rows in the object, and a busy endpoint flushes several times a
 * minute. A changed state (every closed minute) or incident is published at the next alarm.
 */
export const PUBLISH_EVERY_MS = 60_000;

/** What the last publish published (`published` in `meta`): the backlog mark, the request counters as JSON, the cost. */
export interface PublishedMark {
  backlog?: string;
  metrics?: string;
  cost?: Partial<CostCounts>;
}

const PublishedMarkSchema: z.ZodType<PublishedMark> = z.looseObject(
  shapeOf<PublishedMark>()({
    backlog: z.string().optional(),
    metrics: z.string().optional(),
    cost: StoredCountsSchema.optional(),
  }),
);

export class DetectionPublisher {
  /** Counters or backlog changed since their last publish (in memory: a wake publishes them again anyway). */
  private countsChanged = false;
  /** When this object last published (0: not since it woke). */
  private publishedAt = 0;

  constructor(
    private readonly sql: SqlStorage,
    private readonly store: ObjectMeta,
    private readonly incidents: IncidentRows,
    private readonly db: () => D1Database,
  ) {}

  /** Stores the endpoint's state after the evaluation `ev`, for the next publish. */
  stage(ev: Evaluation, endpoint: Endpoint, baselines: Baselines): void {
    const state: EndpointState = {
      ...endpoint,
      health: ev.assessment.health,
      severity_score: ev.assessment.severity_score,
      health_score: ev.assessment.health_score,
      action: ev.assessment.action,
      signals: ev.signals,
      figures: ev.figures,
      baselines,
      open_incident_id: ev.state.machine.open?.id ?? null,
      slower_than_default_objective: baselines.objective?.slower_than_default_objective ?? false,
      evaluated_at: ev.minute,
    };
    this.store.set("endpoint_state", JSON.stringify(state));
    this.store.set("state_dirty", "1");
  }

  /** The endpoint's state after its last evaluation (null: none yet). */
  endpointState(): EndpointState | null {
    const raw = this.store.get("endpoint_state");
    if (raw === null) return null;
    const state = parseStoredOrNull(EndpointStateSchema, "endpoint_state", raw);
    if (state === null) {
      // Dropped: nothing waits on it, and the next evaluation stores a fresh one.
      this.store.delete("endpoint_state");
      this.store.set("state_dirty", "0");
      this.countsChanged = false;
    }
    return state;
  }

  /** What the last publish published: the backlog mark, the request counters and the cost (one `meta` row). */
  private published(): PublishedMark {
    const raw = this.store.get("published");
    return (raw === null ? null : parseStoredOrNull(PublishedMarkSchema, "published", raw)) ?? {};
  }

  /** Whether D1 is behind (changed incidents or state not yet written, or counters due at `now`). */
  needsSync(now = Date.now()): boolean {
    if (this.countsChanged && now - this.publishedAt >= PUBLISH_EVERY_MS) return true;
    return this.store.get("state_dirty") === "1" || this.incidents.anyDirty();
  }

  /** When counters that changed are due for publishing (null: nothing waits). */
  countsDueAt(): number | null {
    return this.countsChanged ? this.publishedAt + PUBLISH_EVERY_MS : null;
  }

  /** Notes a D1 backlog that changed since it was last published (for the status API). */
  markBacklog(backlog: number, archiveBacklog?: number): void {
    if (this.published().backlog !== backlogMark(backlog, archiveBacklog) && this.store.get("endpoint_state") !== null)
      this.countsChanged = true;
  }

  /**
   * Notes request counters that changed since they were last published, so that an endpoint gone
   * idle still publishes its final counts (GET /metrics), within PUBLISH_EVERY_MS.
   */
  markMetrics(metrics: RequestMetrics): void {
    if (this.published().metrics !== JSON.stringify(metrics) && this.store.get("endpoint_state") !== null)
      this.countsChanged = true;
  }

  /** Copies changed incidents and the endpoint's state to D1; throws when D1 fails (the caller retries). */
  async sync(counters: PublishedCounters, now = Date.now()): Promise<void> {
    const dirty = this.incidents.dirty();
    const stateDirty = this.store.get("state_dirty") === "1";
    const countsDue = this.countsChanged && now - this.publishedAt >= PUBLISH_EVERY_MS;
    const state = stateDirty || countsDue ? this.endpointState() : null;
    if (dirty.length === 0 && !state) return;
    await publishState(
      this.db(),
      dirty.map((d) => d.incident),
      state,
      counters,
      Date.now(),
    );
    for (const d of dirty) this.incidents.markCopied(d);
    if (state) {
      // One row for what was published: the backlog, the counters and the cost meter.
      this.store.set(
        "published",
        JSON.stringify({
          backlog: backlogMark(counters.backlog, counters.archiveBacklog),
          metrics: JSON.stringify(counters.metrics),
          cost: counters.cost,
        }),
      );
      this.countsChanged = false;
      // The real clock: a test's later `now` must not hold back the next publish.
      this.publishedAt = Date.now();
    }
    if (stateDirty)
      this.sql.exec(
        "UPDATE meta SET value = '0' WHERE key = 'state_dirty' AND value = '1' AND ? = (SELECT value FROM meta WHERE key = 'endpoint_state')",
        JSON.stringify(state),
      );
    // Resolved incidents are in D1 now; the object keeps only the last few.
    this.incidents.pruneResolved();
  }

  /** The cost meter as last published (null: never, or before it was kept with the publish). */
  publishedCost(): Partial<CostCounts> | null {
    const mark = this.published();
    if (mark.cost) return mark.cost;
    // A mark that did not parse as a whole (a bad backlog or counters) keeps its cost: the meter
    // is cumulative, and countsFrom (publish-job.ts) keeps each finite field of what is read here.
    const raw = this.store.get("published");
    if (raw === null) return null;
    try {
      const value: unknown = JSON.parse(raw);
      const cost = typeof value === "object" && value !== null ? (value as { cost?: unknown }).cost : null;
      return typeof cost === "object" && cost !== null ? cost : null;
    } catch {
      return null;
    }
  }
}
