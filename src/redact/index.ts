/**
 * Redaction, pure and without bindings. `scrubText` runs before anything is stored and
 * `scrubOutgoingText` / `scrubDeep` before anything leaves (alerts, AI prompts), with the same
 * rules, so a secret is caught even in rows that skipped the first pass. Secrets are found by
 * the key that names them (query, header, JSON) or by their shape (tokens, cards checked by Luhn);
 * anything else, numbers and route templates included, is kept as written.
 */
export * from "./emails";
export * from "./keys";
export * from "./path";
export { luhnValid, type ScrubOptions } from "./secrets";
export * from "./text";
