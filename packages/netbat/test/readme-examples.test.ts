// Every ```ts / ```js block of the root README and of every package README compiles under the repository's strict
// TypeScript settings as written; a self-contained JavaScript block (no context) is also run against the built core.
// A fragment that uses names from the surrounding text states them in an `<!-- example-context: … -->` comment
// right above its fence (declarations only); nothing else is added to a block.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const READMES = ['README.md', ...readdirSync(join(root, 'packages')).filter((p) => existsSync(join(root, 'packages', p, 'README.md'))).map((p) => `packages/${p}/README.md`)];
const FENCE = /^```(ts|typescript|js|javascript)\n([\s\S]*?)^```$/gm;
// Only the comment right above the fence, and never across another comment's end.
const CONTEXT = /<!-- example-context:((?:(?!-->)[\s\S])*)-->\s*$/;

interface Example {
  readonly readme: string;
  readonly line: number;
  readonly lang: 'ts' | 'js';
  readonly code: string;
  /** Declarations of the names the block takes from the surrounding text. */
  readonly context: string | undefined;
}

function examples(readme: string): Example[] {
  const text = readFileSync(join(root, readme), 'utf8');
  const out: Example[] = [];
  for (const m of text.matchAll(FENCE)) {
    const before = text.slice(0, m.index);
    const context = CONTEXT.exec(before)?.[1]?.trim();
    out.push({ readme, line: before.split('\n').length, lang: m[1]!.startsWith('t') ? 'ts' : 'js', code: m[2]!, context });
  }
  return out;
}

const all = READMES.flatMap(examples);
const require = createRequire(join(root, 'packages/netbat/package.json'));
const fileOf = (e: Example) => `${e.readme.replace(/[/.]/g, '_')}_L${e.line}.ts`;

describe('README examples', () => {
  it('every README has its examples found (a renamed fence would drop them silently)', () => {
    const perReadme = Object.fromEntries(READMES.map((r) => [r, all.filter((e) => e.readme === r).length]));
    expect(perReadme).toEqual({
      'README.md': 1,
      'packages/cli/README.md': 0,
      'packages/core/README.md': 6,
      'packages/hostbat/README.md': 2,
      'packages/natsbat/README.md': 2,
      'packages/netbat/README.md': 5,
      'packages/syncbat/README.md': 3,
    });
  });

  it('every ```ts and ```js block typechecks under the repository strict settings', () => {
    const dir = mkdtempSync(join(tmpdir(), 'batpak-readme-'));
    try {
      const files = all.map((e) => {
        const name = fileOf(e);
        // The context goes first, on the block's own first line, so compiler lines point into the README.
        writeFileSync(join(dir, name), `${e.context ?? ''} export {};\n${e.code}`);
        return name;
      });
      const src = (p: string): string[] => [join(root, 'packages', p)];
      writeFileSync(join(dir, 'package.json'), '{ "type": "module" }');
      // A schema library for the typed-event example, installed as a user would have it.
      mkdirSync(join(dir, 'node_modules'));
      symlinkSync(dirname(require.resolve('zod/package.json')), join(dir, 'node_modules/zod'), 'dir');
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          extends: join(root, 'tsconfig.base.json'),
          compilerOptions: {
            noEmit: true,
            noUnusedLocals: false, // examples show values (`report`, `output`) without using them
            typeRoots: [join(root, 'node_modules/@types')],
            paths: {
              '@batpak/core': src('core/src/index.ts'),
              '@batpak/core/*': src('core/src/entry/*.ts'),
              '@batpak/syncbat': src('syncbat/src/index.ts'),
              '@batpak/netbat': src('netbat/src/index.ts'),
              '@batpak/hostbat': src('hostbat/src/index.ts'),
              '@batpak/natsbat': src('natsbat/src/index.ts'),
              '@nats-io/transport-node': [join(dirname(createRequire(join(root, 'packages/natsbat/package.json')).resolve('@nats-io/transport-node/package.json')), 'lib/mod.d.ts')],
            },
          },
          include: files,
        }),
      );
      const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
      let out = '';
      try {
        execFileSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8', stdio: 'pipe' });
      } catch (err) {
        out = String((err as { stdout?: string }).stdout ?? err);
      }
      // Name the README line of each error: `<file>(<line>,…)` → `<readme>:<line>`.
      const located = out.replace(/(\S+)_L(\d+)\.ts\((\d+),(\d+)\)/g, (_m, f: string, at: string, l: string) => `${f} (README line ${Number(at) + Number(l)})`);
      expect(located).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it('every self-contained ```js block runs against the built packages', () => {
    const runnable = all.filter((e) => e.lang === 'js' && e.context === undefined);
    expect(runnable.map((e) => e.readme)).toContain('packages/core/README.md');
    buildCoreIfStale();
    const dir = mkdtempSync(join(tmpdir(), 'batpak-readme-run-'));
    try {
      // The block imports @batpak/core as a user would: a node_modules link to the package (its dist).
      mkdirSync(join(dir, 'node_modules/@batpak'), { recursive: true });
      symlinkSync(join(root, 'packages/core'), join(dir, 'node_modules/@batpak/core'), 'dir');
      for (const e of runnable) {
        const file = join(dir, fileOf(e).replace(/\.ts$/, '.mjs'));
        writeFileSync(file, e.code);
        // cwd: the examples' relative store directories land in the temp directory.
        execFileSync(process.execPath, [file], { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it('every script in examples/ runs against the built packages', () => {
    buildCoreIfStale();
    const scripts = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.mjs'));
    expect(scripts).toEqual(expect.arrayContaining(['quickstart.mjs', 'otel-metrics.mjs', 'event-sourced-service.mjs']));
    for (const f of scripts) execFileSync(process.execPath, [join(root, 'examples', f)], { cwd: root, encoding: 'utf8', stdio: 'pipe' });
  }, 180_000);
});

/** Builds core's dist when it is missing or older than its sources (`pnpm test` has built it already). */
function buildCoreIfStale(): void {
  const pkg = join(root, 'packages/core');
  const newest = (d: string): number => Math.max(0, ...readdirSync(d).map((n) => (statSync(join(d, n)).isDirectory() ? newest(join(d, n)) : statSync(join(d, n)).mtimeMs)));
  const built = join(pkg, 'dist/index.js');
  if (existsSync(built) && statSync(built).mtimeMs >= newest(join(pkg, 'src'))) return;
  execFileSync(join(root, 'node_modules/.bin/tsup'), [], { cwd: pkg, stdio: ['ignore', 'ignore', 'inherit'] });
}
