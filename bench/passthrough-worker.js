/**
 * The benchmark's baseline: a bare pass-through worker that forwards every request to the
 * origin at ORIGIN_HOST (`--var ORIGIN_HOST:127.0.0.1:<port>`) and returns its answer, nothing
 * else. The monitored proxy is compared against this.
 */
export default {
  fetch(req, env) {
    const u = new URL(req.url);
    u.host = env.ORIGIN_HOST;
    return fetch(new Request(u, req));
  },
};
