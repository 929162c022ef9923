// The package shell is publishable as the others: ESM-only, typed exports, Node >= 20.19.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  type: string;
  engines: { node: string };
  exports: Record<string, { types?: string; default?: string } | string>;
};

describe('@batpak/hostbat package', () => {
  it('is ESM-only with typed exports and the supported engines', async () => {
    expect(pkg.type).toBe('module');
    expect(pkg.engines.node).toBe('>=20.19');
    expect(pkg.exports['.']).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' });
    const mod = await import('../src/index.js');
    expect(typeof mod).toBe('object');
  });
});
