import { defineConfig } from 'vitest/config';
import { alias, setupFiles } from '../../vitest.shared.js';

export default defineConfig({
  resolve: { alias },
  test: {
    setupFiles,
    name: 'cli',
    include: ['test/**/*.test.ts'],
    // The tests run the built binary: build it (and any stale sibling dist it imports) once, first.
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
