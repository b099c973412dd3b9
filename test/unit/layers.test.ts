/**
 * Layers that point one way: route modules adapt HTTP to functions, so only the app's wiring
 * imports them, and no file of src/ takes part in an import cycle (type-only imports count: a
 * cycle of types is still two modules that cannot be read apart). The sources come from Vite
 * (`import.meta.glob` as raw text), since the tests run inside workerd without a file system.
 */
import { describe, expect, it } from "vitest";
import { importCycles, importEdges, routesImports } from "../layers/graph";

const raw = import.meta.glob<string>("../../src/**/*.ts", { query: "?raw", import: "default", eager: true });
const sources = new Map(
  Object.entries(raw)
    .filter(([path]) => !path.endsWith(".d.ts"))
    .map(([path, text]) => [path.replace(/^(\.\.\/)+/, ""), text] as const),
);

/** The app's wiring: the only modules that mount route modules. */
const WIRING = new Set(["src/app.ts", "src/index.ts"]);

describe("layers", () => {
  const edges = importEdges(sources);

  it("reads the whole of src/", () => {
    expect(sources.size).toBeGreaterThan(150);
    expect(edges.length).toBeGreaterThan(500);
  });

  it("has no import of a routes module outside the app's wiring", () => {
    const outside = routesImports(edges, WIRING);
    expect(outside.map((e) => `${e.from} -> ${e.to}`)).toEqual([]);
  });

  it("has no import cycle between files", () => {
    expect(importCycles(edges)).toEqual([]);
  });
});

/** The most lines a file of src/ has (issue 14: a file a newcomer reads at once). */
const MAX_LINES = 300;

describe("file length", () => {
  it(`keeps every file of src/ at ${MAX_LINES} lines or fewer`, () => {
    const long = [...sources]
      .filter(([, text]) => text.split("\n").length - (text.endsWith("\n") ? 1 : 0) > MAX_LINES)
      .map(([path]) => path)
      .sort();
    expect(long).toEqual([]);
  });
});

describe("the import graph reader", () => {
  const tree = new Map([
    ["src/a/routes.ts", 'import { b } from "../b/logic";\nexport const a = 1;'],
    ["src/b/logic.ts", 'import type { C } from "./c";\n// import { x } from "../a/routes";\nexport const b = 2;'],
    [
      "src/b/c.ts",
      'export type C = number;\nimport {\n  b,\n} from "./logic.ts";\nconst lazy = () => import("../a/routes");',
    ],
    ["src/app.ts", 'export * from "./a/routes";\nimport "hono";'],
  ]);
  const edges = importEdges(tree);

  it("finds static, multi-line, re-export and dynamic imports, and skips comments and packages", () => {
    expect(edges.map((e) => `${e.from} -> ${e.to}${e.typeOnly ? " (type)" : ""}`).sort()).toEqual([
      "src/a/routes.ts -> src/b/logic.ts",
      "src/app.ts -> src/a/routes.ts",
      "src/b/c.ts -> src/a/routes.ts",
      "src/b/c.ts -> src/b/logic.ts",
      "src/b/logic.ts -> src/b/c.ts (type)",
    ]);
  });

  it("names a routes import outside the wiring and the files of a cycle", () => {
    expect(routesImports(edges, new Set(["src/app.ts"])).map((e) => e.from)).toEqual(["src/b/c.ts"]);
    expect(importCycles(edges)).toEqual([["src/a/routes.ts", "src/b/c.ts", "src/b/logic.ts"]]);
  });
});
