// The single validator for operation names (module and handler names reuse it); the grammar is in README § Effect classes.
// Invariant: checks run in one fixed order — empty, too long, illegal byte, leading/trailing dot, `..` — and the first failure wins.

import { OPERATION_NAME_ERROR_CODE, SyncbatError } from './syncbat-error.js';

/** Byte bound of an operation name (UTF-8 bytes, not UTF-16 units). */
export const MAX_OPERATION_NAME_BYTES = 128;

/** Why a name was rejected. `kind` is stable API; the other fields say where. */
export type OperationNameViolation =
  | { readonly kind: 'empty' }
  | { readonly kind: 'too_long'; readonly len: number; readonly max: number }
  | { readonly kind: 'illegal_character'; readonly byte: number }
  | { readonly kind: 'leading_or_trailing_dot' }
  | { readonly kind: 'consecutive_dots' };

export type OperationNameViolationKind = OperationNameViolation['kind'];

/** A string that passed {@link checkOperationName}; the brand keeps unchecked strings out. */
export type OperationName = string & { readonly __operationName: unique symbol };

export type OperationNameCheck =
  | { readonly ok: true; readonly name: OperationName }
  | { readonly ok: false; readonly violation: OperationNameViolation };

const DOT = 0x2e;
const utf8 = new TextEncoder();

function isNameByte(b: number): boolean {
  return (
    (b >= 0x61 && b <= 0x7a) || // a-z
    (b >= 0x41 && b <= 0x5a) || // A-Z
    (b >= 0x30 && b <= 0x39) || // 0-9
    b === DOT ||
    b === 0x5f || // _
    b === 0x2d // -
  );
}

/**
 * Finds the first rule a name breaks, or `undefined` when it is valid. Accepts raw bytes so a wire
 * decoder can validate before (and without) decoding text; a string is measured as UTF-8, so a
 * non-ASCII character is reported as its first UTF-8 byte (>= 0x80).
 */
export function findOperationNameViolation(name: string | Uint8Array): OperationNameViolation | undefined {
  return findNameGrammarViolation(name, MAX_OPERATION_NAME_BYTES);
}

/**
 * The same grammar with another byte bound: descriptor refs, receipt kinds and effect-row targets share
 * it at 256 bytes (README § Effect classes). Internal to the package; the public entry point is
 * {@link findOperationNameViolation}.
 */
export function findNameGrammarViolation(name: string | Uint8Array, maxBytes: number): OperationNameViolation | undefined {
  const bytes = typeof name === 'string' ? utf8.encode(name) : name;
  if (bytes.length === 0) return { kind: 'empty' };
  if (bytes.length > maxBytes) {
    return { kind: 'too_long', len: bytes.length, max: maxBytes };
  }
  for (const b of bytes) {
    if (!isNameByte(b)) return { kind: 'illegal_character', byte: b };
  }
  if (bytes[0] === DOT || bytes[bytes.length - 1] === DOT) return { kind: 'leading_or_trailing_dot' };
  for (let i = 1; i < bytes.length; i++) {
    if (bytes[i] === DOT && bytes[i - 1] === DOT) return { kind: 'consecutive_dots' };
  }
  return undefined;
}

/** Non-throwing form: a tagged result carrying either the branded name or the violation. */
export function checkOperationName(name: string): OperationNameCheck {
  const violation = findOperationNameViolation(name);
  return violation === undefined ? { ok: true, name: name as OperationName } : { ok: false, violation };
}

/** Human-readable text of a violation; matches the Rust `OperationNameError` display. */
export function describeOperationNameViolation(v: OperationNameViolation): string {
  switch (v.kind) {
    case 'empty':
      return 'operation name is empty';
    case 'too_long':
      return `operation name is ${v.len} bytes (max ${v.max})`;
    case 'illegal_character':
      return `operation name contains illegal byte 0x${v.byte.toString(16).padStart(2, '0')} (allowed: [A-Za-z0-9._-])`;
    case 'leading_or_trailing_dot':
      return "operation name must not start or end with '.'";
    case 'consecutive_dots':
      return "operation name must not contain '..'";
  }
}

/** Thrown by {@link parseOperationName} (`ERR_INVALID_OPERATION_NAME`); `violation.kind` says which rule failed. */
export class OperationNameError extends SyncbatError {
  override readonly name = 'OperationNameError';
  declare readonly code: typeof OPERATION_NAME_ERROR_CODE;
  readonly violation: OperationNameViolation;

  constructor(violation: OperationNameViolation) {
    super(OPERATION_NAME_ERROR_CODE, describeOperationNameViolation(violation));
    this.violation = violation;
  }

  get kind(): OperationNameViolationKind {
    return this.violation.kind;
  }
}

/** Throwing form: returns the branded name or throws an {@link OperationNameError}. */
export function parseOperationName(name: string): OperationName {
  const result = checkOperationName(name);
  if (!result.ok) throw new OperationNameError(result.violation);
  return result.name;
}
