// Projection crash oracle (INV-PROJECTION-SHRED-SAFE, INV-PROJECTION-SNAPSHOT-CHECKED): seeded schedules of
// appends, snapshot-writing projections and shreds, killed at a random Fs step (often mid snapshot write),
// then a power loss. No file holds a shredded entity's plaintext; every projection equals a hand fold.
import { describe, expect, it } from 'vitest';
import { runProjectionOracle, type ProjectionOracleResult } from './sim/projection-oracle.js';

const ONE = process.env.BATPAK_PROJECTION_SIM_SEED;
const SEEDS = Number(process.env.BATPAK_PROJECTION_SIM_SEEDS ?? 200);
const FROM = Number(process.env.BATPAK_SIM_FROM ?? 1);

describe('projection crash oracle', () => {
  it(`keeps projections shred-safe and snapshots honest across ${ONE === undefined ? SEEDS : 1} schedules`, async () => {
    const seeds = ONE === undefined ? Array.from({ length: SEEDS }, (_, i) => FROM + i) : [Number(ONE)];
    const results: ProjectionOracleResult[] = [];
    for (const seed of seeds) results.push(await runProjectionOracle(seed));
    const killed = results.filter((r) => r.killedAt > 0).length;
    const shredded = results.reduce((a, r) => a + r.shreddedEntities, 0);
    const inSnapshots = results.filter((r) => r.killedInProjections).length;
    console.log(`projection oracle: ${results.length} seeds, ${killed} killed mid-schedule (${inSnapshots} inside a projection snapshot write or removal), ${shredded} shredded entities after recovery`);
    if (ONE === undefined) {
      expect(killed).toBeGreaterThan(results.length / 4);
      expect(shredded).toBeGreaterThan(0);
      expect(inSnapshots).toBeGreaterThan(results.length / 20);
    }
  }, 600_000);
});
