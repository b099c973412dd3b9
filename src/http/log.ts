// Kept so branches in flight that import "../http/log" still build; new code imports src/lib/log.ts.
export * from "../lib/log";
