// Admission seam (Rust tests/admission_seam.rs): a guard denies before the handler, and its metadata reaches the receipt.
import { describe, expect, it } from 'vitest';
import { CoreBuilder, RuntimeError, admit, defineOperation, deny } from '../src/index.js';
import { CapturingSink, CapturingStatusSink, bytes, rejectionOf } from './helpers/fixtures.js';

describe('admission guard', () => {
  it('denies before the handler with the guard code, keeping guard metadata in the receipt', async () => {
    let ran = false;
    const sink = new CapturingSink();
    const status = new CapturingStatusSink();
    const core = new CoreBuilder()
      .register(defineOperation({ name: 'pay', effectClass: 'compute', handler: (i) => ((ran = true), i) }))
      .admissionGuard((d, input, ctx) => {
        ctx.attachSigned('correlation', bytes('c-1'));
        return input.length > 2 ? deny('quota.exceeded', `${d.name} input too big`) : admit();
      })
      .receiptSink(sink)
      .statusSink(status)
      .build();
    const err = (await rejectionOf(core.dispatch('pay', bytes('abcd')))) as RuntimeError;
    expect(err.detail).toEqual({ kind: 'denied', name: 'pay', code: 'quota.exceeded', message: 'pay input too big' });
    expect(ran).toBe(false);
    expect(sink.seen[0]!.outcome).toEqual({ class: 'denied', code: 'quota.exceeded', message: 'pay input too big' });
    expect(sink.seen[0]!.signedExtensions.get('correlation')).toEqual(bytes('c-1'));
    expect(status.facts.map((f) => f.lifecycle)).toEqual(['denied']);
  });

  it('guard and handler metadata merge into one receipt; later writes to a key win', async () => {
    const sink = new CapturingSink();
    const core = new CoreBuilder()
      .register(
        defineOperation({
          name: 'pay',
          effectClass: 'compute',
          handler: (i, ctx) => {
            ctx.attachSigned('attempt', bytes('2'));
            ctx.attachLocal('note', bytes('handler'));
            return i;
          },
        }),
      )
      .admissionGuard((_d, _i, ctx) => {
        ctx.attachSigned('correlation', bytes('c-1'));
        ctx.attachSigned('attempt', bytes('1'));
        return admit();
      })
      .receiptSink(sink)
      .build();
    await core.dispatch('pay', bytes('a'));
    const e = sink.seen[0]!;
    expect([...e.signedExtensions].map(([k, v]) => [k, new TextDecoder().decode(v)])).toEqual([
      ['correlation', 'c-1'],
      ['attempt', '2'],
    ]);
    expect(e.localExtensions.get('note')).toEqual(bytes('handler'));
  });

  it('a guard that throws or answers nonsense denies (fail closed)', async () => {
    for (const [guard, message] of [
      [() => {
        throw new Error('policy store down');
      }, 'policy store down'],
      [() => ({ admit: 'yes' }) as never, 'admission guard returned an invalid decision'],
    ] as const) {
      const sink = new CapturingSink();
      const core = new CoreBuilder()
        .register(defineOperation({ name: 'pay', effectClass: 'compute', handler: (i) => i }))
        .admissionGuard(guard)
        .receiptSink(sink)
        .build();
      const err = (await rejectionOf(core.dispatch('pay', bytes('a')))) as RuntimeError;
      expect(err.detail).toEqual({ kind: 'denied', name: 'pay', code: 'admission.failed', message });
      expect(sink.seen).toHaveLength(1);
    }
  });
});
