// The reliability gauntlet's simulation (INV-CRASH-ORACLE, INV-COMPACT-SWAP, INV-BATCH-ATOMIC,
// INV-SHRED-DESTROYS-PLAINTEXT, INV-SHRED-NO-COPIES, INV-DELIVERY-ORACLE): seeded mixed workloads with crashes
// and every fault kind, then per seed a delivery workload (reactions, consumer acks) with crashes; see GAUNTLET.md.
// Some reopens first find index files deleted, cut, flipped or stale, and rebuild them (INV-INDEX-REBUILT-INLINE).
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GauntletFailure, runGauntlet, type GauntletResult } from './sim/gauntlet-oracle.js';
import { DeliveryFailure, runDeliveryGauntlet, type DeliveryResult } from './sim/delivery-oracle.js';

const single = process.env.BATPAK_GAUNTLET_SEED;
const SEEDS = Number(process.env.BATPAK_GAUNTLET_SEEDS ?? 150);
// The default run takes seeds far from the ones CI's `pnpm sim` step covers, so both add coverage.
const FROM = Number(process.env.BATPAK_GAUNTLET_FROM ?? 5_000_001);
const MAX_FAILURES = Number(process.env.BATPAK_GAUNTLET_MAX_FAILURES ?? 10);
// A seed takes milliseconds (SimFs is microtask-only): one that has not finished after this long has an
// operation that will never settle. That is a failure with its seed, not a CI job that stalls.
const HANG_MS = Number(process.env.BATPAK_GAUNTLET_HANG_MS ?? 30_000);

function watched<R>(seed: number, run: Promise<R>): Promise<R> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new GauntletFailure(seed, `hung: an operation never settled within ${HANG_MS} ms`, [])), HANG_MS);
  });
  return Promise.race([run, hung]).finally(() => clearTimeout(timer));
}

describe('gauntlet simulation (INV-CRASH-ORACLE, INV-COMPACT-SWAP, INV-BATCH-ATOMIC, INV-SHRED-DESTROYS-PLAINTEXT)', () => {
  it(`mixed workloads recover correctly across ${single === undefined ? SEEDS : 1} seeded schedules`, async () => {
    const seeds = single === undefined ? Array.from({ length: SEEDS }, (_, i) => FROM + i) : [Number(single)];
    const results: GauntletResult[] = [];
    const deliveries: DeliveryResult[] = [];
    const failures: GauntletFailure[] = [];
    for (const seed of seeds) {
      const trace = single !== undefined || process.env.BATPAK_SIM_DEBUG === '1';
      try {
        results.push(await watched(seed, runGauntlet({ seed, trace })));
        const lines: string[] = [];
        try {
          deliveries.push(await watched(seed, runDeliveryGauntlet({ seed, ...(trace ? { log: (l: string) => lines.push(l) } : {}) })));
        } catch (err) {
          throw err instanceof DeliveryFailure ? new GauntletFailure(seed, err.message, lines) : err;
        }
      } catch (err) {
        if (!(err instanceof GauntletFailure)) throw new Error(`gauntlet seed ${seed} threw outside the oracle: ${String(err)}\n  replay: pnpm sim --seed ${seed}`, { cause: err });
        failures.push(err);
        if (single !== undefined) console.log(err.trace.join('\n'));
        if (failures.length >= MAX_FAILURES) break;
      }
    }
    const sum = (k: keyof GauntletResult) => results.reduce((a, r) => a + (typeof r[k] === 'number' ? (r[k] as number) : 0), 0);
    const kinds: Record<string, number> = {};
    const faultOps: Record<string, number> = {};
    for (const r of results) {
      for (const [k, n] of Object.entries(r.faultKinds)) kinds[k] = (kinds[k] ?? 0) + n;
      for (const [k, n] of Object.entries(r.faultOps)) faultOps[k] = (faultOps[k] ?? 0) + n;
    }
    const summary = {
      seeds: seeds.length,
      passed: results.length,
      failed: failures.map((f) => f.seed),
      crashes: sum('crashes'),
      kills: sum('kills'),
      reopens: sum('reopens'),
      faults: sum('faults'),
      faultKinds: kinds,
      faultOps,
      refusals: sum('refusals'),
      typedErrors: sum('typedErrors'),
      acked: sum('acked'),
      compactions: sum('compactions'),
      compactionsPerformed: sum('compactionsPerformed'),
      compactedAway: sum('compactedAway'),
      shreds: sum('shreds'),
      reads: sum('reads'),
      verifies: sum('verifies'),
      indexFilesDamaged: sum('indexFilesDamaged'),
      deliveryCrashes: deliveries.reduce((a, d) => a + d.crashes, 0),
      reactions: deliveries.reduce((a, d) => a + d.reactions, 0),
      consumerAcks: deliveries.reduce((a, d) => a + d.acks, 0),
    };
    if (process.env.BATPAK_GAUNTLET_SUMMARY !== undefined) writeFileSync(process.env.BATPAK_GAUNTLET_SUMMARY, JSON.stringify(summary));
    console.log(
      `gauntlet: ${summary.passed} of ${summary.seeds} seeds, ${summary.crashes} crashes, ${summary.kills} kills, ${summary.faults} faults ` +
        `(${Object.entries(kinds).map(([k, n]) => `${k} ${n}`).join(', ')}), ${summary.refusals} typed refusals, ` +
        `${summary.acked} acknowledged ops, ${summary.compactionsPerformed} of ${summary.compactions} compactions performed, ` +
        `${summary.compactedAway} events compacted away, ${summary.shreds} shreds, ${summary.indexFilesDamaged} index files damaged before a reopen; delivery: ${summary.deliveryCrashes} crashes, ` +
        `${summary.reactions} reactions seen committed, ${summary.consumerAcks} consumer acks confirmed`,
    );
    for (const f of failures) console.log(f.message);
    expect(failures.map((f) => f.message)).toEqual([]);
    if (single === undefined) expect(summary.crashes).toBeGreaterThanOrEqual(seeds.length);
  }, 1_800_000);
});
