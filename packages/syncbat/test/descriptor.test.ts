// Descriptor and effect-row validation (syncbat-hostbat.md §1.2–1.3): grammar messages, class rules, builders.
import { describe, expect, it } from 'vitest';
import {
  DescriptorValidationError,
  EffectRow,
  appendTarget,
  defineOperation,
  operationDescriptor,
  validateDescriptor,
  type EffectClass,
} from '../src/index.js';

const base = {
  name: 'audit.op',
  effect: 'inspect' as EffectClass,
  inputSchemaRef: 'schema.audit.input.v1',
  outputSchemaRef: 'schema.audit.output.v1',
  receiptKind: 'receipt.audit.v1',
};

const problem = (over: Partial<Parameters<typeof operationDescriptor>[0]>) => validateDescriptor(operationDescriptor({ ...base, ...over }));

describe('descriptor grammar', () => {
  it('maps name violations to the Rust messages, first failure winning', () => {
    const table: [string, string][] = [
      ['', 'empty'],
      ['a'.repeat(129), 'too long'],
      ['a b', "expected ASCII letters, digits, '.', '_' or '-'"],
      ['.a', 'dot-separated tokens must be non-empty'],
      ['a..b', 'dot-separated tokens must be non-empty'],
      [' '.repeat(200), 'too long'],
    ];
    for (const [name, reason] of table) {
      const err = problem({ name });
      expect(err, name).toBeInstanceOf(DescriptorValidationError);
      expect(err?.field).toBe('name');
      expect(err?.reason).toBe(reason);
      expect(err?.message).toBe(`name \`${name}\` is invalid: ${reason}`);
    }
  });

  it('checks refs after the name, with a 256-byte bound and the value prefixed by the operation', () => {
    expect(problem({ inputSchemaRef: 'a'.repeat(256) })).toBeUndefined();
    const long = problem({ inputSchemaRef: 'a'.repeat(257) });
    expect([long?.field, long?.value, long?.reason]).toEqual(['input_schema_ref', `audit.op:${'a'.repeat(257)}`, 'too long']);
    const out = problem({ outputSchemaRef: 'x..y' });
    expect(out?.message).toBe('output_schema_ref `audit.op:x..y` is invalid: dot-separated tokens must be non-empty');
    expect(problem({ receiptKind: '' })?.field).toBe('receipt_kind');
    // The name is checked first even when every ref is bad too.
    expect(problem({ name: '', inputSchemaRef: '', receiptKind: '' })?.field).toBe('name');
    // Refs in order: input before output before receipt kind.
    expect(problem({ outputSchemaRef: '', receiptKind: '' })?.field).toBe('output_schema_ref');
  });

  it('checks every effect-row target against the grammar, field = the Rust list name, value unprefixed', () => {
    const err = problem({ effectRow: EffectRow.empty().readsEvent('bad target') });
    expect([err?.field, err?.value]).toEqual(['reads_events', 'bad target']);
    const cap = problem({ effectRow: EffectRow.empty().requiresCapability('') });
    expect([cap?.field, cap?.reason]).toEqual(['requires_capabilities', 'empty']);
  });
});

describe('effect class rules', () => {
  const row = EffectRow.empty();
  const kind = { category: 0xf, typeId: 1 };
  const cases: [EffectClass, EffectRow, string | undefined][] = [
    ['inspect', row.readsEvent('cat.a').queriesProjection('p.a').requiresCapability('x.y'), undefined],
    ['inspect', row.appendsEvent(kind), 'inspect operations cannot declare append, receipt emit, or host control effects'],
    ['inspect', row.usesHostControl('ctrl.a'), 'inspect operations cannot declare append, receipt emit, or host control effects'],
    ['compute', row, undefined],
    ['compute', row.requiresCapability('x.y'), 'compute operations cannot declare runtime effects'],
    ['persist', row.appendsEvent(kind), undefined],
    ['persist', row, 'persist operations must declare event appends'],
    ['persist', row.appendsEvent(kind).emitsReceipt('receipt.audit.v1'), 'persist operations cannot declare receipt emit or host control effects'],
    ['emit', row.emitsReceipt('receipt.audit.v1'), undefined],
    ['emit', row.emitsReceipt('receipt.other.v1'), 'emit operations must declare their receipt kind'],
    ['emit', row.emitsReceipt('receipt.audit.v1').usesHostControl('c'), 'emit operations cannot declare event append or host control effects'],
    ['control', row.usesHostControl('ctrl.a').appendsEvent(kind).emitsReceipt('r.k'), undefined],
    ['control', row.readsEvent('cat.a'), 'control operations must declare host control use'],
  ];
  it.each(cases)('%s with a given row', (effect, effectRow, reason) => {
    const err = problem({ effect, effectRow });
    if (reason === undefined) expect(err).toBeUndefined();
    else expect([err?.field, err?.value, err?.reason]).toEqual(['effect_row', effect, reason]);
  });
});

