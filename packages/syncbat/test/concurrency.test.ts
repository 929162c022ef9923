// Concurrent dispatch (INV-SYNCBAT-CONCURRENT-DISPATCH): one Core runs up to maxConcurrentDispatches checkouts at once,
// and each keeps its own Ctx, effect record, observed ⊆ declared check and receipt — interleaving never mixes them.
import { SeededRng } from '@batpak/core/testing';
import { describe, expect, it } from 'vitest';
import { CoreBuilder, EffectRow, SYNCBAT_EFFECTS_KEY, appendTarget, decodeInvocationEffects, defineOperation, type ReceiptEnvelope } from '../src/index.js';
import { CapturingSink, RecordingBackend, bytes, rejectionOf, text } from './helpers/fixtures.js';

const KINDS = [0xf001, 0xf002, 0xf003, 0xf004];
const DECLARED = KINDS.slice(0, 3).map((k) => appendTarget(k));

/** A plan: which kinds to append and which categories to read, with a yield between steps. One undeclared kind → denied. */
interface Plan {
  readonly id: number;
  readonly appends: number[];
  readonly reads: string[];
}

function randomPlan(rng: SeededRng, id: number): Plan {
  const appends = KINDS.filter(() => rng.chance(0.45));
  const reads = ['cat.a', 'cat.b'].filter(() => rng.chance(0.5));
  return { id, appends, reads };
}

function expectedRow(plan: Plan): EffectRow {
  let row = EffectRow.empty();
  for (const k of plan.appends) if (k !== 0xf004) row = row.appendsEvent(appendTarget(k));
  for (const r of plan.reads) row = row.readsEvent(r);
  return row;
}

/** The five effect lists (capability tokens are declarations, not recorded effects). */
function lists(row: EffectRow): object {
  const { requiresCapabilities: _caps, ...rest } = row.toJSON();
  return rest;
}

