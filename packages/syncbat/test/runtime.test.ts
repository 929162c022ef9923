// Dispatch oracles (Rust tests/runtime.rs): one receipt per outcome, unknown ops record nothing, sinks fail closed,
// hash-policy defaults, handler throws become `failed` receipts, and one checkout at a time under maxConcurrentDispatches(1).
import { blake3 } from '@batpak/core';
import { describe, expect, it } from 'vitest';
import { CoreBuilder, HandlerError, RuntimeError, defineOperation, type Ctx, type Handler } from '../src/index.js';
import { CapturingSink, CapturingStatusSink, RecordingBackend, bytes, rejectionOf } from './helpers/fixtures.js';

const op = (name: string, handler: Handler) => defineOperation({ name, effectClass: 'compute', handler });
const echo = op('echo', (input) => input);
const upper = op('upper', (input) => bytes(new TextDecoder().decode(input).toUpperCase()));
const boom = op('boom', () => {
  throw HandlerError.invalidInput('bad bytes');
});

function core(sink = new CapturingSink(), extra: (b: CoreBuilder) => CoreBuilder = (b) => b) {
  return extra(new CoreBuilder().register(echo).register(upper).register(boom).receiptSink(sink)).build();
}

async function runtimeError(p: Promise<unknown>): Promise<RuntimeError> {
  const err = await rejectionOf(p);
  expect(err).toBeInstanceOf(RuntimeError);
  return err as RuntimeError;
}

describe('receipts per outcome', () => {
  it('completes with output and one receipt whose hashes are blake3 of input and output (the default)', async () => {
    const sink = new CapturingSink();
    const result = await core(sink).dispatch('upper', bytes('hi'));
    expect(result.outcome).toBe('completed');
    expect(result.output).toEqual(bytes('HI'));
    expect(sink.seen).toHaveLength(1);
    const e = sink.seen[0]!;
    expect(e).toMatchObject({ descriptorName: 'upper', receiptKind: 'receipt.upper.v1', outcome: { class: 'completed' } });
    expect(e.inputHash).toEqual(blake3(bytes('hi')));
    expect(e.outputHash).toEqual(blake3(bytes('HI')));
    expect(result.receipt?.envelope).toBe(e);
  });

  it('an unknown operation records nothing and maps to unknown_operation', async () => {
    const sink = new CapturingSink();
    const status = new CapturingStatusSink();
    const err = await runtimeError(core(sink, (b) => b.statusSink(status)).dispatch('nope', bytes('x')));
    expect([err.code, err.message, err.receipt]).toEqual(['unknown_operation', 'unknown operation `nope`', undefined]);
    expect(sink.seen).toHaveLength(0);
    expect(status.facts).toHaveLength(0);
  });

  it('a handler failure banks one failed receipt with the input hash only', async () => {
    const sink = new CapturingSink();
    const err = await runtimeError(core(sink).dispatch('boom', bytes('x')));
    expect(err.code).toBe('handler');
    expect(err.detail).toEqual({ kind: 'handler', name: 'boom', code: 'invalid_input', message: 'bad bytes' });
    expect(err.message).toBe('handler for operation `boom` failed with invalid_input: bad bytes');
    expect(sink.seen).toHaveLength(1);
    expect(sink.seen[0]).toMatchObject({ outcome: { class: 'failed', code: 'invalid_input', message: 'bad bytes' }, inputHash: blake3(bytes('x')) });
    expect(sink.seen[0]!.outputHash).toBeUndefined();
    expect(err.receipt?.envelope).toBe(sink.seen[0]);
  });

  it('anything a handler throws, synchronously or not, becomes a `failed` receipt — never an unhandled rejection', async () => {
    const sink = new CapturingSink();
    const handlers: Handler[] = [
      () => {
        throw new TypeError('sync type error');
      },
      async () => {
        throw new Error('async error');
      },
      () => Promise.reject('a string'),
      () => 'not bytes' as unknown as Uint8Array,
    ];
    const messages = ['sync type error', 'async error', 'a string', 'handler returned string, expected a Uint8Array'];
    for (const [i, h] of handlers.entries()) {
      const c = new CoreBuilder().register(op(`h${i}`, h)).receiptSink(sink).build();
      const err = await runtimeError(c.dispatch(`h${i}`, bytes('x')));
      expect(err.detail).toEqual({ kind: 'handler', name: `h${i}`, code: 'failed', message: messages[i] });
    }
    expect(sink.seen.map((e) => e.outcome.class)).toEqual(['failed', 'failed', 'failed', 'failed']);
  });
});

