/** The message of a caught value: an Error's message, anything else as a string (for logs and stored errors). */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
