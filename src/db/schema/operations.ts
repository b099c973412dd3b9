/** D1 tables an operator writes: quarantined endpoints, maintenance windows, deploys. */
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Endpoints whose object holds quarantined records, and how many (as the object last published).
 * The rows themselves stay in each endpoint object's SQLite; this index is how
 * `GET /v1/control/quarantine` finds the objects to ask. A row with `records` 0 has been emptied.
 */
export const quarantinedEndpoints = sqliteTable(
  "quarantined_endpoints",
  {
    service: text("service").notNull(),
    method: text("method").notNull(),
    route: text("route").notNull(),
    records: integer("records").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.service, t.method, t.route] })],
);

/**
 * Maintenance windows and silences (admin API): a service, optionally only some of its endpoints
 * (JSON array of {method, route}; null: every endpoint), and a wall-clock range. Incidents that
 * open inside one are recorded and marked, not alerted.
 */
export const maintenanceWindows = sqliteTable(
  "maintenance_windows",
  {
    id: text("id").primaryKey(),
    service: text("service").notNull(),
    endpoints: text("endpoints"),
    startsAt: integer("starts_at").notNull(),
    endsAt: integer("ends_at").notNull(),
    reason: text("reason"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("maintenance_service_end").on(t.service, t.endsAt), index("maintenance_end").on(t.endsAt)],
);

/**
 * Deploy markers: `POST /v1/deploys`, or a new `version` seen on a service's records. One row per
 * (service, version): the first time it was seen.
 */
export const deploys = sqliteTable(
  "deploys",
  {
    id: text("id").primaryKey(),
    service: text("service").notNull(),
    version: text("version").notNull(),
    at: integer("at").notNull(),
    description: text("description"),
    /** api (POST /v1/deploys) or records (a new version on records). */
    source: text("source").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("deploys_service_at").on(t.service, t.at), index("deploys_at").on(t.at)],
);
