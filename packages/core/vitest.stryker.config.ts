// Vitest settings for mutation testing only (stryker.config.mjs): the fast unit, property and golden
// tests that exercise the mutated modules; the seeded simulations stay out so a mutant's run is short.
import { defineConfig } from 'vitest/config';
import { alias } from '../../vitest.shared.js';

export default defineConfig({
  resolve: { alias },
  test: {
    name: 'core-mutation',
    root: new URL('.', import.meta.url).pathname,
    include: [
      'test/store.test.ts',
      'test/chain.prop.test.ts',
      'test/ancestry.test.ts',
      'test/receipt.test.ts',
      'test/frame.prop.test.ts',
      'test/format.golden.test.ts',
      'test/compaction.test.ts',
      'test/shred.test.ts',
      'test/typed-errors.test.ts',
      'test/window.test.ts',
      'test/derived-not-authority.test.ts',
      'test/directory-evidence.test.ts',
      'test/input-edge.test.ts',
      'test/idempotency-conflict.test.ts',
      // verifyChain's in-place walk held to the reference walk under random damage (fewer runs per mutant here).
      'test/verify-fast-path.prop.test.ts',
      'test/*.mutation.test.ts',
    ],
    env: { BATPAK_FAST_PATH_RUNS: '10', BATPAK_FAST_PATH_WORKER_RUNS: '2' },
    setupFiles: ['test/stryker.setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