describe('EffectRow builders', () => {
  it('keep lists sorted and unique and add the ambient token of each axis', () => {
    const row = EffectRow.empty().readsEvent('b').readsEvent('a').readsEvent('b').appendsEvent({ category: 0xf, typeId: 1 }).requiresCapability('z.cap');
    expect(row.readsEvents).toEqual(['a', 'b']);
    expect(row.appendsEvents).toEqual(['evt.f001']);
    expect(row.requiresCapabilities).toEqual(['event.append', 'event.read', 'z.cap']);
    expect(EffectRow.empty().queriesProjection('p').emitsReceipt('r').usesHostControl('h').requiresCapabilities).toEqual([
      'host.control',
      'projection.query',
      'receipt.emit',
    ]);
  });

  it('is immutable', () => {
    const a = EffectRow.empty();
    const b = a.readsEvent('x');
    expect(a.isEmpty()).toBe(true);
    expect(b.isEmpty()).toBe(false);
    expect(Object.isFrozen(b.readsEvents)).toBe(true);
  });

  it('appendTarget is evt. + four lowercase hex digits of the raw kind', () => {
    expect(appendTarget({ category: 0xf, typeId: 1 })).toBe('evt.f001');
    expect(appendTarget({ category: 0xc, typeId: 0x5b7 })).toBe('evt.c5b7');
    expect(appendTarget(0x0012)).toBe('evt.0012');
  });

  it('reports the first observed target outside the declared row, list by list, Rust-quoted', () => {
    const declared = EffectRow.empty().readsEvent('cat.a').usesHostControl('ctrl.a');
    expect(EffectRow.empty().readsEvent('cat.a').firstViolationAgainst(declared)).toBeUndefined();
    const v = EffectRow.empty().usesHostControl('ctrl.b').readsEvent('cat.z').firstViolationAgainst(declared);
    expect(v).toEqual({ code: 'effect.violation', list: 'reads_events', target: 'cat.z', message: 'observed undeclared reads_events target "cat.z"' });
    const quoted = EffectRow.empty().readsEvent('a"b\\c\n').firstViolationAgainst(declared);
    expect(quoted?.message).toBe('observed undeclared reads_events target "a\\"b\\\\c\\n"');
  });

  it('checks membership linearly, so an unsorted declared row still authorizes', () => {
    const declared = EffectRow.fromLists({ readsEvents: ['z', 'a'], requiresCapabilities: ['event.read'] });
    expect(EffectRow.empty().readsEvent('a').readsEvent('z').firstViolationAgainst(declared)).toBeUndefined();
  });
});

describe('defineOperation', () => {
  it('builds the same row as the builders, with documented defaults', () => {
    const op = defineOperation({
      name: 'orders.place',
      effectClass: 'persist',
      effects: { appends: [{ category: 0xf, typeId: 2 }], reads: ['cat.orders'] },
      requiresCapabilities: ['orders.write'],
      handler: (input) => input,
    });
    expect(op.descriptor.receiptKind).toBe('receipt.orders.place.v1');
    expect(op.descriptor.inputSchemaRef).toBe('schema.orders.place.input.v1');
    expect(op.descriptor.effectRow.equals(EffectRow.empty().appendsEvent('evt.f002').readsEvent('cat.orders').requiresCapability('orders.write'))).toBe(true);
  });

  it('emitsReceipt: true declares the operation’s own receipt kind', () => {
    const op = defineOperation({ name: 'note', effectClass: 'emit', effects: { emitsReceipt: true }, handler: (i) => i });
    expect(op.descriptor.effectRow.emitsReceipts).toEqual(['receipt.note.v1']);
  });

  it('throws DescriptorValidationError eagerly', () => {
    expect(() => defineOperation({ name: 'x', effectClass: 'compute', requiresCapabilities: ['a.b'], handler: (i) => i })).toThrow(
      DescriptorValidationError,
    );
  });
});
