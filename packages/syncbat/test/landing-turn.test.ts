// A dispatch started as soon as the previous one's receipt arrived reaches the store in that commit's landing turn, so
// the store may write its commit on the calling thread (AppendHint.alone), as it does for a core writer awaiting its
// receipts; a dispatch started from a later callback (a request, a timer) still arrives as one, and never is.
import { Store, type AppendHint, type Fs, type FsFile } from '@batpak/core';
import { SimFs } from '@batpak/core/testing';
import { describe, expect, it } from 'vitest';
import { bytes, persistCore } from './helpers/fixtures.js';

const macrotask = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * SimFs whose files record the hint of every append (the commit groups' writes). An append not offered as alone
 * completes a macrotask later, as RealFs's thread-pool write does: SimFs alone completes in microtasks, so the event
 * loop would never turn and, past the store's chain budget, no group would be alone again.
 */
function recording(): { fs: Fs; hints: (AppendHint | undefined)[] } {
  const hints: (AppendHint | undefined)[] = [];
  const sim = new SimFs(3);
  const fs = new Proxy(sim, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop !== 'open') return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      return async (...args: unknown[]): Promise<FsFile> => {
        const file = await sim.open(...(args as Parameters<Fs['open']>));
        return new Proxy(file, {
          get(f, p, r) {
            if (p === 'append') {
              return async (chunks: readonly Uint8Array[], hint?: AppendHint) => {
                hints.push(hint);
                if (hint?.alone !== true) await macrotask();
                return f.append(chunks, hint);
              };
            }
            const v = Reflect.get(f, p, r) as unknown;
            return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(f) : v;
          },
        });
      };
    },
  }) as unknown as Fs;
  return { fs, hints };
}

async function persisting(fs: Fs) {
  const store = await Store.open({ dir: '/lt', fs });
  return { store, core: persistCore(store) };
}

describe('commits submitted in a landing turn', () => {
  it('one dispatch in flight, each started when the last receipt arrived: its commits may be written alone', async () => {
    const { fs, hints } = recording();
    const { store, core } = await persisting(fs);
    await core.dispatch('orders.place', bytes('warm'));
    hints.length = 0;
    for (let i = 0; i < 20; i++) await core.dispatch('orders.place', bytes(`o${i}`));
    expect(hints).toHaveLength(20);
    // Every one, but for a group the store keeps off the calling thread once such turns have held the event loop for
    // its chain budget (10 ms: a slow machine may reach it).
    expect(hints.filter((h) => h?.alone === true).length).toBeGreaterThanOrEqual(15);
    expect(hints.every((h) => h !== undefined)).toBe(true);
    await store.close();
  });

  it('a dispatch started from a later callback arrives on its own: its commit is never written alone', async () => {
    const { fs, hints } = recording();
    const { store, core } = await persisting(fs);
    await core.dispatch('orders.place', bytes('warm'));
    hints.length = 0;
    for (let i = 0; i < 5; i++) {
      await macrotask();
      await core.dispatch('orders.place', bytes(`o${i}`));
    }
    expect(hints).toEqual(Array.from({ length: 5 }, () => ({ alone: false })));
    await store.close();
  });
});

describe('between a commit and its dispatch', () => {
  it('a completed dispatch settles from its commit settling: its caller resumes one microtask after the store does, not two', async () => {
    const store = await Store.open({ dir: '/lt-hops', fs: new SimFs(5) });
    const core = persistCore(store);
    await core.dispatch('orders.place', bytes('warm'));
    // Microtasks run after the store's appendBatch promise settled, counted by a chain started from that settlement
    // (its reaction is registered before syncbat's own, so it runs first).
    let hops = -1;
    const appendBatch = store.appendBatch.bind(store);
    store.appendBatch = (items, options) => {
      const p = appendBatch(items, options);
      void p.then(() => {
        hops = 0;
        const spin = (): void => {
          if (++hops < 10) queueMicrotask(spin);
        };
        queueMicrotask(spin);
      });
      return p;
    };
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) {
      await core.dispatch('orders.place', bytes(`o${i}`));
      seen.push(hops);
    }
    // The caller's await is the one microtask hop left (the commit's own reaction settles the dispatch).
    expect(seen).toEqual([1, 1, 1, 1, 1]);
    await store.close();
  });

  it('one process.nextTick per landing: it ends the landing and submits the commits started from it', async () => {
    const { createHook } = await import('node:async_hooks');
    const store = await Store.open({ dir: '/lt-ticks', fs: new SimFs(6) });
    const core = persistCore(store);
    await core.dispatch('orders.place', bytes('warm'));
    let ticks = 0;
    const hook = createHook({
      init(_id, type) {
        if (type === 'TickObject') ticks++;
      },
    });
    hook.enable();
    try {
      for (let i = 0; i < 20; i++) await core.dispatch('orders.place', bytes(`o${i}`));
    } finally {
      hook.disable();
    }
    expect(ticks).toBeLessThanOrEqual(20);
    await store.close();
  });
});
