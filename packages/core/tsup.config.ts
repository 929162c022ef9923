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
  // Entries share chunks (JS and declarations alike), so a class such as Store or Coordinate exists once:
  // `instanceof` and its #private-field type agree between @batpak/core and its subpaths. The API
  // baseline script reads the hashed declaration chunks too.
  splitting: true,
  sourcemap: false,
});
