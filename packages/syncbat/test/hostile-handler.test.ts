// A hostile handler against the Core (issue 26): mutated and getter kinds, escaped async context, a stashed Ctx, re-entry,
// forged receipt keys. INV-SYNCBAT-EFFECTS-DECLARED, INV-SYNCBAT-AUTHORITY-BOUND, INV-SYNCBAT-NO-REENTRY, INV-SYNCBAT-RESERVED-KEYS.
import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import { Coordinate, type Store } from '@batpak/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CoreBuilder,
  EffectError,
  EffectRow,
  RuntimeError,
  SYNCBAT_EFFECTS_KEY,
  StoreEffectBackend,
  decodeInvocationEffects,
  defineOperation,
  operationDescriptor,
  type Core,
  type Ctx,
  type Handler,
} from '../src/index.js';
import { CapturingSink, CapturingStatusSink, RecordingBackend, bytes, collect, rejectionOf, simStore } from './helpers/fixtures.js';

const APP = new Coordinate('app:orders', 'scope:test');
const DECLARED = Object.freeze({ category: 0xf, typeId: 1 });

// Escape hatches a hostile module sets up at load time, before any dispatch exists.
const outside = AsyncLocalStorage.snapshot();
const resource = new AsyncResource('hostile.loader');

let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

function appendCore(s: Store, handler: Handler, sink = new CapturingSink()): Core {
  return new CoreBuilder()
    .register(defineOperation({ name: 'orders.place', effectClass: 'persist', effects: { appends: [DECLARED] }, handler }))
    .effectBackend(new StoreEffectBackend(s, APP))
    .receiptSink(sink)
    .build();
}

async function kindsAt(s: Store, entity: string): Promise<string[]> {
  return (await collect(s.query({ entity }))).map((e) => `${e.header.kind.category.toString(16)}${e.header.kind.typeId.toString(16).padStart(3, '0')}`);
}

describe('INV-SYNCBAT-EFFECTS-DECLARED: the checked kind is the appended kind', () => {
  it('a kind object mutated after the call is refused, and the store holds no undeclared event', async () => {
    store = await simStore(41);
    const sink = new CapturingSink();
    const core = appendCore(
      store,
      async (input, ctx) => {
        const k = { category: 0xf, typeId: 2 };
        const p = ctx.appendEvent(k, input);
        k.typeId = 1;
        await p;
        return input;
      },
      sink,
    );
    const err = (await rejectionOf(core.dispatch('orders.place', bytes('x')))) as RuntimeError;
    expect(err.detail).toMatchObject({ kind: 'denied', code: 'effect.violation', message: 'observed undeclared appends_events target "evt.f002"' });
    expect(await kindsAt(store, APP.entity)).toEqual([]);
    expect(sink.seen.map((e) => e.outcome.class)).toEqual(['denied']);
  });

  it('a getter-based kind is read once: the value refused is the value that would have been appended', async () => {
    store = await simStore(42);
    let reads = 0;
    const core = appendCore(store, async (input, ctx) => {
      const k = {
        category: 0xf,
        get typeId() {
          return reads++ === 0 ? 2 : 1;
        },
      };
      await ctx.appendEvent(k, input);
      return input;
    });
    const err = (await rejectionOf(core.dispatch('orders.place', bytes('x')))) as RuntimeError;
    expect(err.detail).toMatchObject({ kind: 'denied', code: 'effect.violation', message: 'observed undeclared appends_events target "evt.f002"' });
    expect(reads).toBe(1);
    expect(await kindsAt(store, APP.entity)).toEqual([]);
  });

  it('a declared kind mutated afterwards is appended as declared and completes; the receipt lists what was performed', async () => {
    store = await simStore(43);
    const sink = new CapturingSink();
    const core = appendCore(
      store,
      async (input, ctx) => {
        const k = { category: 0xf, typeId: 1 };
        const p = ctx.appendEvent(k, input);
        k.typeId = 2;
        await p;
        return input;
      },
      sink,
    );
    const { receipt } = await core.dispatch('orders.place', bytes('x'));
    expect(await kindsAt(store, APP.entity)).toEqual(['f001']);
    const effects = decodeInvocationEffects(receipt!.envelope.signedExtensions.get(SYNCBAT_EFFECTS_KEY)!);
    expect(effects.performed.appendsEvents).toEqual(['evt.f001']);
    expect(effects.refused.isEmpty()).toBe(true);
  });

  it('malformed kinds are refused with ERR_EFFECT_INVALID and never reach the backend', async () => {
    const backend = new RecordingBackend();
    const seen: unknown[] = [];
    const core = new CoreBuilder()
      .register(
        defineOperation({
          name: 'orders.place',
          effectClass: 'persist',
          effects: { appends: [DECLARED] },
          handler: async (input, ctx) => {
            for (const k of [{ category: 0x1f, typeId: 1 }, { category: 0xf, typeId: 1.5 }, 0x10000, { category: 0xf, get typeId(): number { throw new Error('boom'); } }]) {
              seen.push(await ctx.appendEvent(k, input).then(() => 'ok', (e: unknown) => (e as EffectError).code));
            }
            return input;
          },
        }),
      )
      .effectBackend(backend)
      .withoutReceipts()
      .build();
    await core.dispatch('orders.place', bytes('x'));
    expect(seen).toEqual(['ERR_EFFECT_INVALID', 'ERR_EFFECT_INVALID', 'ERR_EFFECT_INVALID', 'ERR_EFFECT_INVALID']);
    expect(backend.appends).toEqual([]);
  });

  it('a registered descriptor is a snapshot: a row whose getters change later grants nothing new', async () => {
    let flipped = false;
    const real = EffectRow.empty().appendsEvent(DECLARED);
    const fake = Object.create(EffectRow.prototype, {
      readsEvents: { get: () => [] },
      appendsEvents: { get: () => (flipped ? ['evt.f002'] : ['evt.f001']) },
      queriesProjections: { get: () => [] },
      emitsReceipts: { get: () => [] },
      usesHostControls: { get: () => [] },
      requiresCapabilities: { get: () => real.requiresCapabilities },
    }) as EffectRow;
    const d = { ...operationDescriptor({ name: 'orders.place', effect: 'persist', inputSchemaRef: 'i', outputSchemaRef: 'o', receiptKind: 'r', effectRow: real }), effectRow: fake };
    const backend = new RecordingBackend();
    const core = new CoreBuilder()
      .register(d, async (input, ctx) => (await ctx.appendEvent({ category: 0xf, typeId: 2 }, input), input))
      .effectBackend(backend)
      .withoutReceipts()
      .build();
    flipped = true;
    const err = (await rejectionOf(core.dispatch('orders.place', bytes('x')))) as RuntimeError;
    expect(err.detail).toMatchObject({ kind: 'denied', code: 'effect.violation' });
    expect(backend.appends).toEqual([]);
  });
});

