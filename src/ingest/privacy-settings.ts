/**
 * The operator's privacy settings, read from the environment. Secrets are always redacted;
 * email addresses are too unless `REDACT_EMAILS` is "false" (for a service whose paths or
 * errors carry addresses the operator needs to see, on a monitor whose readers may see them).
 */
import { config } from "../config";

/** True unless `REDACT_EMAILS` is "false" (any case): emails are redacted by default. */
export function redactEmailsSetting(env: Pick<Env, "REDACT_EMAILS">): boolean {
  return config(env).REDACT_EMAILS;
}
