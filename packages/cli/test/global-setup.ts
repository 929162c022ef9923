// Builds the real `batpak` binary before the CLI tests run it, and any sibling dist it imports that is older than its sources.
// Invariant: the tests always exercise dist/cli.js built from the current sources — in `pnpm test` (built already: nothing to do) and when run alone.

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
// Dependency order: each package imports the dist of the ones before it.
const PACKAGES: readonly (readonly [name: string, entry: string])[] = [
  ['core', 'dist/index.js'],
  ['syncbat', 'dist/index.js'],
  ['netbat', 'dist/index.js'],
  ['cli', 'dist/cli.js'],
];

function newestSource(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    newest = Math.max(newest, st.isDirectory() ? newestSource(p) : st.mtimeMs);
  }
  return newest;
}

export default function setup(): void {
  let rebuilt = false;
  for (const [name, entry] of PACKAGES) {
    const pkg = join(root, 'packages', name);
    const built = join(pkg, entry);
    const sources = Math.max(newestSource(join(pkg, 'src')), statSync(join(pkg, 'package.json')).mtimeMs, statSync(join(pkg, 'tsup.config.ts')).mtimeMs);
    // Once a dependency is rebuilt, everything after it is rebuilt too.
    if (!rebuilt && existsSync(built) && statSync(built).mtimeMs >= sources) continue;
    execFileSync(join(root, 'node_modules', '.bin', 'tsup'), [], { cwd: pkg, stdio: ['ignore', 'ignore', 'inherit'] });
    rebuilt = true;
  }
}
