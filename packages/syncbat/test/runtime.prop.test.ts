// Properties: accepted names round-trip through descriptor, dispatch and receipt bytes; any observed effect outside
// the declared row is denied (and nothing else is); every denied or failed checkout banks exactly one store receipt.
import fc from 'fast-check';
import { Coordinate } from '@batpak/core';
import { describe, expect, it } from 'vitest';
import {
  CoreBuilder,
  EffectRow,
  MAX_OPERATION_NAME_BYTES,
  RuntimeError,
  SYNCBAT_RECEIPT_KIND,
  StoreEffectBackend,
  StoreReceiptSink,
  checkOperationName,
  decodeReceiptEnvelope,
  defineOperation,
  deny,
  admit,
  encodeReceiptEnvelope,
  findOperationNameViolation,
  operationDescriptor,
  parseOperationName,
  validateDescriptor,
  type Ctx,
} from '../src/index.js';
import { CapturingSink, RecordingBackend, bytes, rejectionOf, simStore } from './helpers/fixtures.js';

const NAME_CHARS = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.'];
/** Mostly grammar characters (so many candidates are valid), sometimes anything at all. */
const candidateName = fc.oneof(
  fc.string({ unit: fc.constantFrom(...NAME_CHARS), minLength: 1, maxLength: 140 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
);

describe('operation names', () => {
  it('any name the validator accepts round-trips through parse, descriptor, dispatch and receipt bytes', async () => {
    await fc.assert(
      fc.asyncProperty(candidateName, async (name) => {
        if (findOperationNameViolation(name) !== undefined) {
          expect(checkOperationName(name).ok).toBe(false);
          return;
        }
        expect(parseOperationName(name)).toBe(name);
        expect(findOperationNameViolation(new TextEncoder().encode(name))).toBeUndefined();
        expect(new TextEncoder().encode(name).length).toBeLessThanOrEqual(MAX_OPERATION_NAME_BYTES);
        const d = operationDescriptor({ name, effect: 'compute', inputSchemaRef: 'schema.in', outputSchemaRef: 'schema.out', receiptKind: 'receipt.k' });
        expect(validateDescriptor(d)).toBeUndefined();
        const sink = new CapturingSink();
        const core = new CoreBuilder().register(d, (i) => i).receiptSink(sink).build();
        const result = await core.dispatch(name, bytes('x'));
        expect(result.descriptor.name).toBe(name);
        const decoded = decodeReceiptEnvelope(encodeReceiptEnvelope(sink.seen[0]!));
        expect(decoded.descriptorName).toBe(name);
      }),
      { numRuns: 300 },
    );
  });
});

type Axis = 'reads' | 'appends' | 'queries' | 'emits' | 'controls';
const AXES: readonly Axis[] = ['reads', 'appends', 'queries', 'emits', 'controls'];
const LIST: Record<Axis, string> = {
  reads: 'reads_events',
  appends: 'appends_events',
  queries: 'queries_projections',
  emits: 'emits_receipts',
  controls: 'uses_host_controls',
};
const TARGETS = ['a', 'b.c', 'x-y', 'z_9'];
const KINDS = [0xf001, 0xf002, 0xe0a0];
const targetFor = (axis: Axis, i: number) => (axis === 'appends' ? `evt.${KINDS[i % KINDS.length]!.toString(16)}` : TARGETS[i % TARGETS.length]!);

const effect = fc.record({ axis: fc.constantFrom(...AXES), i: fc.nat(11) });

describe('INV-SYNCBAT-EFFECTS-DECLARED: observed ⊆ declared', () => {
  it('any observed effect outside the declared row is denied with the first violation; otherwise the call completes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(effect, { maxLength: 6 }), fc.array(effect, { maxLength: 8 }), async (declaredEffects, performed) => {
        // Control is the one class that may declare every axis, so the row is free to be anything.
        let row = EffectRow.empty().usesHostControl('ctrl.base');
        const declared = new Set<string>(['controls ctrl.base']);
        for (const { axis, i } of declaredEffects) {
          const t = targetFor(axis, i);
          declared.add(`${axis} ${t}`);
          row = axis === 'reads' ? row.readsEvent(t) : axis === 'appends' ? row.appendsEvent(t) : axis === 'queries' ? row.queriesProjection(t) : axis === 'emits' ? row.emitsReceipt(t) : row.usesHostControl(t);
        }
        const d = operationDescriptor({ name: 'prop.op', effect: 'control', inputSchemaRef: 'i', outputSchemaRef: 'o', receiptKind: 'r', effectRow: row });
        expect(validateDescriptor(d)).toBeUndefined();
        const perform = (ctx: Ctx, axis: Axis, i: number): Promise<void> => {
          const t = targetFor(axis, i);
          if (axis === 'reads') return ctx.readEvent(t);
          if (axis === 'appends') return ctx.appendEvent(KINDS[i % KINDS.length]!, bytes('p'));
          if (axis === 'queries') return ctx.queryProjection(t);
          if (axis === 'emits') return ctx.emitReceipt(t, bytes('e'));
          return ctx.useHostControl(t);
        };
        const sink = new CapturingSink();
        const backend = new RecordingBackend();
        const core = new CoreBuilder()
          .register(d, async (input, ctx) => {
            for (const { axis, i } of performed) await perform(ctx, axis, i);
            return input;
          })
          .effectBackend(backend)
          .receiptSink(sink)
          .build();

        // Model: the handler awaits each effect, so it stops at the first undeclared one (refused, never performed);
        // that target is the violation, and every effect before it was performed.
        const first = performed.find(({ axis, i }) => !declared.has(`${axis} ${targetFor(axis, i)}`));
        const expected = first === undefined ? undefined : `observed undeclared ${LIST[first.axis]} target "${targetFor(first.axis, first.i)}"`;
        const upTo = first === undefined ? performed.length : performed.indexOf(first);
        const backendCalls = () => backend.reads.length + backend.appends.length + backend.queries.length + backend.emits.length + backend.controls.length;
        const outcome = await core.dispatch('prop.op', bytes('in')).then(
          () => undefined,
          (err: unknown) => err,
        );
        if (expected === undefined) {
          expect(outcome).toBeUndefined();
          expect(sink.seen[0]!.outcome.class).toBe('completed');
        } else {
          expect(outcome).toBeInstanceOf(RuntimeError);
          expect((outcome as RuntimeError).detail).toEqual({ kind: 'denied', name: 'prop.op', code: 'effect.violation', message: expected });
          expect(sink.seen[0]!.outcome).toEqual({ class: 'denied', code: 'effect.violation', message: expected });
        }
        expect(sink.seen).toHaveLength(1);
        expect(backendCalls()).toBe(upTo);
      }),
      { numRuns: 300 },
    );
  });
});

