/**
 * The operator's privacy settings, read from the environment. Secrets are always redacted;
 * email addresses are too unless `REDACT_EMAILS` is "false" (for a service whose paths or
 * errors carry addresses the operator needs to see, on a monitor whose readers may see them).
 */

/** True unless `REDACT_EMAILS` is "false" (any case): emails are redacted by default. */
export function redactEmailsSetting(env: Pick<Env, "REDACT_EMAILS">): boolean {
  return (env.REDACT_EMAILS ?? "").trim().toLowerCase() !== "false";
}
