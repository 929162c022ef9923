import { defineConfig } from 'vitest/config';
import { alias } from '../../vitest.shared.js';

export default defineConfig({
  resolve: { alias },
  test: {
    name: 'natsbat',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
