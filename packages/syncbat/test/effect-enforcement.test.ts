// Effect enforcement (Rust tests/effect_enforcement.rs, hardened by issue 26): per axis, declared effects complete; undeclared
// ones are refused before the backend sees them and the checkout is denied with effect.violation (INV-SYNCBAT-EFFECTS-DECLARED);
// no backend or a backend rejection fails the handler and observes nothing.
import { describe, expect, it } from 'vitest';
import {
  CoreBuilder,
  EffectError,
  EffectRow,
  HandlerError,
  RuntimeError,
  SYNCBAT_EFFECTS_KEY,
  decodeInvocationEffects,
  operationDescriptor,
  type Ctx,
  type EffectClass,
} from '../src/index.js';
import { CapturingSink, RecordingBackend, bytes, rejectionOf, type Axis } from './helpers/fixtures.js';

const KIND_ALLOWED = { category: 0xf, typeId: 1 };
const KIND_OTHER = { category: 0xf, typeId: 2 };
const RECEIPT_KIND = 'receipt.audit.v1';

interface AxisCase {
  readonly axis: Axis;
  readonly effect: EffectClass;
  readonly row: EffectRow;
  readonly allowed: (ctx: Ctx) => Promise<void>;
  readonly other: (ctx: Ctx) => Promise<void>;
  readonly list: string;
  readonly otherTarget: string;
  readonly verb: string;
}

const row = EffectRow.empty();
const AXES: AxisCase[] = [
  {
    axis: 'append',
    effect: 'persist',
    row: row.appendsEvent(KIND_ALLOWED),
    allowed: (c) => c.appendEvent(KIND_ALLOWED, bytes('p')),
    other: (c) => c.appendEvent(KIND_OTHER, bytes('p')),
    list: 'appends_events',
    otherTarget: 'evt.f002',
    verb: 'append events',
  },
  {
    axis: 'read',
    effect: 'inspect',
    row: row.readsEvent('cat.inventory.v1'),
    allowed: (c) => c.readEvent('cat.inventory.v1'),
    other: (c) => c.readEvent('cat.other.v1'),
    list: 'reads_events',
    otherTarget: 'cat.other.v1',
    verb: 'read events',
  },
  {
    axis: 'query',
    effect: 'inspect',
    row: row.queriesProjection('proj.orders.v1'),
    allowed: (c) => c.queryProjection('proj.orders.v1'),
    other: (c) => c.queryProjection('proj.other.v1'),
    list: 'queries_projections',
    otherTarget: 'proj.other.v1',
    verb: 'query projections',
  },
  {
    axis: 'emit',
    effect: 'emit',
    row: row.emitsReceipt(RECEIPT_KIND),
    allowed: (c) => c.emitReceipt(RECEIPT_KIND, bytes('evidence')),
    other: (c) => c.emitReceipt('receipt.other.v1', bytes('evidence')),
    list: 'emits_receipts',
    otherTarget: 'receipt.other.v1',
    verb: 'emit receipts',
  },
  {
    axis: 'control',
    effect: 'control',
    row: row.usesHostControl('ctrl.alpha'),
    allowed: (c) => c.useHostControl('ctrl.alpha'),
    other: (c) => c.useHostControl('ctrl.beta'),
    list: 'uses_host_controls',
    otherTarget: 'ctrl.beta',
    verb: 'use host controls',
  },
];

const performed = (b: RecordingBackend, axis: Axis): unknown[] =>
  ({ append: b.appends, read: b.reads, query: b.queries, emit: b.emits, control: b.controls })[axis];

/** A core whose one operation `audit.op` runs `body` and maps an EffectError to HandlerError.failed, as the Rust tests do. */
function coreFor(c: AxisCase, body: (ctx: Ctx) => Promise<void>, backend: RecordingBackend | undefined, sink = new CapturingSink()) {
  const d = operationDescriptor({ name: 'audit.op', effect: c.effect, inputSchemaRef: 'schema.in.v1', outputSchemaRef: 'schema.out.v1', receiptKind: RECEIPT_KIND, effectRow: c.row });
  const b = new CoreBuilder()
    .register(d, async (input, ctx) => {
      try {
        await body(ctx);
      } catch (err) {
        throw HandlerError.failed(err instanceof Error ? err.message : String(err));
      }
      return input;
    })
    .receiptSink(sink);
  if (backend !== undefined) b.effectBackend(backend);
  return b.build();
}

