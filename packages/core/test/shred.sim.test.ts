// Crypto-shred crash oracle (INV-KEY-FENCE, INV-SHRED-DESTROYS-PLAINTEXT, INV-SHRED-NO-COPIES): at least 300 seeded
// schedules with encryption, random shreds, and faults on keyset flushes (fsync failure or lie, rename
// failure, crash mid-write). No acknowledged event ever becomes undecryptable unless its scope was shredded.
import { describe, expect, it } from 'vitest';
import { runCrashOracle, type OracleResult } from './sim/crash-oracle.js';

const SEEDS = Number(process.env.BATPAK_SHRED_SIM_SEEDS ?? 300);
const FROM = Number(process.env.BATPAK_SIM_FROM ?? 1);

describe('crypto-shred crash oracle', () => {
  it(`keeps every acknowledged event decryptable unless shredded, across ${SEEDS} schedules`, async () => {
    const results: OracleResult[] = [];
    for (let seed = FROM; seed < FROM + SEEDS; seed++) results.push(await runCrashOracle({ seed: seed + 1_000_000, encrypted: true }));
    const sum = (k: 'crashes' | 'acked' | 'faults' | 'shreds' | 'refusals' | 'kills') => results.reduce((a, r) => a + r[k], 0);
    console.log(
      `shred oracle: ${results.length} seeds, ${sum('crashes')} crashes, ${sum('kills')} kills, ${sum('acked')} acknowledged ops, ` +
        `${sum('shreds')} completed shreds, ${sum('faults')} injected faults, ${sum('refusals')} typed refusals`,
    );
    expect(sum('shreds')).toBeGreaterThan(0);
  }, 600_000);
});
