// @ts-check
/** Command-line options of the benchmarks: bounded numbers plus a wrangler log level. */
import { parseArgs } from "node:util";

const LOG_LEVELS = ["debug", "info", "log", "warn", "error", "none"];

/**
 * Parses `argv` against `spec` ({name: {default, min, max}}); option names become camelCase.
 * Prints `usage` and exits for --help; throws on a value out of its range.
 * @param {string[]} argv
 * @param {Record<string, { default: number; min: number; max: number }>} spec
 * @param {string[]} usage
 */
export function parseBenchOptions(argv, spec, usage) {
  const { values } = /** @type {{ values: Record<string, string | boolean | undefined> }} */ (
    parseArgs({
      args: argv,
      options: {
        ...Object.fromEntries(Object.keys(spec).map((k) => [k, { type: "string" }])),
        "log-level": { type: "string", default: "warn" },
        help: { type: "boolean", short: "h" },
      },
    })
  );
  if (values.help) {
    for (const line of usage) console.log(line);
    process.exit(0);
  }
  /** @type {Record<string, number>} */
  const opts = {};
  for (const [name, { default: def, min, max }] of Object.entries(spec)) {
    const raw = values[name];
    const n = raw === undefined ? def : Number(raw);
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${name} must be a number in ${min}..${max}`);
    opts[name.replace(/-(\w)/g, (_, c) => c.toUpperCase())] = n;
  }
  const logLevel = /** @type {string} */ (values["log-level"]); // a string option with a default
  if (!LOG_LEVELS.includes(logLevel)) throw new Error(`--log-level must be one of ${LOG_LEVELS.join(", ")}`);
  return Object.assign(opts, { logLevel });
}
