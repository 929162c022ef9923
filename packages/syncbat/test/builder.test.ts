// CoreBuilder registration and build order (syncbat-hostbat.md §1.5–1.6), including the missing-sink fail-closed rule.
import { describe, expect, it } from 'vitest';
import { BuildError, CoreBuilder, EffectRow, Module, defineOperation, operationDescriptor } from '../src/index.js';
import { CapturingSink } from './helpers/fixtures.js';

const echo = (name: string) => defineOperation({ name, effectClass: 'compute', handler: (input) => input });

function buildError(fn: () => unknown): BuildError {
  try {
    fn();
  } catch (err) {
    if (err instanceof BuildError) return err;
    throw err;
  }
  throw new Error('expected a BuildError');
}

describe('build()', () => {
  it('fails with ERR_MISSING_RECEIPT_SINK unless a sink is wired or withoutReceipts() is called', () => {
    const err = buildError(() => new CoreBuilder().register(echo('ping')).build());
    expect(err.code).toBe('ERR_MISSING_RECEIPT_SINK');
    expect(err.detail).toEqual({ kind: 'missing_receipt_sink' });
    expect(new CoreBuilder().register(echo('ping')).withoutReceipts().build().operations().map((d) => d.name)).toEqual(['ping']);
    expect(new CoreBuilder().register(echo('ping')).receiptSink(new CapturingSink()).build()).toBeDefined();
    // An empty core still needs the decision.
    expect(buildError(() => new CoreBuilder().build()).code).toBe('ERR_MISSING_RECEIPT_SINK');
  });

  it('a configured sink wins over the opt-out flag', async () => {
    const sink = new CapturingSink();
    const core = new CoreBuilder().register(echo('ping')).withoutReceipts().receiptSink(sink).build();
    await core.dispatch('ping', new Uint8Array([1]));
    expect(sink.seen).toHaveLength(1);
  });

  it('reports the first descriptor without a handler, then the first handler without a descriptor, then the sink', () => {
    const d = (name: string) => operationDescriptor({ name, effect: 'compute', inputSchemaRef: 'i', outputSchemaRef: 'o', receiptKind: 'r' });
    const b = new CoreBuilder().registerOperation(d('b.op')).registerOperation(d('a.op')).registerHandler('z.op', (i) => i);
    const first = buildError(() => b.build());
    expect([first.code, first.detail]).toEqual(['ERR_MISSING_HANDLER', { kind: 'missing_handler', name: 'a.op' }]);
    expect(first.message).toBe('operation `a.op` has no registered handler');
    b.registerHandler('a.op', (i) => i).registerHandler('b.op', (i) => i);
    const second = buildError(() => b.build());
    expect([second.code, second.message]).toEqual(['ERR_MISSING_DESCRIPTOR', 'handler `z.op` has no matching operation descriptor']);
  });
});

describe('registration', () => {
  it('validates, then rejects duplicate descriptors, then duplicate handlers', () => {
    const b = new CoreBuilder().register(echo('ping'));
    const dup = buildError(() => b.register(echo('ping')));
    expect([dup.code, dup.message]).toEqual(['ERR_DUPLICATE_OPERATION', 'operation `ping` is already registered']);
    b.registerHandler('solo', (i) => i);
    const dupHandler = buildError(() => b.register(echo('solo')));
    expect([dupHandler.code, dupHandler.message]).toEqual(['ERR_DUPLICATE_HANDLER', 'handler for operation `solo` is already registered']);
  });

  it('refuses a descriptor whose row contradicts its class, naming the field', () => {
    const bad = operationDescriptor({
      name: 'audit.inspect',
      effect: 'inspect',
      inputSchemaRef: 'i',
      outputSchemaRef: 'o',
      receiptKind: 'r',
      effectRow: EffectRow.empty().appendsEvent('evt.f001'),
    });
    const err = buildError(() => new CoreBuilder().registerOperation(bad));
    expect(err.code).toBe('ERR_INVALID_OPERATION');
    expect(err.message).toBe(
      'operation `audit.inspect` is invalid: effect_row `inspect` is invalid: inspect operations cannot declare append, receipt emit, or host control effects',
    );
  });

  it('validates handler names with the operation grammar', () => {
    const err = buildError(() => new CoreBuilder().registerHandler('a..b', (i) => i));
    expect(err.code).toBe('ERR_INVALID_HANDLER');
    // Rust: BuildError::invalid_handler(name, <the name's ValidationError>) — its words, not ours.
    expect(err.message).toBe('handler `a..b` is invalid: name `a..b` is invalid: dot-separated tokens must be non-empty');
    expect(buildError(() => new CoreBuilder().registerHandler('a b', (i) => i)).message).toBe(
      "handler `a b` is invalid: name `a b` is invalid: expected ASCII letters, digits, '.', '_' or '-'",
    );
  });

  it('mounts a module after validating its name and descriptors', () => {
    const ok = new Module('orders', [echo('orders.place').descriptor, echo('orders.cancel').descriptor]);
    const b = new CoreBuilder().mount(ok);
    expect(buildError(() => b.build()).detail).toEqual({ kind: 'missing_handler', name: 'orders.cancel' });
    const badName = buildError(() => new CoreBuilder().mount(new Module('bad name')));
    expect(badName.code).toBe('ERR_INVALID_MODULE');
    expect(badName.message).toBe("module `bad name` is invalid: name `bad name` is invalid: expected ASCII letters, digits, '.', '_' or '-'");
    expect(() => new Module('m', [echo('x').descriptor, echo('x').descriptor])).toThrow(BuildError);
  });

  it('grants are accepted one by one or in bulk', async () => {
    const op = defineOperation({ name: 'secure', effectClass: 'inspect', requiresCapabilities: ['a.cap', 'b.cap'], handler: (i) => i });
    const core = new CoreBuilder().register(op).grantCapability('a.cap').grantCapabilities(['b.cap']).withoutReceipts().build();
    await expect(core.dispatch('secure', new Uint8Array())).resolves.toMatchObject({ outcome: 'completed' });
  });
});
