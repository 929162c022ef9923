// The layering of packages/core/src, checked over the import graph: every import (type-only and
// re-exports included) runs down the layers, and no two folders import each other. The order is written
// out in the package README, "Layout"; this test is its enforcement.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const coreSrc = fileURLToPath(new URL('../src', import.meta.url));
const cliSrc = fileURLToPath(new URL('../../cli/src', import.meta.url));

/**
 * Layer of each group of src/, lowest first: a folder, or one of the three kinds of file at src/ root —
 * `errors` (errors.ts), `model` (the data model: types, kinds, coordinates, events, ids, payloads,
 * registry, query filter) and `entry` (store.ts, index.ts and entry/*.ts, the package's entry points).
 */
const LAYERS: Readonly<Record<string, number>> = {
  errors: 0,
  encoding: 1,
  crypto: 1,
  fs: 1,
  model: 2,
  segment: 3,
  'event-index': 4,
  receipt: 5,
  chain: 6,
  keyset: 6,
  compaction: 7,
  attest: 8,
  snapshot: 9,
  projection: 9,
  rust: 9,
  testing: 9,
  store: 10,
  entry: 11,
};

/** Files at src/ root that are entry points, not part of the data model. */
const ROOT_ENTRY_FILES = new Set(['store.ts', 'index.ts']);

/**
 * Imports that run up a layer today and are being removed; each is `from -> to` (paths under src/).
 * An entry no longer found in the code fails the test, so the list only shrinks.
 */
const KNOWN_VIOLATIONS: ReadonlySet<string> = new Set<string>([]);

/** Folder-level group of a file under src/ (a path relative to src/, with '/'). */
function groupOf(file: string): string {
  const parts = file.split('/');
  if (parts.length === 1) return ROOT_ENTRY_FILES.has(file) ? 'entry' : file === 'errors.ts' ? 'errors' : 'model';
  return parts[0] as string;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out.sort();
}

/** Relative imports of a file, resolved to .ts files: static, type-only, `export … from` and dynamic. */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  const out: string[] = [];
  for (const { fileName } of info.importedFiles) {
    if (!fileName.startsWith('.')) continue;
    const base = resolve(dirname(file), fileName);
    const candidates = [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')];
    const hit = candidates.find((c) => c.endsWith('.ts') && existsSync(c));
    if (hit === undefined) throw new Error(`${file}: cannot resolve import '${fileName}'`);
    out.push(hit);
  }
  return out;
}

const rel = (root: string, file: string): string => relative(root, file).split(sep).join('/');

/** Every import edge of a source tree, as [from, to] paths relative to `root`. */
function importGraph(root: string): Array<[string, string]> {
  const edges: Array<[string, string]> = [];
  for (const file of sourceFiles(root)) for (const target of importsOf(file)) edges.push([rel(root, file), rel(root, target)]);
  return edges;
}

/** The cycles of a directed graph, one per strongly connected component with more than one node (or a self-loop). */
function cycles(edges: ReadonlyArray<readonly [string, string]>): string[][] {
  const next = new Map<string, Set<string>>();
  for (const [a, b] of edges) {
    if (!next.has(a)) next.set(a, new Set());
    if (!next.has(b)) next.set(b, new Set());
    next.get(a)?.add(b);
  }
  // Tarjan's algorithm.
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || next.get(v)?.has(v)) found.push(scc.sort());
    }
  };
  for (const v of [...next.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}

describe('packages/core/src layering', () => {
  const edges = importGraph(coreSrc);

  it('every folder has a layer', () => {
    const unknown = [...new Set(edges.flat().map(groupOf))].filter((g) => !(g in LAYERS));
    expect(unknown, 'add each new folder to LAYERS here and to the README "Layout" table').toEqual([]);
  });

  it('imports run down the layers (a folder imports only itself and lower layers)', () => {
    const offenders = edges
      .filter(([from, to]) => {
        const g = groupOf(from);
        const h = groupOf(to);
        return g !== h && (LAYERS[h] as number) >= (LAYERS[g] as number);
      })
      .map(([from, to]) => `${from} -> ${to}  (${groupOf(from)}@${LAYERS[groupOf(from)]} imports ${groupOf(to)}@${LAYERS[groupOf(to)]})`);
    const unexpected = offenders.filter((o) => !KNOWN_VIOLATIONS.has(o.split('  ')[0] as string));
    expect(unexpected, 'imports running up (or across) a layer').toEqual([]);
    const current = new Set(offenders.map((o) => o.split('  ')[0]));
    const stale = [...KNOWN_VIOLATIONS].filter((v) => !current.has(v));
    expect(stale, 'fixed: remove these from KNOWN_VIOLATIONS').toEqual([]);
  });

  it('no two folders import each other', () => {
    const folderEdges = edges
      .filter((e) => !KNOWN_VIOLATIONS.has(`${e[0]} -> ${e[1]}`))
      .map(([from, to]) => [groupOf(from), groupOf(to)] as const)
      .filter(([g, h]) => g !== h);
    expect(cycles(folderEdges), 'folder-level import cycles').toEqual([]);
  });

  it('the checker sees type-only imports, re-exports and cycles', () => {
    expect(edges).toContainEqual(['index.ts', 'entry/moved.ts']); // `export * from`
    const typeOnly = edges.some(([from]) => readFileSync(join(coreSrc, from), 'utf8').includes('import type '));
    expect(typeOnly).toBe(true);
    expect(cycles([['a', 'b'], ['b', 'c'], ['c', 'a'], ['c', 'd']])).toEqual([['a', 'b', 'c']]);
    expect(cycles([['a', 'b']])).toEqual([]);
  });
});

describe('packages/cli/src', () => {
  /** File-level import cycles of the CLI that are being removed (the list only shrinks; it is empty now). */
  const KNOWN_CLI_CYCLES: ReadonlyArray<readonly string[]> = [];

  it('has no import cycle', () => {
    expect(cycles(importGraph(cliSrc))).toEqual(KNOWN_CLI_CYCLES);
  });
});
