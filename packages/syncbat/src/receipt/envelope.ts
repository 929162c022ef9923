// ReceiptEnvelope: the one record a checkout produces, and its canonical bytes (Rust `to_vec_named` layout).
// Invariant: encodeReceiptEnvelope is byte-identical to Rust (golden receipt_envelope_completed.hex); decode ∘ encode = id.

import { asByteArray, cmap, cnil, cstr, cstruct, cbytesArray, decodeCanonical, encodeCanonical, type CanonicalValue } from '@batpak/core';
import { writeReceiptEnvelope } from './envelope-writer.js';
import { drawerFrom, drawerValue, malformed, type Drawer } from './drawer.js';

export type ReceiptOutcome =
  | { readonly class: 'completed' }
  | { readonly class: 'failed'; readonly code: string; readonly message: string }
  | { readonly class: 'denied'; readonly code: string; readonly message: string };

export type ReceiptOutcomeClass = ReceiptOutcome['class'];

export interface ReceiptEnvelope {
  readonly descriptorName: string;
  readonly receiptKind: string;
  /** 32 bytes, or absent under the `deferred` hash policy. */
  readonly inputHash?: Uint8Array;
  /** 32 bytes on `completed` (unless deferred); absent otherwise. */
  readonly outputHash?: Uint8Array;
  readonly outcome: ReceiptOutcome;
  readonly signedExtensions: Drawer;
  readonly localExtensions: Drawer;
}

const VARIANT = { completed: 'Completed', failed: 'Failed', denied: 'Denied' } as const;

function hashValue(hash: Uint8Array | undefined, field: string): CanonicalValue {
  if (hash === undefined) return cnil();
  if (hash.length !== 32) throw new RangeError(`${field} must be 32 bytes, got ${hash.length}`);
  return cbytesArray(hash);
}

function outcomeValue(o: ReceiptOutcome): CanonicalValue {
  // Unit variant → its name; struct variant → a one-entry map (serde's externally tagged form).
  if (o.class === 'completed') return cstr(VARIANT.completed);
  return cmap([[cstr(VARIANT[o.class]), cstruct([['code', cstr(o.code)], ['message', cstr(o.message)]])]]);
}

export function receiptEnvelopeValue(e: ReceiptEnvelope): CanonicalValue {
  return cstruct([
    ['descriptor_name', cstr(e.descriptorName)],
    ['receipt_kind', cstr(e.receiptKind)],
    ['input_hash', hashValue(e.inputHash, 'inputHash')],
    ['output_hash', hashValue(e.outputHash, 'outputHash')],
    ['outcome', outcomeValue(e.outcome)],
    ['signed_extensions', drawerValue(e.signedExtensions)],
    ['local_extensions', drawerValue(e.localExtensions)],
  ]);
}

/** Canonical bytes of the envelope: the payload of a receipt event and the input of every receipt hash. */
export function encodeReceiptEnvelope(e: ReceiptEnvelope): Uint8Array {
  // The direct writer covers ASCII names, codes, messages and keys (every receipt the runtime writes in practice).
  return writeReceiptEnvelope(e) ?? encodeCanonical(receiptEnvelopeValue(e));
}

/** Struct fields by name; serde accepts any field order and ignores unknown fields. */
export function structFields(value: CanonicalValue, what: string): Map<string, CanonicalValue> {
  if (value.t !== 'map') throw malformed(`${what} is not a map`);
  const out = new Map<string, CanonicalValue>();
  for (const [k, v] of value.entries) {
    if (k.t !== 'str') throw malformed(`${what} has a non-string key`);
    out.set(k.v, v);
  }
  return out;
}

export function strField(fields: Map<string, CanonicalValue>, name: string): string {
  const v = fields.get(name);
  if (v === undefined || v.t !== 'str') throw malformed(`${name} is not a string`);
  return v.v;
}

/** A `[u8; 32]` field: nil or absent means none; `present: true` requires the key (plain `Option`, not skipped). */
export function hashField(fields: Map<string, CanonicalValue>, name: string, present: boolean): Uint8Array | undefined {
  const v = fields.get(name);
  if (v === undefined) {
    if (present) throw malformed(`${name} is missing`);
    return undefined;
  }
  if (v.t === 'nil') return undefined;
  const bytes = asByteArray(v);
  if (bytes === undefined || bytes.length !== 32) throw malformed(`${name} is not 32 bytes`);
  return bytes;
}

function outcomeFrom(v: CanonicalValue | undefined): ReceiptOutcome {
  if (v === undefined) throw malformed('outcome is missing');
  if (v.t === 'str') {
    if (v.v === VARIANT.completed) return { class: 'completed' };
    throw malformed(`unknown outcome ${v.v}`);
  }
  if (v.t !== 'map' || v.entries.length !== 1) throw malformed('outcome is not a variant');
  const [tag, body] = v.entries[0]!;
  const cls = tag.t === 'str' ? (tag.v === VARIANT.failed ? 'failed' : tag.v === VARIANT.denied ? 'denied' : undefined) : undefined;
  if (cls === undefined) throw malformed('unknown outcome variant');
  const f = structFields(body, 'outcome');
  return { class: cls, code: strField(f, 'code'), message: strField(f, 'message') };
}

/** Parses canonical envelope bytes. Throws BatpakError `ERR_INVALID_PAYLOAD` on anything else. */
export function decodeReceiptEnvelope(bytes: Uint8Array): ReceiptEnvelope {
  let value: CanonicalValue;
  try {
    value = decodeCanonical(bytes);
  } catch (err) {
    throw malformed(`receipt envelope is not canonical msgpack (${err instanceof Error ? err.message : String(err)})`);
  }
  const f = structFields(value, 'receipt envelope');
  const inputHash = hashField(f, 'input_hash', true);
  const outputHash = hashField(f, 'output_hash', true);
  return {
    descriptorName: strField(f, 'descriptor_name'),
    receiptKind: strField(f, 'receipt_kind'),
    ...(inputHash === undefined ? {} : { inputHash }),
    ...(outputHash === undefined ? {} : { outputHash }),
    outcome: outcomeFrom(f.get('outcome')),
    signedExtensions: drawerFrom(f.get('signed_extensions'), 'signed_extensions'),
    localExtensions: drawerFrom(f.get('local_extensions'), 'local_extensions'),
  };
}
