/** Secret-shaped values shared by the privacy tests (none is a live credential: published examples and test numbers). */

export const JWT =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

/** Each secret shape: the secret itself (must never be stored) and a path holding it. */
export const SECRET_PATHS: { name: string; secret: string; path: string }[] = [
  { name: "JWT", secret: JWT, path: `/verify/${JWT}` },
  { name: "card number", secret: "4111111111111111", path: "/cards/4111111111111111" },
  { name: "card number with dashes", secret: "5555-5555-5555-4444", path: "/cards/5555-5555-5555-4444/charge" },
  { name: "AWS access key id", secret: "AKIAIOSFODNN7EXAMPLE", path: "/keys/AKIAIOSFODNN7EXAMPLE" },
  { name: "AWS temporary key id", secret: "ASIAY34FZKBOKMUTVV7A", path: "/keys/ASIAY34FZKBOKMUTVV7A/rotate" },
  {
    name: "Stripe secret key",
    secret: "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    path: "/hooks/sk_live_4eC39HqLyjWDarjtT1zdp7dc",
  },
  {
    name: "Stripe publishable key",
    secret: "pk_live_TYooMQauvdEDq54NiTphI7jx",
    path: "/cfg/pk_live_TYooMQauvdEDq54NiTphI7jx",
  },
  {
    name: "GitHub token",
    secret: "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    path: "/gh/ghp_16C7e42F292c6912E7710c838347Ae178B4a/repos",
  },
  {
    name: "Slack bot token",
    secret: "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOp",
    path: "/slack/xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOp",
  },
  { name: "URL with userinfo", secret: "pa55w0rd", path: "/redirect/https://user:pa55w0rd@example.com/next" },
  {
    name: "URL with userinfo, percent-encoded",
    secret: "pa55w0rd",
    path: "/go/https%3A%2F%2Fuser%3Apa55w0rd%40example.com",
  },
  { name: "long random token", secret: "Zx8kP2qLmN4vB7wR1tY6uI3oAe5s", path: "/reset/Zx8kP2qLmN4vB7wR1tY6uI3oAe5s" },
  { name: "matrix session id", secret: "SECRET123abc", path: "/cart;jsessionid=SECRET123abc/items" },
];

/** Ordinary paths: stored as written, routed as before (`:id` for ids, fixed names kept). */
export const ORDINARY_PATHS: { path: string; route: string }[] = [
  { path: "/v1/orders/123", route: "/v1/orders/:id" },
  { path: "/users/me", route: "/users/me" },
  { path: "/users/550e8400-e29b-41d4-a716-446655440000/orders", route: "/users/:id/orders" },
  { path: "/commits/9f86d081", route: "/commits/:id" },
  { path: "/commits/da39a3ee5e6b4b0d3255bfef95601890afd80709", route: "/commits/:id" },
  { path: "/auth/oauth2-callback-v2", route: "/auth/oauth2-callback-v2" },
  { path: "/blog/how-to-configure-nginx-in-2024", route: "/blog/how-to-configure-nginx-in-2024" },
  { path: "/reports/2024-01-15", route: "/reports/2024-01-15" },
  { path: "/reports/2024/01/15", route: "/reports/:id/:id/:id" },
  { path: "/items/ABC-123", route: "/items/ABC-123" },
  { path: "/static/app.3f9a1c2b.js", route: "/static/app.3f9a1c2b.js" },
  { path: "/orders/4111111111111112", route: "/orders/:id" },
  { path: "/events/01ARZ3NDEKTSV4RRFFQ69G5FAV", route: "/events/:id" },
  { path: "/customers/cus_9s6XKzkNRiz8i3", route: "/customers/:id" },
  { path: "/api/getUserProfileSettings", route: "/api/getUserProfileSettings" },
  { path: "/search?q=shoes&page=2", route: "/search" },
  { path: "/v2/payment-methods-v2/default", route: "/v2/payment-methods-v2/default" },
  { path: "/ts/1717171717171", route: "/ts/:id" },
];