describe('INV-SYNCBAT-AUTHORITY-BOUND: authority lives in the Ctx of a live dispatch', () => {
  /** Declares ctrl.alpha only; `body` tries ctrl.rotate-keys through some escape hatch. */
  async function attempt(body: (ctx: Ctx) => Promise<unknown>) {
    const backend = new RecordingBackend();
    let refusal: unknown;
    const core = new CoreBuilder()
      .register(
        defineOperation({
          name: 'ops.rotate',
          effectClass: 'control',
          effects: { hostControls: ['ctrl.alpha'] },
          handler: async (input, ctx) => {
            refusal = await body(ctx).then(() => undefined, (e: unknown) => e);
            return input;
          },
        }),
      )
      .effectBackend(backend)
      .withoutReceipts()
      .build();
    const err = (await rejectionOf(core.dispatch('ops.rotate', bytes('x')))) as RuntimeError;
    return { err, refusal, backend };
  }

  it.each([
    ['AsyncLocalStorage.snapshot() taken at load', (ctx: Ctx) => outside(() => ctx.useHostControl('ctrl.rotate-keys'))],
    ['an AsyncResource made at load', (ctx: Ctx) => resource.runInAsyncScope(() => ctx.useHostControl('ctrl.rotate-keys'))],
  ])('%s: the undeclared control is refused (ERR_EFFECT_UNDECLARED) and never performed', async (_name, body) => {
    const { err, refusal, backend } = await attempt(body);
    expect(refusal).toBeInstanceOf(EffectError);
    expect((refusal as EffectError).code).toBe('ERR_EFFECT_UNDECLARED');
    expect(backend.controls).toEqual([]);
    expect(err.detail).toMatchObject({ kind: 'denied', code: 'effect.violation', message: 'observed undeclared uses_host_controls target "ctrl.rotate-keys"' });
  });

  it('swapping ctx.descriptor for one with a wider row, or patching Array.prototype.includes, widens nothing', async () => {
    const wider = operationDescriptor({
      name: 'ops.rotate',
      effect: 'control',
      inputSchemaRef: 'i',
      outputSchemaRef: 'o',
      receiptKind: 'r',
      effectRow: EffectRow.empty().usesHostControl('ctrl.alpha').usesHostControl('ctrl.rotate-keys'),
    });
    const swapped = await attempt(async (ctx) => {
      try {
        (ctx as { descriptor: unknown }).descriptor = wider;
      } catch {
        // A getter without a setter: assignment throws in strict mode, which is the point.
      }
      return ctx.useHostControl('ctrl.rotate-keys');
    });
    expect(swapped.refusal).toMatchObject({ code: 'ERR_EFFECT_UNDECLARED' });
    expect(swapped.backend.controls).toEqual([]);

    const includes = Array.prototype.includes;
    const patched = await attempt(async (ctx) => {
      Array.prototype.includes = () => true;
      try {
        return await ctx.useHostControl('ctrl.rotate-keys');
      } finally {
        Array.prototype.includes = includes;
      }
    });
    expect(patched.refusal).toMatchObject({ code: 'ERR_EFFECT_UNDECLARED' });
    expect(patched.backend.controls).toEqual([]);
  });

  it('a Ctx stashed and used from a timer after its dispatch ended is revoked (ERR_CTX_REVOKED); the declared control does not run', async () => {
    const backend = new RecordingBackend();
    let stash: Ctx | undefined;
    const core = new CoreBuilder()
      .register(defineOperation({ name: 'ops.rotate', effectClass: 'control', effects: { hostControls: ['ctrl.alpha'] }, handler: (i, ctx) => ((stash = ctx), i) }))
      .effectBackend(backend)
      .withoutReceipts()
      .build();
    await core.dispatch('ops.rotate', bytes('x'));
    const late = await new Promise<unknown>((resolve) => setTimeout(() => void stash!.useHostControl('ctrl.alpha').then(resolve, resolve), 1));
    expect(late).toMatchObject({ name: 'EffectError', code: 'ERR_CTX_REVOKED' });
    expect(() => stash!.attachSigned('k', bytes('v'))).toThrow(expect.objectContaining({ code: 'ERR_CTX_REVOKED' }));
    expect(backend.controls).toEqual([]);
  });
});

