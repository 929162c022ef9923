// CommonJS users load every published package with require(): Node >= 20.19 allows require() of an ES module
// unless it (or anything it imports) uses top-level await. Invariant under test: no package entry point is async.
// It runs the built dist/ files, which `pnpm test` builds before the unit tests (and CI runs on Node 20 and 24).

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const packagesDir = fileURLToPath(new URL('../../', import.meta.url));
const LIBRARIES = ['core', 'syncbat', 'netbat', 'hostbat', 'natsbat'] as const;

type Exports = Record<string, string | { default?: string }>;

/** Every file a `require('@batpak/<name>[/subpath]')` can load, from the package's own `exports`. */
function entryFiles(name: string): string[] {
  const pkg = JSON.parse(readFileSync(`${packagesDir}${name}/package.json`, 'utf8')) as { exports: Exports };
  return Object.entries(pkg.exports)
    .filter(([subpath]) => subpath !== './package.json')
    .map(([, target]) => (typeof target === 'string' ? target : target.default))
    .filter((t): t is string => t !== undefined && t.endsWith('.js'))
    .map((t) => fileURLToPath(new URL(t, `file://${packagesDir}${name}/`)));
}

function requireInChild(file: string, argv: readonly string[] = []): { status: number | null; stderr: string; stdout: string } {
  // argv as if `node <file> ...argv` had been run (under -e there is no script path in process.argv).
  const script = `process.argv = [process.execPath, ${JSON.stringify(file)}, ...${JSON.stringify(argv)}]; require(${JSON.stringify(file)});`;
  const r = spawnSync(process.execPath, ['--no-warnings', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

function built(file: string): string {
  if (!existsSync(file)) throw new Error(`${file} is missing: build first (\`pnpm run build\`; \`pnpm test\` does it)`);
  return file;
}

describe('require() of every package (CommonJS consumers)', () => {
  it(`this Node (${process.version}) supports require() of ES modules, as engines >= 20.19 promises`, () => {
    expect(process.features.require_module).toBe(true);
  });

  for (const name of LIBRARIES) {
    it(`@batpak/${name}: every export loads with require()`, () => {
      const files = entryFiles(name);
      expect(files.length).toBeGreaterThan(0);
      for (const file of files) {
        const r = requireInChild(built(file));
        expect(r.stderr, file).not.toContain('ERR_REQUIRE_ASYNC_MODULE');
        expect(r.status, `${file}: ${r.stderr}`).toBe(0);
      }
    });
  }

  it('@batpak/cli: the binary loads with require() and runs (`--version`)', () => {
    const r = requireInChild(built(`${packagesDir}cli/dist/cli.js`), ['--version']);
    expect(r.stderr).not.toContain('ERR_REQUIRE_ASYNC_MODULE');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^batpak \d+\.\d+\.\d+/);
  });
});
