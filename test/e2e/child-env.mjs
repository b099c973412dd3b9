// @ts-check
/**
 * The environment for `npm start` in the end-to-end tests: ours, without the test runner's
 * NODE_TEST_CONTEXT and npm's own variables, which make wrangler (a Node program started through
 * npm) behave as a test-runner child of a run it is not part of.
 * @param {Record<string, string>} [extra]
 */
export function childEnv(extra) {
  const env = { ...process.env, ...extra };
  delete env.NODE_TEST_CONTEXT;
  for (const name of Object.keys(env)) if (name.startsWith("npm_")) delete env[name];
  return env;
}