describe('concurrent dispatch', () => {
  it('many interleaved dispatches with overlapping effects: every receipt lists exactly its own effects', async () => {
    const rng = new SeededRng(25, 1);
    const sink = new CapturingSink();
    const backend = new RecordingBackend();
    const plans = new Map<number, Plan>();
    const tick = () => new Promise<void>((r) => setImmediate(r));
    const c = new CoreBuilder()
      .register(
        defineOperation({
          name: 'mix',
          effectClass: 'persist',
          effects: { appends: DECLARED, reads: ['cat.a', 'cat.b'] },
          handler: async (input, ctx) => {
            const plan = plans.get(Number(text(input)))!;
            ctx.attachSigned('plan', input);
            for (const k of plan.appends) {
              await tick();
              await ctx.appendEvent(k, bytes(`${plan.id}:${k}`)).catch(() => undefined);
            }
            for (const r of plan.reads) {
              await tick();
              await ctx.readEvent(r);
            }
            return input;
          },
        }),
      )
      .receiptSink(sink)
      .effectBackend(backend)
      .build();
    for (let i = 0; i < 200; i++) plans.set(i, randomPlan(rng, i));
    const settled = await Promise.allSettled([...plans.keys()].map((i) => c.dispatch('mix', bytes(String(i)))));

    expect(sink.seen).toHaveLength(200);
    const byPlan = new Map<number, ReceiptEnvelope>();
    for (const e of sink.seen) {
      const id = Number(text(e.signedExtensions.get('plan')!));
      expect(byPlan.has(id)).toBe(false);
      byPlan.set(id, e);
    }
    for (const [id, plan] of plans) {
      const e = byPlan.get(id)!;
      const undeclared = plan.appends.includes(0xf004);
      expect(e.outcome.class).toBe(undeclared ? 'denied' : 'completed');
      expect(settled[id]!.status).toBe(undeclared ? 'rejected' : 'fulfilled');
      const effects = e.signedExtensions.get(SYNCBAT_EFFECTS_KEY);
      const want = expectedRow(plan);
      if (want.isEmpty() && !undeclared) {
        expect(effects).toBeUndefined();
        continue;
      }
      const got = decodeInvocationEffects(effects!);
      expect(lists(got.performed)).toEqual(lists(want));
      expect(lists(got.refused)).toEqual(lists(undeclared ? EffectRow.empty().appendsEvent(appendTarget(0xf004)) : EffectRow.empty()));
    }
    // Every performed append reached the backend once, and nothing undeclared did.
    const performed = [...plans.values()].flatMap((p) => p.appends.filter((k) => k !== 0xf004).map((k) => `${p.id}:${k}`));
    expect(backend.appends.map((a) => text(a.payload)).sort()).toEqual(performed.sort());
  });

  it('runs dispatches at once by default, up to the cap; the rest start in arrival order as slots free', async () => {
    const started: number[] = [];
    const gates = new Map<number, () => void>();
    const build = (b: CoreBuilder) =>
      b
        .register(
          defineOperation({
            name: 'hold',
            effectClass: 'compute',
            handler: async (input) => {
              const n = input[0]!;
              started.push(n);
              await new Promise<void>((r) => gates.set(n, r));
              return input;
            },
          }),
        )
        .withoutReceipts()
        .build();
    const settle = () => new Promise<void>((r) => setImmediate(r));

    const open = build(new CoreBuilder());
    const all = [0, 1, 2, 3, 4, 5].map((n) => open.dispatch('hold', new Uint8Array([n])));
    await settle();
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
    for (const g of gates.values()) g();
    await Promise.all(all);

    started.length = 0;
    gates.clear();
    const capped = build(new CoreBuilder().maxConcurrentDispatches(2));
    const controller = new AbortController();
    const calls = [0, 1, 2, 3, 4].map((n) => capped.dispatch('hold', new Uint8Array([n]), n === 2 ? { signal: controller.signal } : {}));
    await settle();
    expect(started).toEqual([0, 1]);
    controller.abort();
    await expect(rejectionOf(calls[2]!)).resolves.toMatchObject({ code: 'runtime', detail: { kind: 'aborted' } });
    gates.get(1)!();
    await settle();
    expect(started).toEqual([0, 1, 3]);
    gates.get(0)!();
    await settle();
    expect(started).toEqual([0, 1, 3, 4]);
    gates.get(3)!();
    gates.get(4)!();
    await Promise.all([calls[0], calls[1], calls[3], calls[4]]);
  });

  it('a long queue of waiters starts strictly in arrival order (and a queue refilled while draining keeps it)', async () => {
    const started: number[] = [];
    const c = new CoreBuilder()
      .register(defineOperation({ name: 'rec', effectClass: 'compute', handler: (input) => (started.push(new DataView(input.buffer).getUint32(0)), input) }))
      .withoutReceipts()
      .maxConcurrentDispatches(1)
      .build();
    const call = (n: number) => {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setUint32(0, n);
      return c.dispatch('rec', b);
    };
    const first = Array.from({ length: 3000 }, (_, n) => call(n));
    // More arrive while the first ones are being served.
    await first[10];
    const more = Array.from({ length: 3000 }, (_, n) => call(3000 + n));
    await Promise.all([...first, ...more]);
    expect(started).toEqual(Array.from({ length: 6000 }, (_, n) => n));
  });

  it('every way a checkout ends frees its slot: unknown operation, denial, handler failure, completion', async () => {
    // The checkout releases its slot itself (no reaction per dispatch): a path that forgot to would leave the
    // one slot taken and hang the last dispatch.
    const c = new CoreBuilder()
      .register(defineOperation({ name: 'ok', effectClass: 'compute', handler: (input) => input }))
      .register(defineOperation({ name: 'boom', effectClass: 'compute', handler: () => Promise.reject(new Error('boom')) }))
      .register(defineOperation({ name: 'locked', effectClass: 'inspect', requiresCapabilities: ['vault.open'], handler: (input) => input }))
      .receiptSink(new CapturingSink())
      .maxConcurrentDispatches(1)
      .build();
    const hang = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('dispatch hung: a slot was never freed')), 2000).unref());
    const outcomes = Promise.all(
      ['nope', 'boom', 'locked', 'ok', 'nope', 'ok'].map((name) =>
        c.dispatch(name, bytes('x')).then(
          (r) => r.outcome,
          (e: unknown) => (e as { detail: { kind: string } }).detail.kind,
        ),
      ),
    );
    expect(await Promise.race([outcomes, hang])).toEqual(['unknown_operation', 'handler', 'denied', 'completed', 'unknown_operation', 'completed']);
  });

  it('a long queue of checkouts that end synchronously drains as a loop, not a recursion as deep as the queue', async () => {
    // Without receipts a synchronous handler's checkout has no await: it ends, and frees its slot, inside the call
    // that started it. Queued behind one slow checkout, 50,000 of them start one after another when it ends.
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let served = 0;
    const c = new CoreBuilder()
      .register(defineOperation({ name: 'slow', effectClass: 'compute', handler: async (input) => (await gate, input) }))
      .register(defineOperation({ name: 'fast', effectClass: 'compute', handler: (input) => (served++, input) }))
      .withoutReceipts()
      .maxConcurrentDispatches(1)
      .build();
    const slow = c.dispatch('slow', bytes('s'));
    const fast = Array.from({ length: 50_000 }, () => c.dispatch('fast', bytes('f')));
    open();
    await slow;
    const settled = await Promise.allSettled(fast);
    expect(settled.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason)).slice(0, 1)).toEqual([]);
    expect(served).toBe(50_000);
  });

  it('refuses a cap that is not a positive integer (or Infinity)', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, '4' as unknown as number]) {
      expect(() => new CoreBuilder().maxConcurrentDispatches(bad)).toThrow(RangeError);
    }
    expect(() => new CoreBuilder().maxConcurrentDispatches(Infinity)).not.toThrow();
  });
});
