// INV-CRASH-ORACLE: at least 500 seeded schedules of concurrent appends and batches on SimFs with
// random crashes and faults; every failing seed prints itself and a replay command.
import { describe, expect, it } from 'vitest';
import { runCrashOracle, type OracleResult } from './sim/crash-oracle.js';

const single = process.env.BATPAK_SIM_SEED;
const SEEDS = Number(process.env.BATPAK_SIM_SEEDS ?? 500);
const FROM = Number(process.env.BATPAK_SIM_FROM ?? 1);

describe('crash oracle (INV-CRASH-ORACLE)', () => {
  it(`recovers correctly across ${single === undefined ? SEEDS : 1} seeded crash schedules`, async () => {
    const seeds = single === undefined ? Array.from({ length: SEEDS }, (_, i) => FROM + i) : [Number(single)];
    const results: OracleResult[] = [];
    for (const seed of seeds) results.push(await runCrashOracle({ seed }));
    const sum = (k: 'crashes' | 'acked' | 'faults' | 'refusals') => results.reduce((a, r) => a + r[k], 0);
    console.log(
      `crash oracle: ${results.length} seeds, ${sum('crashes')} crashes, ${sum('acked')} acknowledged ops, ` +
        `${sum('faults')} injected faults, ${sum('refusals')} typed refusals`,
    );
    expect(results).toHaveLength(seeds.length);
    expect(sum('crashes')).toBeGreaterThanOrEqual(seeds.length);
  }, 600_000);
});
