// OperationStatusFact: one lifecycle step of a checkout (started, then completed/failed/denied), as canonical bytes.
// Invariant: encoding order and skip-if-none fields match Rust OperationStatusFactV1, so both sides hash the same bytes.

import { cbytesArray, cstr, cstruct, cuint, decodeCanonical, encodeCanonical, type CanonicalValue } from '@batpak/core';
import { malformed } from '../receipt/drawer.js';
import { hashField, strField, structFields } from '../receipt/envelope.js';

export type OperationLifecycle = 'started' | 'completed' | 'failed' | 'denied';

const LIFECYCLES: readonly OperationLifecycle[] = ['started', 'completed', 'failed', 'denied'];

export interface OperationStatusFact {
  readonly schemaVersion: 1;
  readonly operation: string;
  readonly lifecycle: OperationLifecycle;
  readonly receiptKind?: string;
  /** Terminal facts: the denial code or handler class (`missing_handler` for a missing handler). */
  readonly code?: string;
  readonly message?: string;
  readonly inputHash?: Uint8Array;
  /** Completed facts only. */
  readonly outputHash?: Uint8Array;
}

export function encodeOperationStatusFact(f: OperationStatusFact): Uint8Array {
  const fields: [string, CanonicalValue][] = [
    ['schema_version', cuint(1)],
    ['operation', cstr(f.operation)],
    ['lifecycle', cstr(f.lifecycle)],
  ];
  if (f.receiptKind !== undefined) fields.push(['receipt_kind', cstr(f.receiptKind)]);
  if (f.code !== undefined) fields.push(['code', cstr(f.code)]);
  if (f.message !== undefined) fields.push(['message', cstr(f.message)]);
  if (f.inputHash !== undefined) fields.push(['input_hash', cbytesArray(f.inputHash)]);
  if (f.outputHash !== undefined) fields.push(['output_hash', cbytesArray(f.outputHash)]);
  return encodeCanonical(cstruct(fields));
}

export function decodeOperationStatusFact(bytes: Uint8Array): OperationStatusFact {
  let value: CanonicalValue;
  try {
    value = decodeCanonical(bytes);
  } catch (err) {
    throw malformed(`status fact is not canonical msgpack (${err instanceof Error ? err.message : String(err)})`);
  }
  const f = structFields(value, 'status fact');
  const version = f.get('schema_version');
  if (version === undefined || version.t !== 'int' || version.v !== 1) throw malformed('status fact schema_version is not 1');
  const lifecycle = strField(f, 'lifecycle');
  if (!(LIFECYCLES as readonly string[]).includes(lifecycle)) throw malformed(`unknown lifecycle ${lifecycle}`);
  const opt = (name: string) => (f.has(name) ? strField(f, name) : undefined);
  const receiptKind = opt('receipt_kind');
  const code = opt('code');
  const message = opt('message');
  const inputHash = hashField(f, 'input_hash', false);
  const outputHash = hashField(f, 'output_hash', false);
  return {
    schemaVersion: 1,
    operation: strField(f, 'operation'),
    lifecycle: lifecycle as OperationLifecycle,
    ...(receiptKind === undefined ? {} : { receiptKind }),
    ...(code === undefined ? {} : { code }),
    ...(message === undefined ? {} : { message }),
    ...(inputHash === undefined ? {} : { inputHash }),
    ...(outputHash === undefined ? {} : { outputHash }),
  };
}
