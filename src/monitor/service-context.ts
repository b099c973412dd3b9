/**
 * What an endpoint object knows of its service beyond its own traffic: the maintenance windows
 * and the recent deploys, read from D1 and cached like the detection settings (a fresh value as
 * is, a stale one while a refresh runs, a cold object waits at most CONTEXT_WAIT_MS). Writes
 * through the API invalidate the cache of the service's objects (src/monitor/notify.ts), so a
 * window or a deploy is known at once; the TTL covers an object the notice missed.
 */
import { loadDeploys } from "../deploys/store";
import type { Deploy } from "../deploys/deploys";
import { log } from "../lib/log";
import { withTimeout } from "../lib/timeout";
import { loadWindows } from "../maintenance/store";
import type { MaintenanceWindow } from "../maintenance/windows";

const CONTEXT_TTL_MS = 30_000;
const CONTEXT_WAIT_MS = 1_000;
/** Deploys this far back are kept (an incident is tied to one at most DEPLOY_CORRELATION_MINUTES after it). */
const DEPLOYS_BACK_MS = 24 * 60 * 60_000;
/** Windows that ended this long ago are still kept (a replay of recent traffic is marked the same). */
const WINDOWS_BACK_MS = 24 * 60 * 60_000;

export interface ContextValue {
  windows: MaintenanceWindow[];
  deploys: Deploy[];
}

const EMPTY: ContextValue = { windows: [], deploys: [] };

export class ServiceContext {
  private cached: { value: ContextValue; loadedAt: number } | null = null;
  private refreshing = false;

  constructor(
    private readonly db: () => D1Database,
    private readonly waitUntil: (p: Promise<unknown>) => void,
  ) {}

  /** The service's windows and deploys (see the module comment for freshness). */
  async get(service: string, now = Date.now()): Promise<ContextValue> {
    const cached = this.cached;
    if (!cached) await this.load(service, now);
    else if (now - cached.loadedAt > CONTEXT_TTL_MS && !this.refreshing) {
      this.refreshing = true;
      this.waitUntil(this.load(service, now).finally(() => (this.refreshing = false)));
    }
    return this.cached?.value ?? EMPTY;
  }

  /** The cached value without waiting (empty when none was loaded yet). */
  current(): ContextValue {
    return this.cached?.value ?? EMPTY;
  }

  /** Adds a deploy this object found itself (a new version on its records) before D1 has it. */
  note(deploy: Deploy): void {
    const value = this.current();
    this.cached = {
      value: { ...value, deploys: [...value.deploys.filter((d) => d.id !== deploy.id), deploy] },
      loadedAt: this.cached?.loadedAt ?? 0,
    };
  }

  /** Forgets the cache: the next `get` reads D1. */
  invalidate(): void {
    this.cached = null;
  }

  private async load(service: string, now: number): Promise<void> {
    try {
      const db = this.db();
      const [windows, deploys] = await withTimeout(
        Promise.all([
          loadWindows(db, { service, endsAfter: now - WINDOWS_BACK_MS }),
          loadDeploys(db, { service, from: now - DEPLOYS_BACK_MS, to: now + DEPLOYS_BACK_MS, limit: 50 }),
        ]),
        CONTEXT_WAIT_MS,
      );
      this.cached = { value: { windows, deploys }, loadedAt: now };
    } catch (err) {
      log("warn", "service_context_unreadable", { service, message: err instanceof Error ? err.message : String(err) });
      this.cached = { value: this.cached?.value ?? EMPTY, loadedAt: now };
    }
  }
}
