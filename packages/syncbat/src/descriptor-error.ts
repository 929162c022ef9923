// DescriptorValidationError: why a descriptor (or its effect row) was refused, in Rust's exact words.
// Invariant: `field` and `message` are stable strings; Display is "{field} `{value}` is invalid: {message}".

import { findNameGrammarViolation, type OperationNameViolation } from './operation-name.js';
import { DESCRIPTOR_ERROR_CODE, SyncbatError } from './syncbat-error.js';

/** Byte bound of schema refs, receipt kinds and effect-row targets. */
export const MAX_DESCRIPTOR_REF_BYTES = 256;

/** The stable messages a descriptor is refused with, in Rust syncbat's exact words (README § Effect classes). */
export type DescriptorMessage =
  | 'empty'
  | 'too long'
  | "expected ASCII letters, digits, '.', '_' or '-'"
  | 'dot-separated tokens must be non-empty'
  | 'inspect operations cannot declare append, receipt emit, or host control effects'
  | 'compute operations cannot declare runtime effects'
  | 'persist operations must declare event appends'
  | 'persist operations cannot declare receipt emit or host control effects'
  | 'emit operations must declare their receipt kind'
  | 'emit operations cannot declare event append or host control effects'
  | 'control operations must declare host control use';

/** The SyncbatError (`ERR_INVALID_DESCRIPTOR`) a refused descriptor or effect row throws. */
export class DescriptorValidationError extends SyncbatError {
  override readonly name = 'DescriptorValidationError';
  declare readonly code: typeof DESCRIPTOR_ERROR_CODE;
  /** Rust field spelling: `name`, `input_schema_ref`, `receipt_kind`, an effect-row list, or `effect_row`. */
  readonly field: string;
  readonly value: string;
  readonly reason: DescriptorMessage;

  constructor(field: string, value: string, reason: DescriptorMessage) {
    super(DESCRIPTOR_ERROR_CODE, `${field} \`${value}\` is invalid: ${reason}`);
    this.field = field;
    this.value = value;
    this.reason = reason;
  }
}

export function grammarMessage(v: OperationNameViolation): DescriptorMessage {
  switch (v.kind) {
    case 'empty':
      return 'empty';
    case 'too_long':
      return 'too long';
    case 'illegal_character':
      return "expected ASCII letters, digits, '.', '_' or '-'";
    case 'leading_or_trailing_dot':
    case 'consecutive_dots':
      return 'dot-separated tokens must be non-empty';
  }
}

/** Rust's words for a module or handler name that breaks the grammar: "name `{value}` is invalid: {message}". */
export function nameViolationMessage(value: string, v: OperationNameViolation): string {
  return new DescriptorValidationError('name', value, grammarMessage(v)).message;
}

/** The grammar check for refs and targets (empty → too long → charset → dots), or undefined when valid. */
export function refViolation(field: string, value: string): DescriptorValidationError | undefined {
  const v = findNameGrammarViolation(value, MAX_DESCRIPTOR_REF_BYTES);
  return v === undefined ? undefined : new DescriptorValidationError(field, value, grammarMessage(v));
}
