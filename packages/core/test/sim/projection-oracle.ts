// The projection crash oracle (INV-PROJECTION-SHRED-SAFE, INV-PROJECTION-SNAPSHOT-CHECKED under crashes):
// a seeded schedule of appends, projections that write snapshots, and shreds, with the process killed at
// a random Fs step (often inside a snapshot write) and the machine then losing what was not durable.
// After recovery: no file holds plaintext of a shredded entity (snapshot or temp file), and every
// projection read (from a snapshot or not) equals a hand fold of the log.

import { BatpakError, Coordinate, defineEvent, defineProjection, Store, type Fs, type FsFile, type StoredEvent, type StoreOptions } from '../../src/index.js';
import { KillableFs, SeededRng, SimFs } from '../../src/entry/testing.js';
import { dirname } from 'node:path';
import { atomicTempPath, writeFileAtomicSteps } from '../../src/fs/atomic-write.js';
import { encodePayload } from '../../src/payload.js';

const Entry = defineEvent<{ text: string }>({ category: 7, typeId: 1, name: 'Entry' });
const Other = defineEvent<{ text: string }>({ category: 7, typeId: 2, name: 'Other' });

type State = { texts: string[]; shredded: number };

/** The projection under test; `snapshotEvery` varies, the fold never does. */
function journal(snapshotEvery: number) {
  return defineProjection({
    name: 'journal',
    version: 1,
    kinds: [Entry],
    snapshotEvery,
    initial: (): State => ({ texts: [], shredded: 0 }),
    apply: (s: State, e: StoredEvent): State => (e.shredded ? { texts: s.texts, shredded: s.shredded + 1 } : { texts: [...s.texts, (e.payload as { text: string }).text], shredded: s.shredded }),
  });
}

export interface ProjectionOracleResult {
  readonly seed: number;
  /** Fs steps the kill landed after (0: the schedule finished first). */
  readonly killedAt: number;
  /** Warnings the store gave (ignored snapshots among them). */
  readonly warnings: number;
  readonly shreddedEntities: number;
  /** The kill landed on a call under the projections directory (a snapshot write or removal). */
  readonly killedInProjections: boolean;
}

export class ProjectionOracleFailure extends Error {}

/** Counts Fs and file calls while armed; kills the process view at call `at`. */
function stepping(inner: KillableFs, at: number): { fs: Fs; arm: () => void; steps: () => number; killedIn: () => string } {
  let armed = false;
  let count = 0;
  let killedIn = '';
  let temps = 0;
  const wrap = <T extends object>(target: T, isFs: boolean): T =>
    new Proxy(target, {
      get(t, p) {
        const v = Reflect.get(t, p) as unknown;
        if (typeof v !== 'function') return v;
        // Spelled out step by step through this view, so the kill can land between any two steps.
        if (isFs && p === 'writeFileAtomic') {
          return (path: string, data: Uint8Array) => writeFileAtomicSteps(view, path, atomicTempPath(path, `k${++temps}`), dirname(path), data);
        }
        return (...args: unknown[]) => {
          if (armed && ++count === at) {
            inner.kill();
            killedIn = `${String(p)} ${isFs ? String(args[0]) : (t as { path: string }).path}`;
          }
          const r = (v as (...a: unknown[]) => unknown).apply(t, args);
          return isFs && p === 'open' ? (r as Promise<FsFile>).then((f) => wrap(f, false)) : r;
        };
      },
    });
  const view = wrap(inner as Fs, true);
  return { fs: view, arm: () => (armed = true), steps: () => count, killedIn: () => killedIn };
}

const DEBUG = process.env.BATPAK_SIM_DEBUG === '1';
const text = (entity: string, n: number) => `SECRET-${entity}-${n}-END`;