type Step = 'complete' | 'handler-fail' | 'throw' | 'capability' | 'guard' | 'effect' | 'unknown';
const STEPS: readonly Step[] = ['complete', 'handler-fail', 'throw', 'capability', 'guard', 'effect', 'unknown'];

describe('INV-SYNCBAT-ONE-RECEIPT: one receipt per invocation, in the store', () => {
  it('every checkout that resolves an operation banks exactly one receipt with its outcome; the chain stays intact', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...STEPS), { minLength: 1, maxLength: 12 }), fc.nat(1000), async (steps, seed) => {
        const store = await simStore(seed);
        try {
          const ops = {
            complete: defineOperation({ name: 'complete', effectClass: 'compute', handler: (i) => i }),
            'handler-fail': defineOperation({ name: 'handler-fail', effectClass: 'compute', handler: () => Promise.reject(new Error('no')) }),
            throw: defineOperation({
              name: 'throw',
              effectClass: 'compute',
              handler: () => {
                throw 42;
              },
            }),
            capability: defineOperation({ name: 'capability', effectClass: 'inspect', requiresCapabilities: ['never.granted'], handler: (i) => i }),
            guard: defineOperation({ name: 'guard', effectClass: 'compute', handler: (i) => i }),
            effect: defineOperation({
              name: 'effect',
              effectClass: 'persist',
              effects: { appends: ['evt.f001'] },
              handler: async (i, ctx) => (await ctx.appendEvent(0xf00f, i), i),
            }),
          };
          const b = new CoreBuilder()
            .admissionGuard((d) => (d.name === 'guard' ? deny('guard.no', 'not today') : admit()))
            .effectBackend(new StoreEffectBackend(store, new Coordinate('app', 'scope:app')))
            .receiptSink(new StoreReceiptSink(store, new Coordinate('syncbat:receipt', 'scope:test')));
          for (const op of Object.values(ops)) b.register(op);
          const core = b.build();
          const expectedClass: Record<Step, string | undefined> = {
            complete: 'completed',
            'handler-fail': 'failed',
            throw: 'failed',
            capability: 'denied',
            guard: 'denied',
            effect: 'denied',
            unknown: undefined,
          };
          const banked: string[] = [];
          for (const step of steps) {
            const input = bytes(`${step}-${banked.length}`);
            if (step === 'complete') await core.dispatch(step, input);
            else await rejectionOf(core.dispatch(step, input));
            const cls = expectedClass[step];
            if (cls !== undefined) banked.push(`${step}:${cls}`);
            const receipts: string[] = [];
            for await (const e of store.query({ kind: SYNCBAT_RECEIPT_KIND })) {
              const env = decodeReceiptEnvelope((await store.getRaw(e.header.eventId)).bytes);
              receipts.push(`${env.descriptorName}:${env.outcome.class}`);
            }
            expect(receipts).toEqual(banked);
          }
          const report = await store.verifyChain();
          expect(report.intact).toBe(true);
        } finally {
          await store.close();
        }
      }),
      { numRuns: 40 },
    );
  });
});
