import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { cli: 'src/cli.ts' },
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  // A binary, not a library: no declarations. The shebang comes from src/cli.ts's first line.
  dts: false,
  clean: true,
  splitting: false,
  sourcemap: false,
});
