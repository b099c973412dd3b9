/**
 * The endpoint object's quarantine work: publishing the quarantine's size to D1's index after it
 * changed, and replaying quarantined rows into D1 on request (see quarantine.ts for the table).
 */
import type { Endpoint } from "../detect/incident";
import { log } from "../lib/log";
import type { AlarmSchedule } from "./alarm-schedule";
import { writeRowByRow } from "./flush";
import { errorMessage } from "../lib/errors";
import { endpointOf, type MonitorContext } from "./monitor-context";
import { publishQuarantineCount, type QuarantinedRecord } from "./quarantine";

export interface ReplayResult {
  /** Rows D1 took: they left the quarantine. */
  replayed: number;
  /** Rows D1 refused again: they stay, with the new error. */
  failed: number;
  /** Rows still in quarantine. */
  remaining: number;
  storage: "ok" | "full";
}

/** Quarantined rows tried per D1 round trip on replay, and rows per replay call. */
const REPLAY_BATCH = 100;
const MAX_REPLAY_ROWS = 5000;

export class QuarantineJob {
  constructor(
    private readonly c: MonitorContext,
    private readonly alarm: AlarmSchedule,
  ) {}

  /**
   * On wake: rows quarantined before D1's quarantine index existed were never published: publish
   * them once (the flag is cleared by the first successful publish; the next alarm does it).
   */
  loadFlag(): void {
    if (this.c.store.get("quarantine_indexed") === null && this.c.quarantine.count() > 0) this.markChanged();
  }

  /** Marks the quarantine as changed since its last publication; the token tells a publish that raced a change. */
  markChanged(): void {
    this.c.store.set("quarantine_unpublished", `${Date.now()}-${Math.random()}`);
  }

  /** Copies the quarantine's size to D1's index when it changed; a failure is retried by a later alarm. */
  async publish(): Promise<void> {
    const { store } = this.c;
    const endpoint = endpointOf(store);
    const token = store.get("quarantine_unpublished");
    if (!endpoint || token === null) return;
    try {
      await publishQuarantineCount(this.c.db(), endpoint, this.c.quarantine.count(), Date.now());
      // A change made while D1 was written (a flush or a replay in between) keeps the flag.
      if (store.get("quarantine_unpublished") === token) store.delete("quarantine_unpublished");
      store.set("quarantine_indexed", "1");
    } catch (err) {
      log("error", "quarantine_publish_failed", { endpoint: this.c.name, message: errorMessage(err) });
      await this.alarm.schedule(Date.now() + 30_000);
    }
  }

  /** Quarantined rows in key order after `afterKey`. */
  list(afterKey: string | null, limit: number): QuarantinedRecord[] {
    return this.c.quarantine.list(afterKey, limit);
  }

  /**
   * Tries the quarantined rows again: rows D1 takes leave the quarantine, rows it refuses again
   * stay with the new error; a full D1 stops the replay and leaves every remaining row as it was.
   */
  async replay(identity: Endpoint): Promise<ReplayResult> {
    const { store, quarantine } = this.c;
    store.setIdentity(identity);
    let replayed = 0;
    let failed = 0;
    let storage: "ok" | "full" = "ok";
    let after: string | null = null;
    while (replayed + failed < MAX_REPLAY_ROWS) {
      const batch = quarantine.batch(after, REPLAY_BATCH);
      const last = batch.keys[batch.keys.length - 1];
      if (last === undefined) break;
      const outcome = await writeRowByRow(this.c.db(), batch, Date.now());
      const written = outcome.kind === "written" ? batch.keys : outcome.written;
      const refused = outcome.kind === "isolated" ? outcome.poisoned : [];
      this.c.storage.transactionSync(() => {
        quarantine.settle(written, refused);
        store.addCounters({ flushed: written.length, replayed: written.length });
        this.markChanged();
      });
      replayed += written.length;
      failed += refused.length;
      if (outcome.kind === "failed") {
        storage = "full";
        if (store.get("storage_full_since") === null) store.set("storage_full_since", String(Date.now()));
        break;
      }
      after = last;
    }
    await this.publish();
    log("info", "quarantine_replayed", { endpoint: this.c.name, replayed, failed, remaining: quarantine.count() });
    return { replayed, failed, remaining: quarantine.count(), storage };
  }
}
