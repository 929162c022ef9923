// StrykerJS (mutation testing) over core's integrity modules: chain, receipt, keyset, frame codec,
// compaction and the state-file envelope. Incremental: stryker/incremental.json (committed) lets CI
// re-test only changed mutants.
// Run with `pnpm mutation` (scripts/mutation-run.mjs prints the per-module score and enforces 80 %).

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'packages/core/vitest.stryker.config.ts', related: false },
  coverageAnalysis: 'perTest',
  mutate: [
    'packages/core/src/chain/**/*.ts',
    'packages/core/src/receipt/**/*.ts',
    'packages/core/src/keyset/**/*.ts',
    'packages/core/src/segment/frame.ts',
    'packages/core/src/compaction/**/*.ts',
    'packages/core/src/encoding/envelope.ts',
  ],
  // The machine has two cores shared with other work: one test process at a time by default.
  concurrency: Number(process.env.STRYKER_CONCURRENCY ?? 1),
  incremental: true,
  incrementalFile: 'stryker/incremental.json',
  thresholds: { high: 90, low: 80, break: null },
  reporters: ['clear-text', 'progress-append-only', 'json'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportMutants: false, reportScoreTable: true },
  // Only what the mutated package's tests need goes into the sandbox.
  ignorePatterns: ['bench', 'packages/cli', 'packages/hostbat', 'packages/syncbat', 'packages/netbat', 'examples', 'reports', 'stryker', '.node24', '**/dist'],
  timeoutMS: 10_000,
  timeoutFactor: 2,
  disableTypeChecks: 'packages/core/{src,test}/**/*.ts',
  // Static mutants (module-level constants) would re-run every test per mutant; the golden and
  // property tests pin those tables byte for byte, so they are skipped to keep CI inside its budget.
  ignoreStatic: true,
  cleanTempDir: 'always',
};