describe('hash policy', () => {
  it("'deferred' records no hashes", async () => {
    const sink = new CapturingSink();
    await core(sink, (b) => b.receiptHashPolicy('deferred')).dispatch('echo', bytes('x'));
    expect(sink.seen[0]!.inputHash).toBeUndefined();
    expect(sink.seen[0]!.outputHash).toBeUndefined();
  });

  it('a raw-bytes hasher is used for both hashes, and the output hash is absent on failure', async () => {
    const sink = new CapturingSink();
    const hasher = (b: Uint8Array) => new Uint8Array(32).fill(b.length);
    const c = core(sink, (b) => b.receiptHashPolicy({ rawBytes: hasher }));
    await c.dispatch('upper', bytes('abc'));
    await rejectionOf(c.dispatch('boom', bytes('abcd')));
    expect(sink.seen[0]!.inputHash).toEqual(new Uint8Array(32).fill(3));
    expect(sink.seen[0]!.outputHash).toEqual(new Uint8Array(32).fill(3));
    expect(sink.seen[1]!.inputHash).toEqual(new Uint8Array(32).fill(4));
    expect(sink.seen[1]!.outputHash).toBeUndefined();
  });

  it('hashes the bytes the handler saw, even if the caller mutates its buffer afterwards', async () => {
    const sink = new CapturingSink();
    const input = bytes('abc');
    const pending = core(sink).dispatch('echo', input);
    input.fill(0);
    const result = await pending;
    expect(result.output).toEqual(bytes('abc'));
    expect(sink.seen[0]!.inputHash).toEqual(blake3(bytes('abc')));
  });
});

describe('sinks fail closed', () => {
  it('a receipt-sink failure after success rejects with receipt_sink', async () => {
    const sink = new CapturingSink();
    sink.fail = 'disk full';
    const err = await runtimeError(core(sink).dispatch('echo', bytes('x')));
    expect(err.code).toBe('receipt_sink');
    expect(err.message).toBe('receipt sink for operation `echo` failed: disk full');
  });

  it('a receipt-sink failure after a handler failure keeps the handler cause', async () => {
    const sink = new CapturingSink();
    sink.fail = 'disk full';
    const err = await runtimeError(core(sink).dispatch('boom', bytes('x')));
    expect(err.detail).toEqual({ kind: 'receipt_sink', name: 'boom', message: 'disk full', causedByHandler: { code: 'invalid_input', message: 'bad bytes' } });
    expect(err.message).toBe('receipt sink for operation `boom` failed after handler error invalid_input: bad bytes: disk full');
  });

  it('a status-sink failure at Started means the handler never runs and no receipt is banked', async () => {
    const sink = new CapturingSink();
    const status = new CapturingStatusSink();
    status.failOn = 'started';
    let ran = false;
    const c = new CoreBuilder()
      .register(op('spy', (i) => ((ran = true), i)))
      .receiptSink(sink)
      .statusSink(status)
      .build();
    const err = await runtimeError(c.dispatch('spy', bytes('x')));
    expect([err.code, err.detail.kind]).toEqual(['runtime', 'status_sink']);
    expect(ran).toBe(false);
    expect(sink.seen).toHaveLength(0);
  });

  it('on success the receipt is banked before the Completed fact; a failing Completed fact still leaves the receipt', async () => {
    const sink = new CapturingSink();
    const status = new CapturingStatusSink();
    status.failOn = 'completed';
    const err = await runtimeError(core(sink, (b) => b.statusSink(status)).dispatch('echo', bytes('x')));
    expect(err.detail.kind).toBe('status_sink');
    expect(sink.seen).toHaveLength(1);
    expect(status.facts.map((f) => f.lifecycle)).toEqual(['started']);
  });
});