export async function runProjectionOracle(seed: number): Promise<ProjectionOracleResult> {
  const rng = new SeededRng(seed, 0x9e01);
  const sim = new SimFs(seed);
  let clock = 1_700_000_000_000;
  const entities = Array.from({ length: 2 + rng.below(3) }, (_, i) => `acct:${i}`);
  const snapshotEvery = 1 + rng.below(4);
  const powerLoss = rng.chance(0.5);
  const warnings: string[] = [];
  const base: Omit<StoreOptions, 'fs'> = {
    dir: '/db',
    payloadEncryption: { granularity: 'entity' },
    segmentMaxBytes: 600 + rng.below(2000),
    now: () => (clock += 1),
    onWarning: (w) => warnings.push(w),
    ...(rng.chance(0.3) ? { projectionCacheSize: rng.below(2) } : {}),
  };
  const fail = (message: string): never => {
    throw new ProjectionOracleFailure(`projection oracle failed for seed ${seed}: ${message}\n  replay: BATPAK_PROJECTION_SIM_SEED=${seed} npx vitest run packages/core/test/projection.sim.test.ts`);
  };
  const typed = (err: unknown) => {
    if (!(err instanceof BatpakError)) fail(`untyped error ${String(err)}`);
  };

  const proc = new KillableFs(sim);
  const killAt = 1 + rng.below(90);
  const step = stepping(proc, killAt);
  const store = await Store.open({ ...base, fs: step.fs });
  const counts = new Map(entities.map((e) => [e, 0]));
  /** Acknowledged events' texts: a shredded one must then be in no file. */
  const textOf = new Map<string, string>();
  const append = async (entity: string) => {
    const n = counts.get(entity)!;
    counts.set(entity, n + 1);
    const r = await store.append(new Coordinate(entity, 'ledger'), rng.chance(0.8) ? Entry : Other, { text: text(entity, n) });
    textOf.set(r.eventId, text(entity, n));
  };
  for (let i = 0; i < 6 + rng.below(10); i++) await append(entities[rng.below(entities.length)]!);
  const def = journal(snapshotEvery);
  for (const e of entities) await store.project(def, e);

  // The schedule: concurrent projections (writing snapshots), appends and shreds until the kill.
  step.arm();
  const pending: Promise<unknown>[] = [];
  for (let round = 0; round < 12 && proc.alive; round++) {
    for (let k = 0; k < 1 + rng.below(4); k++) {
      const e = entities[rng.below(entities.length)]!;
      const roll = rng.below(10);
      const op = roll < 5 ? store.project(def, e) : roll < 9 ? append(e) : store.shredScope({ entity: e });
      const what = roll < 5 ? 'project' : roll < 9 ? 'append' : 'shred';
      if (DEBUG) console.log(`round ${round}: ${what} ${e} (step ${step.steps()})`);
      pending.push(op.then((r) => DEBUG && console.log(`  ${what} ${e} ok at step ${step.steps()}`, JSON.stringify(r, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))?.slice(0, 120)), (err: unknown) => {
        if (DEBUG) console.log(`  ${what} ${e} failed at step ${step.steps()}: ${String(err)}`);
        typed(err);
      }));
    }
    await Promise.all(pending.splice(0));
  }
  const killedAt = proc.alive ? 0 : step.steps();
  await store.close().catch(typed);
  proc.kill();
  // Half the seeds lose power too; the others only lose the process (its temp files stay on disk).
  if (powerLoss) sim.crash({ tear: true });

  // Recovery, then the checks.
  const again = await Store.open({ ...base, fs: new KillableFs(sim) });
  const shredded = new Set<string>();
  const lost: string[] = [];
  for (const e of entities) {
    const hand: State = { texts: [], shredded: 0 };
    for await (const ev of again.query({ entity: e })) {
      if (ev.shredded) {
        shredded.add(e);
        const t = textOf.get(ev.header.eventId);
        if (t !== undefined) lost.push(t);
      }
      if (ev.header.kind.typeId !== Entry.kind.typeId) continue;
      if (ev.shredded) hand.shredded++;
      else hand.texts.push((ev.payload as { text: string }).text);
    }
    const head = again.head(e)?.entitySequence ?? 0n;
    const fromSnapshot = await again.project(journal(snapshotEvery), e);
    const fromLog = await again.project(journal(0), e);
    for (const [how, r] of [['with its snapshot', fromSnapshot], ['from the log', fromLog]] as const) {
      if (JSON.stringify(r.state) !== JSON.stringify(hand)) fail(`${e} projected ${how} is ${JSON.stringify(r.state)}, the log says ${JSON.stringify(hand)}`);
      if (r.entitySequence !== head) fail(`${e} projected ${how} at entity sequence ${r.entitySequence}, head ${head}`);
    }
  }
  const leaks = (texts: readonly string[]) => {
    for (const t of texts) {
      const needle = Buffer.from(encodePayload(t));
      for (const [path, info] of sim.snapshot()) if (Buffer.from(info.current).indexOf(needle) !== -1) return `${path} holds ${t}`;
    }
    return undefined;
  };
  const leak = leaks(lost);
  if (leak !== undefined) fail(`after recovery, a shredded payload is still in a file: ${leak}`);
  // A shred after recovery also removes what the crash left behind (temp files of a killed snapshot write).
  const survivor = entities.find((e) => !shredded.has(e));
  if (survivor !== undefined && counts.get(survivor)! > 0) {
    await again.shredScope({ entity: survivor });
    const leak = leaks(Array.from({ length: counts.get(survivor)! }, (_, n) => text(survivor, n)));
    if (leak !== undefined) fail(`after a shred of ${survivor} following recovery, ${leak}`);
    if ((await again.project(def, survivor)).state.texts.length !== 0) fail(`${survivor}'s state still has texts after its shred`);
  }
  await again.close();
  return { seed, killedAt, warnings: warnings.length, shreddedEntities: shredded.size, killedInProjections: step.killedIn().includes('/projections') };
}
