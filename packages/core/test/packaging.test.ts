// What every published package's manifest and tarball promise a user: both license texts of "MIT OR Apache-2.0",
// where the source and the issue tracker are, caret ranges for runtime dependencies, natsbat's NATS client as a peer.
// Invariant under test: `npm pack` of each package (its prepack included) ships LICENSE-MIT and LICENSE-APACHE.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const REPO = 'https://github.com/batpak/batpak-node';

interface Manifest {
  name: string;
  private?: boolean;
  license?: string;
  repository?: { type: string; url: string; directory: string };
  homepage?: string;
  bugs?: { url: string };
  files?: string[];
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const read = (path: string): Manifest => JSON.parse(readFileSync(`${root}${path}`, 'utf8')) as Manifest;
const published = readdirSync(`${root}packages`)
  .filter((d) => existsSync(`${root}packages/${d}/package.json`))
  .map((d) => ({ dir: d, pkg: read(`packages/${d}/package.json`) }))
  .filter(({ pkg }) => pkg.private !== true);

describe('package manifests', () => {
  it('the repository root carries both license texts', () => {
    expect(readFileSync(`${root}LICENSE-MIT`, 'utf8')).toMatch(/^MIT License/);
    expect(readFileSync(`${root}LICENSE-APACHE`, 'utf8')).toMatch(/Apache License\s+Version 2\.0, January 2004/);
  });

  it('there are six published packages; the bench is private', () => {
    expect(published.map((p) => p.dir).sort()).toEqual(['cli', 'core', 'hostbat', 'natsbat', 'netbat', 'syncbat']);
    expect(read('bench/package.json').private).toBe(true);
  });

  it('the bench is outside the workspace, so `pnpm -r pack` and the root install never touch it', () => {
    const yaml = readFileSync(`${root}pnpm-workspace.yaml`, 'utf8');
    const section = yaml.slice(yaml.indexOf('packages:')).split('\n').slice(1);
    const end = section.findIndex((l) => /^\S/.test(l));
    const globs = section
      .slice(0, end === -1 ? undefined : end)
      .filter((l) => /^\s+- /.test(l))
      .map((l) => l.replace(/^\s+- /, '').replace(/["']/g, '').trim());
    // Every workspace glob is under packages/ (where only published packages live).
    expect(globs).toEqual(['packages/*']);
    expect(globs.some((g) => g === 'bench' || g.startsWith('bench/'))).toBe(false);
    // The root lockfile has no importer for it: its lmdb, better-sqlite3 and hypercore are the bench's own.
    expect(readFileSync(`${root}pnpm-lock.yaml`, 'utf8')).not.toMatch(/^ {2}bench:$/m);
    expect(read('bench/package.json').dependencies?.['@batpak/core']).toBe('link:../packages/core');
  });

  for (const { dir, pkg } of published) {
    it(`${pkg.name}: license, repository, homepage, bugs, files and dependency ranges`, () => {
      expect(pkg.license).toBe('MIT OR Apache-2.0');
      expect(pkg.repository).toEqual({ type: 'git', url: `git+${REPO}.git`, directory: `packages/${dir}` });
      expect(pkg.homepage).toBe(`${REPO}/tree/main/packages/${dir}#readme`);
      expect(pkg.bugs).toEqual({ url: `${REPO}/issues` });
      expect(pkg.files).toEqual(expect.arrayContaining(['LICENSE-MIT', 'LICENSE-APACHE']));
      for (const [dep, range] of Object.entries(pkg.dependencies ?? {})) {
        expect(range, `${pkg.name} → ${dep}`).toMatch(/^(workspace:\^|\^\d+\.\d+\.\d+)$/);
      }
    });
  }

  it('@batpak/natsbat takes the NATS client as a peer (the user passes in their own connection)', () => {
    const pkg = read('packages/natsbat/package.json');
    for (const dep of ['@nats-io/jetstream', '@nats-io/transport-node']) {
      expect(pkg.dependencies?.[dep]).toBeUndefined();
      expect(pkg.peerDependencies?.[dep]).toMatch(/^\^3\./);
      expect(pkg.devDependencies?.[dep]).toBeDefined();
    }
  });
});

describe('tarballs', () => {
  for (const { dir, pkg } of published) {
    it(`${pkg.name}: npm pack ships both license texts`, () => {
      const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts=false'], {
        cwd: `${root}packages/${dir}`,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      const [report] = JSON.parse(out) as [{ files: { path: string }[] }];
      const files = report.files.map((f) => f.path);
      expect(files).toEqual(expect.arrayContaining(['LICENSE-MIT', 'LICENSE-APACHE', 'package.json']));
      expect(readFileSync(`${root}packages/${dir}/LICENSE-APACHE`, 'utf8')).toBe(readFileSync(`${root}LICENSE-APACHE`, 'utf8'));
    }, 60_000);
  }
});
