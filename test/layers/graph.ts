// The import graph of src/, read from source text: which file imports which, which files
// import a routes module, and the import cycles. Pure (text in, findings out), so the layer test
// runs it inside workerd on sources Vite hands over, and it can be fed a made-up tree in a unit test.

/** One relative import found in a file: the specifier as written and whether it is type-only. */
export interface ImportEdge {
  from: string;
  to: string;
  typeOnly: boolean;
}

const IMPORT_RE =
  /(?:^|[\s;])(?:import|export)\s+(type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

/** Drops comments so an import named in a comment (or a doc example) is not an edge. */
function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1");
}

/** Normalises "a/b/../c/./d" to "a/c/d". */
function normalise(path: string): string {
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return out.join("/");
}

/** Resolves a relative specifier from `from` against the known files (".ts", "/index.ts", or as written). */
export function resolveImport(from: string, specifier: string, files: ReadonlySet<string>): string | undefined {
  if (!specifier.startsWith(".")) return undefined;
  const dir = from.split("/").slice(0, -1).join("/");
  const base = normalise(`${dir}/${specifier}`).replace(/\.js$/, "");
  for (const candidate of [base, `${base}.ts`, `${base}/index.ts`]) {
    if (files.has(candidate)) return candidate;
  }
  return undefined;
}

/** Every relative import between the given files (path -> source text). */
export function importEdges(sources: ReadonlyMap<string, string>): ImportEdge[] {
  const files = new Set(sources.keys());
  const edges: ImportEdge[] = [];
  for (const [from, source] of sources) {
    for (const match of stripComments(source).matchAll(IMPORT_RE)) {
      const specifier = match[2] ?? match[3];
      if (specifier === undefined) continue;
      const to = resolveImport(from, specifier, files);
      if (to !== undefined) edges.push({ from, to, typeOnly: match[1] !== undefined });
    }
  }
  return edges;
}

/** Imports of a `routes.ts` module from any file not in `wiring`. */
export function routesImports(edges: readonly ImportEdge[], wiring: ReadonlySet<string>): ImportEdge[] {
  return edges.filter((e) => /(^|\/)routes\.ts$/.test(e.to) && !wiring.has(e.from));
}

/**
 * The import cycles: each strongly connected component of more than one file (Tarjan), as
 * its sorted file list. A file importing itself is not counted.
 */
export function importCycles(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) {
    if (e.from === e.to) continue;
    next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  }
  const nodes = new Set<string>([...edges.map((e) => e.from), ...edges.map((e) => e.to)]);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter);
    counter++;
    stack.push(node);
    onStack.add(node);
    for (const to of next.get(node) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(to) ?? 0));
      } else if (onStack.has(to)) {
        low.set(node, Math.min(low.get(node) ?? 0, index.get(to) ?? 0));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string | undefined;
      do {
        member = stack.pop();
        if (member === undefined) break;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) components.push(component.sort());
    }
  };
  for (const node of [...nodes].sort()) if (!index.has(node)) visit(node);
  return components.sort((a, b) => (a[0] ?? "").localeCompare(b[0] ?? ""));
}
