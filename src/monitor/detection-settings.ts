/**
 * The endpoint's detection settings (D1 `detection_settings`), cached in the endpoint object. A
 * cached value is used as is while fresh, and while stale too (a refresh runs meanwhile); only a
 * cold object waits for D1, at most CONFIG_WAIT_MS. A failed load keeps the defaults (or the last
 * value) for the TTL.
 */
import { resolveDetection, type DetectionConfig, type DetectionSettings } from "../detect/config";
import type { Endpoint } from "../detect/incident";
import { errorMessage } from "../lib/errors";
import { log } from "../lib/log";
import { withTimeout } from "../lib/timeout";
import { loadDetectionSettings } from "../services/detection-store";

const CONFIG_TTL_MS = 30_000;
/** A cold object waits at most this long for its settings before using the defaults. */
const CONFIG_WAIT_MS = 1_000;

export class DetectionSettingsCache {
  private settings: { value: DetectionSettings | null; loadedAt: number } | null = null;
  private refreshing = false;

  constructor(
    private readonly db: () => D1Database,
    private readonly waitUntil: (p: Promise<unknown>) => void,
  ) {}

  /** The endpoint's resolved settings (see the module comment for when D1 is read). */
  async config(endpoint: Endpoint, now = Date.now()): Promise<DetectionConfig> {
    const cached = this.settings;
    if (!cached) {
      await this.load(endpoint.service, now);
    } else if (now - cached.loadedAt > CONFIG_TTL_MS && !this.refreshing) {
      this.refreshing = true;
      this.waitUntil(this.load(endpoint.service, now).finally(() => (this.refreshing = false)));
    }
    return resolveDetection(this.settings?.value ?? null, endpoint.method, endpoint.route);
  }

  private async load(service: string, now: number): Promise<void> {
    try {
      const stored = await withTimeout(loadDetectionSettings(this.db(), service), CONFIG_WAIT_MS);
      this.settings = { value: stored?.settings ?? null, loadedAt: now };
    } catch (err) {
      log("warn", "detection_settings_unreadable", { service, message: errorMessage(err) });
      this.settings = { value: this.settings?.value ?? null, loadedAt: now };
    }
  }

  /** Forgets the cached settings (after they changed). */
  invalidate(): void {
    this.settings = null;
  }
}
