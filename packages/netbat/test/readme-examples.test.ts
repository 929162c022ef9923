// The README examples marked `<!-- example: typechecked by … -->` compile under strict TypeScript as written.
// Each marked ```ts block becomes a file of a temp project whose @batpak/* imports map to the packages' sources.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const MARKER = '<!-- example: typechecked by packages/netbat/test/readme-examples.test.ts -->';
const READMES = ['README.md', 'packages/syncbat/README.md', 'packages/hostbat/README.md', 'packages/natsbat/README.md'];

function markedBlocks(readme: string): string[] {
  const text = readFileSync(join(root, readme), 'utf8');
  const blocks: string[] = [];
  let at = text.indexOf(MARKER);
  while (at >= 0) {
    const open = text.indexOf('```ts\n', at);
    const close = text.indexOf('\n```', open + 6);
    blocks.push(text.slice(open + 6, close + 1));
    at = text.indexOf(MARKER, close);
  }
  return blocks;
}

function natsTypes(): string {
  const require = createRequire(join(root, 'packages/natsbat/package.json'));
  return join(require.resolve('@nats-io/transport-node/package.json'), '..', 'lib/mod.d.ts');
}

describe('README examples', () => {
  it('every marked ```ts block typechecks under the repository strict settings', () => {
    const dir = mkdtempSync(join(tmpdir(), 'batpak-readme-'));
    try {
      const files: string[] = [];
      for (const readme of READMES) {
        markedBlocks(readme).forEach((code, i) => {
          const name = `${readme.replace(/[/.]/g, '_')}_${i}.ts`;
          writeFileSync(join(dir, name), code);
          files.push(name);
        });
      }
      expect(files).toHaveLength(READMES.length);
      const src = (p: string): string[] => [join(root, 'packages', p)];
      writeFileSync(join(dir, 'package.json'), '{ "type": "module" }');
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
              '@nats-io/transport-node': [natsTypes()],
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
      expect(out).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
