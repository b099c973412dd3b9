/**
 * D1 schema: the single source of truth for the SQL migrations in `migrations/`
 * (generated with `npm run db:generate`). Times are UTC epoch milliseconds. One file per area.
 */
export * from "./alerts";
export * from "./incidents";
export * from "./jobs";
export * from "./logs";
export * from "./operations";