describe.each(AXES)('$axis axis', (c) => {
  it('a declared effect through the Ctx completes and is performed', async () => {
    const backend = new RecordingBackend();
    const result = await coreFor(c, c.allowed, backend).dispatch('audit.op', bytes('in'));
    expect(result.outcome).toBe('completed');
    expect(performed(backend, c.axis)).toHaveLength(1);
  });

  it('an undeclared effect is refused before the backend sees it, and the checkout is denied with effect.violation', async () => {
    const backend = new RecordingBackend();
    const sink = new CapturingSink();
    let refusal: unknown;
    const err = (await rejectionOf(
      coreFor(
        c,
        async (ctx) => {
          // The handler swallows the refusal and carries on: the checkout is denied all the same.
          refusal = await c.other(ctx).then(() => undefined, (e: unknown) => e);
        },
        backend,
        sink,
      ).dispatch('audit.op', bytes('in')),
    )) as RuntimeError;
    expect(err).toBeInstanceOf(RuntimeError);
    expect(refusal).toBeInstanceOf(EffectError);
    expect(refusal).toMatchObject({ code: 'ERR_EFFECT_UNDECLARED' });
    const message = `observed undeclared ${c.list} target "${c.otherTarget}"`;
    expect(err.detail).toEqual({ kind: 'denied', name: 'audit.op', code: 'effect.violation', message });
    // Check-then-perform (issue 26): nothing reached the backend; the receipt lists the refused target.
    expect(performed(backend, c.axis)).toHaveLength(0);
    const effects = decodeInvocationEffects(sink.seen[0]!.signedExtensions.get(SYNCBAT_EFFECTS_KEY)!);
    expect(effects.performed.isEmpty()).toBe(true);
    expect(Object.values(effects.refused.toJSON()).flat()).toContain(c.otherTarget);
    expect(sink.seen).toHaveLength(1);
    expect(sink.seen[0]!.outcome).toEqual({ class: 'denied', code: 'effect.violation', message });
    expect(sink.seen[0]!.outputHash).toBeUndefined();
  });

  it('without a bound backend the effect fails the handler and nothing is observed', async () => {
    const err = (await rejectionOf(coreFor(c, c.allowed, undefined).dispatch('audit.op', bytes('in')))) as RuntimeError;
    expect(err.detail).toEqual({
      kind: 'handler',
      name: 'audit.op',
      code: 'failed',
      message: `effect backend failure: no effect backend is bound for this invocation; cannot ${c.verb}`,
    });
  });

  it('a backend rejection fails the handler and records no observation', async () => {
    const backend = new RecordingBackend(c.axis);
    let observed: EffectRow | undefined;
    const err = (await rejectionOf(
      coreFor(
        c,
        async (ctx) => {
          try {
            await c.allowed(ctx);
          } finally {
            observed = ctx.observed;
          }
        },
        backend,
      ).dispatch('audit.op', bytes('in')),
    )) as RuntimeError;
    expect(err.detail.kind).toBe('handler');
    expect(observed?.isEmpty()).toBe(true);
    expect(performed(backend, c.axis)).toHaveLength(0);
  });
});

