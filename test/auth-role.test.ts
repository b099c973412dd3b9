/** `GET /v1/auth/role`: the dashboard's sign-in learns the key's scope without a failing request. */
import { describe, expect, it } from "vitest";
import { ADMIN_KEY, call, INGEST_KEY, READ_KEY } from "./helpers";

const role = (key: string) => call("/v1/auth/role", { headers: { Authorization: `Bearer ${key}` } });

describe("GET /v1/auth/role", () => {
  it("answers read for the read key and admin for the admin key, 401 for others", async () => {
    expect(await (await role(READ_KEY)).json()).toEqual({ role: "read" });
    expect(await (await role(ADMIN_KEY)).json()).toEqual({ role: "admin" });
    expect((await role(INGEST_KEY)).status).toBe(401);
    expect((await role("nope")).status).toBe(401);
    expect((await call("/v1/auth/role")).status).toBe(401);
  });
});
