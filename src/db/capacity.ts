/** D1 errors that say the database is full, not that a row is bad. Pure. */
import { errorMessage } from "../lib/errors";

/**
 * Whether a D1 error says the database cannot grow: SQLite's `SQLITE_FULL` ("database or disk is
 * full") and D1's own size limit ("Exceeded maximum DB size"). Such a write is retried later,
 * never quarantined: the row is not at fault.
 */
export function isCapacityError(err: unknown): boolean {
  const message = errorMessage(err);
  return /SQLITE_FULL|database or disk is full|exceeded maximum db size|database size limit/i.test(message);
}