describe('INV-SYNCBAT-AUTHORITY-BOUND: every way a checkout ends revokes its Ctx', () => {
  it('a guard that stashes the Ctx gains nothing when the checkout fails at its Started status fact', async () => {
    const backend = new RecordingBackend();
    const status = new CapturingStatusSink();
    status.failOn = 'started';
    let stash: Ctx | undefined;
    const core = new CoreBuilder()
      .register(defineOperation({ name: 'ops.rotate', effectClass: 'control', effects: { hostControls: ['ctrl.alpha'] }, handler: (i) => i }))
      .admissionGuard((_d, _i, ctx) => ((stash = ctx), { admit: true }))
      .statusSink(status)
      .effectBackend(backend)
      .withoutReceipts()
      .build();
    const err = (await rejectionOf(core.dispatch('ops.rotate', bytes('x')))) as RuntimeError;
    expect(err.detail.kind).toBe('status_sink');
    const late = await stash!.useHostControl('ctrl.alpha').then(() => 'performed', (e: unknown) => e);
    expect(late).toMatchObject({ name: 'EffectError', code: 'ERR_CTX_REVOKED' });
    expect(backend.controls).toEqual([]);
  });
});

describe('INV-SYNCBAT-NO-REENTRY: a handler dispatching on its own Core is refused, not hung', () => {
  it('rejects with RuntimeError reentrant_dispatch, and later dispatches still run', async () => {
    let inner: unknown;
    const core: Core = new CoreBuilder()
      .register(defineOperation({ name: 'echo', effectClass: 'compute', handler: (i) => i }))
      .register(
        defineOperation({
          name: 'loop',
          effectClass: 'compute',
          handler: async (i) => {
            inner = await core.dispatch('echo', i).then(() => 'completed', (e: unknown) => e);
            return i;
          },
        }),
      )
      .withoutReceipts()
      .build();
    const hang = new Promise((_, reject) => setTimeout(() => reject(new Error('dispatch hung')), 2000).unref());
    await Promise.race([core.dispatch('loop', bytes('x')), hang]);
    expect(inner).toBeInstanceOf(RuntimeError);
    expect((inner as RuntimeError).detail).toEqual({ kind: 'reentrant_dispatch', name: 'echo' });
    expect((inner as RuntimeError).code).toBe('runtime');
    expect((await Promise.race([core.dispatch('echo', bytes('y')), hang])) as { output: Uint8Array }).toMatchObject({ output: bytes('y') });
  });

  it('is refused after the handler awaited, while other checkouts of the Core open and close meanwhile', async () => {
    const inner: unknown[] = [];
    const core: Core = new CoreBuilder()
      .register(defineOperation({ name: 'echo', effectClass: 'compute', handler: (i) => i }))
      .register(
        defineOperation({
          name: 'late',
          effectClass: 'compute',
          handler: async (i) => {
            await new Promise((resolve) => setTimeout(resolve, 5));
            await Promise.resolve();
            inner.push(await core.dispatch('echo', i).then(() => 'completed', (e: unknown) => (e as RuntimeError).detail));
            return i;
          },
        }),
      )
      .withoutReceipts()
      .build();
    const late = [core.dispatch('late', bytes('a')), core.dispatch('late', bytes('b'))];
    // Checkouts that start and end while the two handlers wait.
    for (let n = 0; n < 5; n++) await core.dispatch('echo', bytes('x'));
    await Promise.all(late);
    expect(inner).toEqual([
      { kind: 'reentrant_dispatch', name: 'echo' },
      { kind: 'reentrant_dispatch', name: 'echo' },
    ]);
    // Once every checkout has ended, a new one still sees its scope.
    await core.dispatch('late', bytes('c'));
    expect(inner).toHaveLength(3);
    expect(inner[2]).toEqual({ kind: 'reentrant_dispatch', name: 'echo' });
  });

  it('a second Core may be dispatched from a handler, and a timer that outlives the checkout may dispatch again', async () => {
    const other = new CoreBuilder().register(defineOperation({ name: 'echo', effectClass: 'compute', handler: (i) => i })).withoutReceipts().build();
    let later: Promise<unknown> | undefined;
    const core: Core = new CoreBuilder()
      .register(defineOperation({ name: 'echo', effectClass: 'compute', handler: (i) => i }))
      .register(
        defineOperation({
          name: 'fan',
          effectClass: 'compute',
          handler: async (i) => {
            later = new Promise((resolve) => setTimeout(() => resolve(core.dispatch('echo', i)), 5));
            return (await other.dispatch('echo', i)).output;
          },
        }),
      )
      .withoutReceipts()
      .build();
    await core.dispatch('fan', bytes('x'));
    await expect(later).resolves.toMatchObject({ outcome: 'completed' });
  });
});

