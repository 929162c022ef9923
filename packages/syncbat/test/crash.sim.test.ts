// Crash check (INV-SYNCBAT-CRASH-ATOMIC): a stream of concurrent store-backed dispatches over SimFs, killed at every
// disk step in turn (then a torn crash and a reopen): every committed effect has exactly one receipt naming its
// invocation, every receipt's effects are all present, no receipt is duplicated, and acknowledged dispatches survive.
import { Coordinate, Store, decodeCanonical, type StoredEvent } from '@batpak/core';
import { KillableFs, SimFs } from '@batpak/core/testing';
import { describe, expect, it } from 'vitest';
import {
  CoreBuilder,
  HandlerError,
  SYNCBAT_RECEIPT_KIND,
  StoreEffectBackend,
  StoreOperationStatusSink,
  StoreReceiptSink,
  decodeReceiptEnvelope,
  defineOperation,
} from '../src/index.js';
import { collect } from './helpers/fixtures.js';
import { StepFs } from './sim/step-fs.js';

const APP = new Coordinate('app:orders', 'scope:sim');
const RECEIPTS = new Coordinate('syncbat:receipt', 'scope:sim');
const DISPATCHES = 24;
const utf8 = new TextEncoder();
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Dispatch `n` appends `n % 3 + 1` events; every fifth then fails, every seventh appends an undeclared kind (denied). */
function plan(n: number): { appends: number; outcome: 'completed' | 'failed' | 'denied' } {
  return { appends: (n % 3) + 1, outcome: n % 5 === 0 ? 'failed' : n % 7 === 0 ? 'denied' : 'completed' };
}

interface Run {
  readonly sim: SimFs;
  readonly steps: number;
  /** Dispatches whose promise resolved or rejected with their receipt before the kill (must survive). */
  readonly acked: Set<number>;
}

async function runStream(seed: number, killAt: number): Promise<Run> {
  const sim = new SimFs(seed);
  const proc = new KillableFs(sim);
  const fs = new StepFs(proc, killAt);
  const acked = new Set<number>();
  let store: Store;
  try {
    store = await Store.open({ dir: '/db', fs });
  } catch {
    return { sim, steps: fs.steps, acked };
  }
  const core = new CoreBuilder()
    .register(
      defineOperation({
        name: 'orders.place',
        effectClass: 'persist',
        effects: { appends: ['evt.f001'] },
        handler: async (input, ctx) => {
          const n = Number(text(input));
          const p = plan(n);
          ctx.attachSigned('dispatch', input);
          for (let i = 0; i < p.appends; i++) await ctx.appendEvent(0xf001, utf8.encode(`${n}:${i}`));
          if (p.outcome === 'denied') await ctx.appendEvent(0xf002, utf8.encode('undeclared')).catch(() => undefined);
          if (p.outcome === 'failed') throw HandlerError.failed('on purpose');
          return input;
        },
      }),
    )
    .effectBackend(new StoreEffectBackend(store, APP))
    .receiptSink(new StoreReceiptSink(store, RECEIPTS))
    .statusSink(new StoreOperationStatusSink(store))
    .build();
  // Waves of concurrent dispatches: group commits inside a wave, sequential commits between waves.
  for (let wave = 0; wave < DISPATCHES; wave += 6) {
    const ids = [0, 1, 2, 3, 4, 5].map((k) => wave + k);
    const settled = await Promise.allSettled(ids.map((n) => core.dispatch('orders.place', utf8.encode(String(n)))));
    settled.forEach((s, k) => {
      const banked = s.status === 'fulfilled' || (s.reason as { receipt?: unknown }).receipt !== undefined;
      if (banked && proc.alive) acked.add(ids[k]!);
    });
  }
  // The close's own steps count too: a kill there is one more crash point.
  await store.close().catch(() => undefined);
  return { sim, steps: fs.steps, acked };
}

/** Reopens after a torn crash and checks the invocation-level invariants over everything committed. */
async function check(run: Run, killAt: number): Promise<void> {
  const where = `killed at step ${killAt}`;
  run.sim.crash({ tear: true });
  const store = await Store.open({ dir: '/db', fs: new KillableFs(run.sim) });
  try {
    const effects = new Map<number, string[]>();
    for (const e of await collect(store.query({ entity: APP.entity }))) {
      const bin = decodeCanonical((await store.getRaw(e.header.eventId)).bytes);
      const [n, i] = text((bin as { v: Uint8Array }).v).split(':');
      const list = effects.get(Number(n)) ?? [];
      list.push(i!);
      effects.set(Number(n), list);
    }
    const receipts = new Map<number, string>();
    const events: StoredEvent[] = await collect(store.query({ kind: SYNCBAT_RECEIPT_KIND }));
    for (const e of events) {
      const env = decodeReceiptEnvelope((await store.getRaw(e.header.eventId)).bytes);
      const n = Number(text(env.signedExtensions.get('dispatch')!));
      expect(receipts.has(n), `${where}: dispatch ${n} has two receipts`).toBe(false);
      receipts.set(n, env.outcome.class);
    }
    for (const [n, list] of effects) {
      expect(receipts.get(n), `${where}: dispatch ${n} has effects but no completed receipt`).toBe('completed');
      expect(list.length, `${where}: dispatch ${n} effects appear more than once`).toBe(new Set(list).size);
    }
    for (const [n, outcome] of receipts) {
      const want = plan(n);
      expect(outcome, `${where}: dispatch ${n} outcome`).toBe(want.outcome);
      expect(effects.get(n)?.length ?? 0, `${where}: dispatch ${n} receipt without all its effects`).toBe(want.outcome === 'completed' ? want.appends : 0);
    }
    for (const n of run.acked) expect(receipts.has(n), `${where}: acknowledged dispatch ${n} lost`).toBe(true);
    expect((await store.verifyChain()).intact, `${where}: chain`).toBe(true);
  } finally {
    await store.close();
  }
}

describe('INV-SYNCBAT-CRASH-ATOMIC: crash at every step of a dispatch stream', () => {
  it('every committed effect has exactly one receipt naming it, and every receipt has all its effects', async () => {
    const full = await runStream(1, 0);
    expect(full.acked.size).toBe(DISPATCHES);
    await check(full, 0);
    expect(full.steps).toBeGreaterThan(4);
    for (let killAt = 1; killAt <= full.steps; killAt++) {
      const run = await runStream(1, killAt);
      await check(run, killAt);
    }
  }, 120_000);
});