describe('sharp edges', () => {
  it('an undeclared host control from an inspect operation is denied', async () => {
    const backend = new RecordingBackend();
    const inspect: AxisCase = { ...AXES[1]!, row: row.readsEvent('cat.a') };
    const err = (await rejectionOf(coreFor(inspect, (ctx) => ctx.useHostControl('ctrl.reboot'), backend).dispatch('audit.op', bytes('')))) as RuntimeError;
    expect(err.detail).toMatchObject({ kind: 'denied', code: 'effect.violation', message: 'observed undeclared uses_host_controls target "ctrl.reboot"' });
    expect(backend.controls).toEqual([]);
  });

  it('a violation beats a handler error and discards the output', async () => {
    const backend = new RecordingBackend();
    const d = operationDescriptor({ name: 'x', effect: 'compute', inputSchemaRef: 'i', outputSchemaRef: 'o', receiptKind: 'r' });
    const sink = new CapturingSink();
    const c = new CoreBuilder()
      .register(d, async (_i, ctx) => {
        await ctx.readEvent('cat.a');
        throw HandlerError.failed('late failure');
      })
      .effectBackend(backend)
      .receiptSink(sink)
      .build();
    const err = (await rejectionOf(c.dispatch('x', bytes('')))) as RuntimeError;
    expect(err.detail).toMatchObject({ kind: 'denied', code: 'effect.violation' });
    expect(sink.seen.map((e) => e.outcome.class)).toEqual(['denied']);
  });

  it('an effect the handler started but did not await is still observed and checked', async () => {
    const backend = new RecordingBackend(undefined, 10);
    const d = operationDescriptor({ name: 'x', effect: 'persist', inputSchemaRef: 'i', outputSchemaRef: 'o', receiptKind: 'r', effectRow: row.appendsEvent(KIND_ALLOWED) });
    const sink = new CapturingSink();
    const c = new CoreBuilder()
      .register(d, (input, ctx) => {
        void ctx.appendEvent(KIND_ALLOWED, bytes('late'));
        void ctx.appendEvent(KIND_OTHER, bytes('sneaky'));
        return input;
      })
      .effectBackend(backend)
      .receiptSink(sink)
      .build();
    const err = (await rejectionOf(c.dispatch('x', bytes('')))) as RuntimeError;
    expect(err.detail).toMatchObject({ kind: 'denied', code: 'effect.violation', message: 'observed undeclared appends_events target "evt.f002"' });
    // The declared append finished after the handler returned and is in the receipt; the undeclared one never ran.
    expect(backend.appends.map((a) => a.kind)).toEqual([KIND_ALLOWED]);
    const effects = decodeInvocationEffects(sink.seen[0]!.signedExtensions.get(SYNCBAT_EFFECTS_KEY)!);
    expect(effects.performed.appendsEvents).toEqual(['evt.f001']);
    expect(effects.refused.appendsEvents).toEqual(['evt.f002']);
  });

  it('emitReceipt stamps its payload into the local drawer under syncbat.emit_receipt.{kind}', async () => {
    const sink = new CapturingSink();
    const emit = AXES[3]!;
    await coreFor(emit, emit.allowed, new RecordingBackend(), sink).dispatch('audit.op', bytes(''));
    expect(sink.seen[0]!.localExtensions.get(`syncbat.emit_receipt.${RECEIPT_KIND}`)).toEqual(bytes('evidence'));
  });

  it('a rejected emit stamps nothing', async () => {
    const sink = new CapturingSink();
    const emit = AXES[3]!;
    await rejectionOf(coreFor(emit, emit.allowed, new RecordingBackend('emit'), sink).dispatch('audit.op', bytes('')));
    expect(sink.seen[0]!.localExtensions.size).toBe(0);
  });

  it('a backend missing an optional axis fails closed with the Rust default message', async () => {
    const appendOnly = { appendEvent: () => undefined };
    const d = operationDescriptor({ name: 'x', effect: 'control', inputSchemaRef: 'i', outputSchemaRef: 'o', receiptKind: 'r', effectRow: row.usesHostControl('c.a') });
    const c = new CoreBuilder()
      .register(d, async (i, ctx) => (await ctx.useHostControl('c.a'), i))
      .effectBackend(appendOnly)
      .withoutReceipts()
      .build();
    const err = (await rejectionOf(c.dispatch('x', bytes('')))) as RuntimeError;
    expect(err.detail).toMatchObject({ kind: 'handler', message: 'effect backend failure: host controls are not supported by this effect backend' });
  });
});
