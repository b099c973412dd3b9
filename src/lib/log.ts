/** Structured JSON logs: one object per line with level and event; never secrets. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Writes one structured log line. */
export function log(level: LogLevel, event: string, fields: Record<string, unknown> = {}): void {
  const line = JSON.stringify({ level, event, time: new Date().toISOString(), ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}
