// defineOperation: one call that declares an operation's descriptor, effect row and handler together.
// Invariant: the row it builds is exactly what the EffectRow builders would build; the descriptor is validated eagerly.

import type { EventKind } from '@batpak/core';
import { assertValidDescriptor, operationDescriptor, type OperationDescriptor } from './descriptor.js';
import type { EffectClass } from './effect-class.js';
import { EffectRow } from './effect-row.js';
import type { Handler } from './handler.js';

export interface Operation {
  readonly descriptor: OperationDescriptor;
  readonly handler: Handler;
}

export interface OperationEffects {
  /** Event categories read (identity tokens). */
  readonly reads?: readonly string[];
  /** Append targets, or kinds (declared as their `evt.xxxx` target). */
  readonly appends?: readonly (string | EventKind)[];
  readonly queries?: readonly string[];
  /** Receipt kinds emitted; `true` means the operation's own receipt kind. */
  readonly emitsReceipt?: boolean | readonly string[];
  readonly hostControls?: readonly string[];
}

export interface DefineOperationInit {
  readonly name: string;
  readonly effectClass: EffectClass;
  readonly title?: string;
  readonly effects?: OperationEffects;
  /** Extra capability tokens the Core must be granted (`grantCapability`). */
  readonly requiresCapabilities?: readonly string[];
  /** Default `schema.{name}.input.v1`. */
  readonly inputSchemaRef?: string;
  /** Default `schema.{name}.output.v1`. */
  readonly outputSchemaRef?: string;
  /** Default `receipt.{name}.v1`. */
  readonly receiptKind?: string;
  readonly handler: Handler;
}

/** Builds and validates the descriptor (throws DescriptorValidationError) and pairs it with the handler. */
export function defineOperation(init: DefineOperationInit): Operation {
  if (typeof init.handler !== 'function') throw new TypeError('defineOperation needs a handler function');
  const receiptKind = init.receiptKind ?? `receipt.${init.name}.v1`;
  const e = init.effects ?? {};
  let row = EffectRow.empty();
  for (const c of e.reads ?? []) row = row.readsEvent(c);
  for (const t of e.appends ?? []) row = row.appendsEvent(t);
  for (const q of e.queries ?? []) row = row.queriesProjection(q);
  const emits = e.emitsReceipt === true ? [receiptKind] : e.emitsReceipt === false || e.emitsReceipt === undefined ? [] : e.emitsReceipt;
  for (const k of emits) row = row.emitsReceipt(k);
  for (const h of e.hostControls ?? []) row = row.usesHostControl(h);
  for (const t of init.requiresCapabilities ?? []) row = row.requiresCapability(t);
  const descriptor = operationDescriptor({
    name: init.name,
    ...(init.title === undefined ? {} : { title: init.title }),
    effect: init.effectClass,
    inputSchemaRef: init.inputSchemaRef ?? `schema.${init.name}.input.v1`,
    outputSchemaRef: init.outputSchemaRef ?? `schema.${init.name}.output.v1`,
    receiptKind,
    effectRow: row,
  });
  assertValidDescriptor(descriptor);
  return Object.freeze({ descriptor, handler: init.handler });
}
