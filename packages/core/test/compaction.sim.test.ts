// INV-COMPACT-SWAP under faults: at least 300 seeded schedules that fail (rename, remove, fsync, ENOSPC,
// short writes) or crash at every step of the swap, with appends and verifyChain running alongside.
import { describe, expect, it } from 'vitest';
import { runCompactionOracle, type CompactionOracleResult } from './sim/compaction-oracle.js';

const single = process.env.BATPAK_COMPACT_SIM_SEED;
const SEEDS = Number(process.env.BATPAK_COMPACT_SIM_SEEDS ?? 300);

describe('compaction crash oracle (INV-COMPACT-SWAP)', () => {
  it(`old set or new set, never both or neither, across ${single === undefined ? SEEDS : 1} schedules`, async () => {
    const seeds = single === undefined ? Array.from({ length: SEEDS }, (_, i) => i + 1) : [Number(single)];
    const results: CompactionOracleResult[] = [];
    for (const seed of seeds) results.push(await runCompactionOracle(seed));
    const by = (f: (r: CompactionOracleResult) => boolean) => results.filter(f).length;
    console.log(
      `compaction oracle: ${results.length} seeds, ${by((r) => r.crashed)} crashes, ${by((r) => r.fault !== 'none')} planted faults, ` +
        `outcomes performed ${by((r) => r.outcome === 'performed')} / failed ${by((r) => r.outcome === 'failed')} / skipped ${by((r) => r.outcome === 'skipped')} / other ${by((r) => !['performed', 'failed', 'skipped'].includes(r.outcome))}, ` +
        `recovered old ${by((r) => r.state === 'old')} / new ${by((r) => r.state === 'new')}`,
    );
    expect(by((r) => r.state === 'new')).toBeGreaterThan(0);
    expect(by((r) => r.state === 'old')).toBeGreaterThan(0);
  }, 600_000);
});