describe('status facts', () => {
  it('Started carries only the receipt kind; Completed carries both hashes', async () => {
    const status = new CapturingStatusSink();
    await core(new CapturingSink(), (b) => b.statusSink(status)).dispatch('upper', bytes('a'));
    expect(status.facts).toEqual([
      { schemaVersion: 1, operation: 'upper', lifecycle: 'started', receiptKind: 'receipt.upper.v1' },
      { schemaVersion: 1, operation: 'upper', lifecycle: 'completed', receiptKind: 'receipt.upper.v1', inputHash: blake3(bytes('a')), outputHash: blake3(bytes('A')) },
    ]);
  });

  it('are written even when receipts are off', async () => {
    const status = new CapturingStatusSink();
    const c = new CoreBuilder().register(boom).withoutReceipts().statusSink(status).build();
    const err = await runtimeError(c.dispatch('boom', bytes('a')));
    expect(err.receipt).toBeUndefined();
    expect(status.facts.map((f) => [f.lifecycle, f.code])).toEqual([
      ['started', undefined],
      ['failed', 'invalid_input'],
    ]);
  });
});

describe('maxConcurrentDispatches(1): one checkout at a time', () => {
  it('serializes async handlers in arrival order', async () => {
    const log: string[] = [];
    let active = 0;
    const slow = op('slow', async (input) => {
      active++;
      expect(active).toBe(1);
      log.push(`start ${input[0]}`);
      await new Promise((r) => setTimeout(r, 5));
      log.push(`end ${input[0]}`);
      active--;
      return input;
    });
    const c = new CoreBuilder().register(slow).withoutReceipts().maxConcurrentDispatches(1).build();
    const results = await Promise.all([1, 2, 3].map((n) => c.dispatch('slow', new Uint8Array([n]))));
    expect(results.map((r) => r.output[0])).toEqual([1, 2, 3]);
    expect(log).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
  });

  it('a failing checkout does not block the next one', async () => {
    const c = core();
    const [a, b] = await Promise.allSettled([c.dispatch('boom', bytes('x')), c.dispatch('echo', bytes('y'))]);
    expect(a.status).toBe('rejected');
    expect(b.status === 'fulfilled' && b.value.output).toEqual(bytes('y'));
  });

  it('an aborted caller waiting its turn never starts and records nothing', async () => {
    const sink = new CapturingSink();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const c = new CoreBuilder()
      .register(op('hold', async (i) => (await gate, i)))
      .register(echo)
      .receiptSink(sink)
      .maxConcurrentDispatches(1)
      .build();
    const first = c.dispatch('hold', bytes('1'));
    const controller = new AbortController();
    const second = c.dispatch('echo', bytes('2'), { signal: controller.signal });
    controller.abort();
    const err = await runtimeError(second);
    expect([err.code, err.detail.kind]).toEqual(['runtime', 'aborted']);
    release();
    await first;
    expect(sink.seen.map((e) => e.descriptorName)).toEqual(['hold']);
  });

  it('the Ctx is dead once the handler settles', async () => {
    let leaked: Ctx | undefined;
    const backend = new RecordingBackend();
    const c = new CoreBuilder()
      .register(defineOperation({ name: 'leak', effectClass: 'inspect', effects: { reads: ['cat.a'] }, handler: (i, ctx) => ((leaked = ctx), i) }))
      .effectBackend(backend)
      .withoutReceipts()
      .build();
    await c.dispatch('leak', bytes('x'));
    await expect(leaked!.readEvent('cat.a')).rejects.toThrow('the invocation context is closed');
    expect(() => leaked!.attachLocal('k', bytes('v'))).toThrow('the invocation context is closed');
    expect(backend.reads).toEqual([]);
  });

  it('passes the dispatch signal to the handler', async () => {
    const controller = new AbortController();
    let seen: AbortSignal | undefined;
    const c = new CoreBuilder().register(op('sig', (i, ctx) => ((seen = ctx.signal), i))).withoutReceipts().build();
    await c.dispatch('sig', bytes('x'), { signal: controller.signal });
    expect(seen).toBe(controller.signal);
  });
});

describe('netbat code mapping', () => {
  it('unknown_operation, handler and receipt_sink keep their tokens; denials are runtime', async () => {
    const gated = defineOperation({ name: 'gated', effectClass: 'inspect', requiresCapabilities: ['x.y'], handler: (i) => i });
    const c = new CoreBuilder().register(gated).register(boom).receiptSink(new CapturingSink()).build();
    expect((await runtimeError(c.dispatch('missing', bytes('')))).code).toBe('unknown_operation');
    expect((await runtimeError(c.dispatch('boom', bytes('')))).code).toBe('handler');
    expect((await runtimeError(c.dispatch('gated', bytes('')))).code).toBe('runtime');
  });
});
