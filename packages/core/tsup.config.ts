import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    format: 'src/entry/format.ts',
    canonical: 'src/entry/canonical.ts',
    rust: 'src/entry/rust.ts',
    testing: 'src/entry/testing.ts',
  },
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  // tsup's dts step sets baseUrl, which TypeScript 6 deprecates.
  dts: { compilerOptions: { ignoreDeprecations: '6.0' } },
  clean: true,
  splitting: true,
  sourcemap: false,
});
