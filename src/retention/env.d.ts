/**
 * The optional archive bucket of the retention job. `wrangler types` only knows bindings declared
 * in wrangler.toml, where ARCHIVE is a commented block (bind it to enable the archive), so it is
 * declared here as optional and merged into the generated `Cloudflare.Env`. Once the
 * `[[r2_buckets]]` block is uncommented, regenerate the types and delete this file.
 */
declare namespace Cloudflare {
  interface Env {
    ARCHIVE?: R2Bucket;
  }
}