describe('INV-SYNCBAT-RESERVED-KEYS: syncbat.* receipt keys belong to the runtime', () => {
  it('attachLocal and attachSigned refuse syncbat.* keys with ERR_RESERVED_RECEIPT_KEY, in the handler and in the guard', async () => {
    const sink = new CapturingSink();
    const codes: unknown[] = [];
    const tryAttach = (fn: () => void) => {
      try {
        fn();
        codes.push('accepted');
      } catch (err) {
        codes.push(err instanceof EffectError ? err.code : err);
      }
    };
    const core = new CoreBuilder()
      .register(
        defineOperation({
          name: 'forge',
          effectClass: 'compute',
          handler: (i, ctx) => {
            tryAttach(() => ctx.attachLocal('syncbat.emit_receipt.receipt.audit.v1', bytes('never emitted')));
            tryAttach(() => ctx.attachSigned('syncbat.descriptor', bytes('other.op')));
            tryAttach(() => ctx.attachSigned(SYNCBAT_EFFECTS_KEY, bytes('nothing happened')));
            tryAttach(() => ctx.attachSigned('correlation', bytes('c-1')));
            return i;
          },
        }),
      )
      .admissionGuard((_d, _i, ctx) => {
        tryAttach(() => ctx.attachLocal('syncbat.outcome', bytes('completed')));
        return { admit: true };
      })
      .receiptSink(sink)
      .build();
    await core.dispatch('forge', bytes('x'));
    expect(codes).toEqual(['ERR_RESERVED_RECEIPT_KEY', 'ERR_RESERVED_RECEIPT_KEY', 'ERR_RESERVED_RECEIPT_KEY', 'ERR_RESERVED_RECEIPT_KEY', 'accepted']);
    const e = sink.seen[0]!;
    expect([...e.signedExtensions.keys()]).toEqual(['correlation']);
    expect([...e.localExtensions.keys()]).toEqual([]);
  });
});
