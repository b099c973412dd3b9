/** Hono generics shared by every feature app. */
export type AppEnv = {
  Bindings: Env;
  Variables: { requestId: string };
};
