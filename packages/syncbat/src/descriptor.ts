// OperationDescriptor: the data that names an operation, its effect class and row, and its receipt kind.
// Invariant: validateDescriptor checks in Rust's order — name, input ref, output ref, receipt kind, row targets, class rule.

import { DescriptorValidationError, grammarMessage, refViolation } from './descriptor-error.js';
import { isEffectClass, type EffectClass } from './effect-class.js';
import { EFFECT_ROW_LISTS, EffectRow } from './effect-row.js';
import { findOperationNameViolation } from './operation-name.js';

export interface OperationDescriptor {
  readonly name: string;
  readonly title?: string;
  readonly effect: EffectClass;
  readonly inputSchemaRef: string;
  readonly outputSchemaRef: string;
  /** The receipt kind written into every receipt of this operation. */
  readonly receiptKind: string;
  /** Declared effects; the empty row means "no effects". */
  readonly effectRow: EffectRow;
}

export interface OperationDescriptorInit {
  readonly name: string;
  readonly title?: string;
  readonly effect: EffectClass;
  readonly inputSchemaRef: string;
  readonly outputSchemaRef: string;
  readonly receiptKind: string;
  /** Default: the empty row. */
  readonly effectRow?: EffectRow;
}

/**
 * A frozen descriptor. Shapes are checked here (strings, a known class); the grammar and class rules are
 * checked by {@link validateDescriptor}, which registration runs, so a builder reports them as BuildErrors.
 */
export function operationDescriptor(init: OperationDescriptorInit): OperationDescriptor {
  for (const field of ['name', 'inputSchemaRef', 'outputSchemaRef', 'receiptKind'] as const) {
    if (typeof init[field] !== 'string') throw new TypeError(`descriptor ${field} must be a string`);
  }
  if (init.title !== undefined && typeof init.title !== 'string') throw new TypeError('descriptor title must be a string');
  if (!isEffectClass(init.effect)) throw new TypeError(`descriptor effect must be one of inspect, compute, persist, emit, control`);
  if (init.effectRow !== undefined && !(init.effectRow instanceof EffectRow)) throw new TypeError('descriptor effectRow must be an EffectRow');
  return Object.freeze({
    name: init.name,
    ...(init.title === undefined ? {} : { title: init.title }),
    effect: init.effect,
    inputSchemaRef: init.inputSchemaRef,
    outputSchemaRef: init.outputSchemaRef,
    receiptKind: init.receiptKind,
    effectRow: init.effectRow ?? EffectRow.empty(),
  });
}

/**
 * A frozen copy of `d` whose every field (and every effect-row list) was read exactly once into plain data. The
 * runtime registers this copy, so a descriptor with getters or a mutable row cannot change its authority after
 * registration: what was validated (and fingerprinted) is what every dispatch checks against.
 */
export function snapshotDescriptor(d: OperationDescriptor): OperationDescriptor {
  const row = d.effectRow;
  if (!(row instanceof EffectRow)) throw new TypeError('descriptor effectRow must be an EffectRow');
  const lists: { [K in (typeof EFFECT_ROW_LISTS)[number][0]]?: readonly string[] } = {};
  for (const [list] of EFFECT_ROW_LISTS) {
    const entries = row[list];
    if (!Array.isArray(entries)) throw new TypeError(`descriptor effectRow.${list} must be an array`);
    lists[list] = [...(entries as readonly unknown[])].map((t) => {
      if (typeof t !== 'string') throw new TypeError(`descriptor effectRow.${list} entries must be strings`);
      return t;
    });
  }
  const title = d.title;
  return operationDescriptor({
    name: d.name,
    ...(title === undefined ? {} : { title }),
    effect: d.effect,
    inputSchemaRef: d.inputSchemaRef,
    outputSchemaRef: d.outputSchemaRef,
    receiptKind: d.receiptKind,
    effectRow: EffectRow.fromLists(lists),
  });
}

/** The first rule the descriptor breaks, or undefined. Never throws for a well-shaped descriptor. */
export function validateDescriptor(d: OperationDescriptor): DescriptorValidationError | undefined {
  const nameViolation = findOperationNameViolation(d.name);
  if (nameViolation !== undefined) return new DescriptorValidationError('name', d.name, grammarMessage(nameViolation));
  for (const [field, value] of [
    ['input_schema_ref', d.inputSchemaRef],
    ['output_schema_ref', d.outputSchemaRef],
    ['receipt_kind', d.receiptKind],
  ] as const) {
    const err = refViolation(field, value);
    // Rust reports refs as "{operation}:{ref}" so a message names the operation too.
    if (err !== undefined) return new DescriptorValidationError(field, `${d.name}:${value}`, err.reason);
  }
  return d.effectRow.findTargetViolation() ?? classViolation(d.effect, d.effectRow, d.receiptKind);
}

function classViolation(effect: EffectClass, row: EffectRow, receiptKind: string): DescriptorValidationError | undefined {
  const fail = (reason: ConstructorParameters<typeof DescriptorValidationError>[2]) => new DescriptorValidationError('effect_row', effect, reason);
  const appends = row.appendsEvents.length > 0;
  const emits = row.emitsReceipts.length > 0;
  const controls = row.usesHostControls.length > 0;
  switch (effect) {
    case 'inspect':
      return appends || emits || controls ? fail('inspect operations cannot declare append, receipt emit, or host control effects') : undefined;
    case 'compute':
      return row.isEmpty() ? undefined : fail('compute operations cannot declare runtime effects');
    case 'persist':
      if (!appends) return fail('persist operations must declare event appends');
      return emits || controls ? fail('persist operations cannot declare receipt emit or host control effects') : undefined;
    case 'emit':
      if (!row.emitsReceipts.includes(receiptKind)) return fail('emit operations must declare their receipt kind');
      return appends || controls ? fail('emit operations cannot declare event append or host control effects') : undefined;
    case 'control':
      return controls ? undefined : fail('control operations must declare host control use');
  }
}

/** Throwing form of {@link validateDescriptor}. */
export function assertValidDescriptor(d: OperationDescriptor): void {
  const err = validateDescriptor(d);
  if (err !== undefined) throw err;
}

/** Same name, title, class, refs and effect row (an empty row equals no row). */
export function descriptorsEqual(a: OperationDescriptor, b: OperationDescriptor): boolean {
  return (
    a.name === b.name &&
    a.title === b.title &&
    a.effect === b.effect &&
    a.inputSchemaRef === b.inputSchemaRef &&
    a.outputSchemaRef === b.outputSchemaRef &&
    a.receiptKind === b.receiptKind &&
    a.effectRow.equals(b.effectRow)
  );
}
