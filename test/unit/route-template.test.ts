import { describe, expect, it } from "vitest";
import { OVERFLOW_ROUTE, ROUTE_MAX_CHARS, cleanRoute, isIdLike, templateRoute } from "../../src/ingest/route-template";

describe("isIdLike", () => {
  it.each(["0", "7", "123", "20260101", "18446744073709551615"])("treats the integer %s as an id", (s) => {
    expect(isIdLike(s)).toBe(true);
  });

  it.each(["550e8400-e29b-41d4-a716-446655440000", "550E8400-E29B-41D4-A716-446655440000"])(
    "treats the UUID %s as an id",
    (s) => {
      expect(isIdLike(s)).toBe(true);
    },
  );

  it.each(["9f86d081884c7d65", "deadbeef1", "5f2b8c1e", "ABCDEF0123456789"])("treats the long hex %s as an id", (s) => {
    expect(isIdLike(s)).toBe(true);
  });

  it.each([
    "cus_9s6XKzkNRiz8i3",
    "dGhpcyBpcyBhIHRva2Vu",
    "eyJhbGciOiJIUzI1NiJ9",
    "Zm9vYmFyYmF6cXV4MTIz==",
    "ord_Xy12345678abcdef",
  ])("treats the base64-like token %s as an id", (s) => {
    expect(isIdLike(s)).toBe(true);
  });

  it.each(["alice@example.com", "first.last+tag@mail.example.co.uk", "alice%40example.com"])(
    "treats the email %s as an id",
    (s) => {
      expect(isIdLike(s)).toBe(true);
    },
  );

  it.each([
    "v1",
    "v2",
    "users",
    "me",
    "settings",
    "orders",
    "health",
    "deadbeef",
    "abc",
    "2fa",
    "oauth2",
    "user-profile",
  ])("leaves the word %s alone", (s) => {
    expect(isIdLike(s)).toBe(false);
  });

  it.each(["oauth2-callback-v2", "payment-methods-v2", "AbC123-_xyz.789~q", "search-results-2024"])(
    "leaves the slug %s alone although it is long and has digits",
    (s) => {
      expect(isIdLike(s)).toBe(false);
    },
  );

  it("needs a digit for hex and token shapes", () => {
    expect(isIdLike("facade")).toBe(false);
    expect(isIdLike("abcdefabcdef")).toBe(false);
    expect(isIdLike("abcdefghijklmnopqrst")).toBe(false);
  });

  it("needs at least 16 characters for a token and 8 for hex", () => {
    expect(isIdLike("abc1234")).toBe(false);
    expect(isIdLike("abc12345")).toBe(true);
    expect(isIdLike("Xy12345678abcde")).toBe(false);
    expect(isIdLike("Xy12345678abcdef")).toBe(true);
  });

  it("still treats a truncated UUID as an id (it is token-like)", () => {
    expect(isIdLike("550e8400-e29b-41d4-a716")).toBe(true);
  });

  it("does not treat an @ without a domain as an email", () => {
    expect(isIdLike("not@host")).toBe(false);
    expect(isIdLike("@handle")).toBe(false);
  });

  it("judges an undecodable segment as written instead of throwing", () => {
    expect(isIdLike("%E0%A4%A")).toBe(false);
    expect(isIdLike("123%E0%A4%A")).toBe(false);
  });

  it("treats a percent-encoded integer as an id", () => {
    expect(isIdLike("%31%32%33")).toBe(true);
  });
});

describe("cleanRoute", () => {
  it("strips the query and the fragment", () => {
    expect(cleanRoute("/users/:id?token=abc")).toBe("/users/:id");
    expect(cleanRoute("/users/:id#top")).toBe("/users/:id");
    expect(cleanRoute("/users/:id#a?b")).toBe("/users/:id");
  });

  it("collapses repeated slashes and drops the trailing slash", () => {
    expect(cleanRoute("//users///:id//")).toBe("/users/:id");
    expect(cleanRoute("/users/")).toBe("/users");
  });

  it("keeps the root route", () => {
    expect(cleanRoute("/")).toBe("/");
    expect(cleanRoute("")).toBe("/");
    expect(cleanRoute("/?x=1")).toBe("/");
  });

  it("adds a leading slash", () => {
    expect(cleanRoute("users/:id")).toBe("/users/:id");
  });

  it("bounds the length", () => {
    expect(ROUTE_MAX_CHARS).toBe(256);
    const long = `/${"a".repeat(400)}`;
    const out = cleanRoute(long);
    expect(out).toHaveLength(ROUTE_MAX_CHARS);
    expect(out).toBe(long.slice(0, ROUTE_MAX_CHARS));
    const exact = `/${"b".repeat(ROUTE_MAX_CHARS - 1)}`;
    expect(cleanRoute(exact)).toBe(exact);
  });

  it("leaves concrete values in place (it does not template)", () => {
    expect(cleanRoute("/users/123")).toBe("/users/123");
  });
});

describe("templateRoute", () => {
  it("templates integers and long hex: the issue's example", () => {
    expect(templateRoute("/users/123/orders/9f86d081884c7d65")).toBe("/users/:id/orders/:id");
  });

  it("leaves word segments untouched", () => {
    expect(templateRoute("/v1/users/me/settings")).toBe("/v1/users/me/settings");
  });

  it("templates UUIDs", () => {
    expect(templateRoute("/v2/accounts/550e8400-e29b-41d4-a716-446655440000/keys")).toBe("/v2/accounts/:id/keys");
  });

  it("templates base64-like tokens and prefixed ids", () => {
    expect(templateRoute("/customers/cus_9s6XKzkNRiz8i3/invoices")).toBe("/customers/:id/invoices");
    expect(templateRoute("/share/dGhpcyBpcyBhIHRva2Vu")).toBe("/share/:id");
  });

  it("templates emails, plain or percent-encoded", () => {
    expect(templateRoute("/users/alice@example.com/profile")).toBe("/users/:id/profile");
    expect(templateRoute("/users/alice%40example.com/profile")).toBe("/users/:id/profile");
  });

  it("templates consecutive ids", () => {
    expect(templateRoute("/a/1/2/3")).toBe("/a/:id/:id/:id");
  });

  it("ignores a query and a fragment", () => {
    expect(templateRoute("/users/42?token=abc#x")).toBe("/users/:id");
  });

  it("cleans slashes", () => {
    expect(templateRoute("//users//42/")).toBe("/users/:id");
    expect(templateRoute("/")).toBe("/");
  });

  it("is idempotent on a template", () => {
    expect(templateRoute("/users/:id/orders/:id")).toBe("/users/:id/orders/:id");
  });

  it("bounds the length of the template", () => {
    const out = templateRoute(`/${"segment/".repeat(60)}`);
    expect(out.length).toBeLessThanOrEqual(ROUTE_MAX_CHARS);
  });

  it("templates a long path whose ids would push it past the bound", () => {
    const path = `/${Array.from({ length: 40 }, (_, i) => `w${String.fromCharCode(97 + (i % 26))}/${1000 + i}`).join("/")}`;
    const out = templateRoute(path);
    expect(out.length).toBeLessThanOrEqual(ROUTE_MAX_CHARS);
    expect(out.startsWith("/wa/:id/wb/:id")).toBe(true);
    expect(out).not.toMatch(/\d{4}/);
  });
});

describe("OVERFLOW_ROUTE", () => {
  it("is a route template of its own", () => {
    expect(OVERFLOW_ROUTE).toBe("/:other");
    expect(cleanRoute(OVERFLOW_ROUTE)).toBe(OVERFLOW_ROUTE);
  });
});
