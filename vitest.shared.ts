// Shared vitest settings: tests import sibling packages from source, so `pnpm test:unit`
// never depends on a stale dist/ build.
import { fileURLToPath } from 'node:url';

const pkg = (p: string) => fileURLToPath(new URL(`./packages/${p}`, import.meta.url));

export const alias = [
  { find: /^@batpak\/core\/(testing|format|canonical|rust)$/, replacement: pkg('core/src/entry/$1.ts') },
  { find: /^@batpak\/core$/, replacement: pkg('core/src/index.ts') },
  { find: /^@batpak\/syncbat$/, replacement: pkg('syncbat/src/index.ts') },
  { find: /^@batpak\/netbat$/, replacement: pkg('netbat/src/index.ts') },
  { find: /^@batpak\/hostbat$/, replacement: pkg('hostbat/src/index.ts') },
  { find: /^@batpak\/natsbat$/, replacement: pkg('natsbat/src/index.ts') },
  { find: /^@batpak\/cli$/, replacement: pkg('cli/src/main.ts') },
];

/** The setup every package's tests run first (vitest.setup.ts: BatpakWarnings are not printed). */
export const setupFiles = [new URL('./vitest.setup.ts', import.meta.url).pathname];
