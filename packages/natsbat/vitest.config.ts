import { defineConfig } from 'vitest/config';
import { alias, setupFiles } from '../../vitest.shared.js';

export default defineConfig({
  resolve: { alias },
  test: {
    setupFiles,
    name: 'natsbat',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
