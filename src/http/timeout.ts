// Kept so branches in flight that import "../http/timeout" still build; new code imports src/lib/timeout.ts.
export * from "../lib/timeout";
