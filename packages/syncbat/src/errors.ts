// BuildError and RuntimeError: the two ways a Core says no — while being assembled, and while dispatching.
// Invariant: RuntimeError.code is exactly one netbat wire token; BuildError.code is one ERR_* code; Display matches Rust.

import type { RecordedReceipt } from './receipt/sink.js';
import { BUILD_ERROR_CODES, SyncbatError, type BuildErrorCode, type RuntimeErrorCode } from './syncbat-error.js';

// The codes live with SyncbatError; re-exported here, where they were first defined.
export { BUILD_ERROR_CODES, type BuildErrorCode, type RuntimeErrorCode };

export type BuildErrorDetail =
  | { readonly kind: 'duplicate_operation'; readonly name: string }
  | { readonly kind: 'duplicate_handler'; readonly name: string }
  | { readonly kind: 'missing_descriptor'; readonly name: string }
  | { readonly kind: 'missing_handler'; readonly name: string }
  | { readonly kind: 'invalid_module'; readonly name: string; readonly message: string }
  | { readonly kind: 'invalid_operation'; readonly name: string; readonly message: string }
  | { readonly kind: 'invalid_handler'; readonly name: string; readonly message: string }
  | { readonly kind: 'unknown_grant_operation'; readonly name: string }
  | { readonly kind: 'missing_receipt_sink' };

function describeBuild(d: BuildErrorDetail): string {
  switch (d.kind) {
    case 'duplicate_operation':
      return `operation \`${d.name}\` is already registered`;
    case 'duplicate_handler':
      return `handler for operation \`${d.name}\` is already registered`;
    case 'missing_descriptor':
      return `handler \`${d.name}\` has no matching operation descriptor`;
    case 'missing_handler':
      return `operation \`${d.name}\` has no registered handler`;
    case 'invalid_module':
      return `module \`${d.name}\` is invalid: ${d.message}`;
    case 'invalid_operation':
      return `operation \`${d.name}\` is invalid: ${d.message}`;
    case 'invalid_handler':
      return `handler \`${d.name}\` is invalid: ${d.message}`;
    case 'unknown_grant_operation':
      return `capability granted to operation \`${d.name}\`, which is not registered`;
    case 'missing_receipt_sink':
      return (
        'core has no receipt sink: a sinkless core silently drops every runtime receipt. Wire one with ' +
        'CoreBuilder.receiptSink(), or opt out explicitly with CoreBuilder.withoutReceipts()'
      );
  }
}

/** A SyncbatError thrown by registration and `build()`; `detail.kind` says which refusal, `code` its ERR_* code. */
export class BuildError extends SyncbatError {
  override readonly name = 'BuildError';
  declare readonly code: BuildErrorCode;
  readonly detail: BuildErrorDetail;

  constructor(detail: BuildErrorDetail, options?: { cause?: unknown }) {
    super(BUILD_ERROR_CODES[detail.kind], describeBuild(detail), options);
    this.detail = Object.freeze(detail);
  }
}

/** The (class, message) of a handler failure that preceded a sink failure. */
export interface HandlerCause {
  readonly code: string;
  readonly message: string;
}

export type RuntimeErrorDetail =
  | { readonly kind: 'unknown_operation'; readonly name: string }
  | { readonly kind: 'missing_handler'; readonly name: string }
  | { readonly kind: 'handler'; readonly name: string; readonly code: 'invalid_input' | 'failed'; readonly message: string }
  /** `code` is the inner denial code: `capability.denied`, `effect.violation`, or a guard's own code. */
  | { readonly kind: 'denied'; readonly name: string; readonly code: string; readonly message: string }
  | { readonly kind: 'receipt_sink'; readonly name: string; readonly message: string; readonly causedByHandler?: HandlerCause }
  | { readonly kind: 'status_sink'; readonly name: string; readonly message: string; readonly causedByHandler?: HandlerCause }
  /** The dispatch signal fired before the checkout began; nothing ran and nothing was recorded. */
  | { readonly kind: 'aborted'; readonly name: string }
  /** Dispatched from inside a guard or handler of the same Core (it would wait for itself); nothing ran or was recorded. */
  | { readonly kind: 'reentrant_dispatch'; readonly name: string };

export function runtimeErrorCodeOf(detail: RuntimeErrorDetail): RuntimeErrorCode {
  switch (detail.kind) {
    case 'unknown_operation':
    case 'missing_handler':
    case 'handler':
    case 'receipt_sink':
      return detail.kind;
    case 'denied':
    case 'status_sink':
    case 'aborted':
    case 'reentrant_dispatch':
      return 'runtime';
  }
}

function describeRuntime(d: RuntimeErrorDetail): string {
  switch (d.kind) {
    case 'unknown_operation':
      return `unknown operation \`${d.name}\``;
    case 'missing_handler':
      return `operation \`${d.name}\` has no registered handler`;
    case 'handler':
      return `handler for operation \`${d.name}\` failed with ${d.code}: ${d.message}`;
    case 'denied':
      return `operation \`${d.name}\` denied with ${d.code}: ${d.message}`;
    case 'receipt_sink':
    case 'status_sink': {
      const which = d.kind === 'receipt_sink' ? 'receipt' : 'status';
      return d.causedByHandler === undefined
        ? `${which} sink for operation \`${d.name}\` failed: ${d.message}`
        : `${which} sink for operation \`${d.name}\` failed after handler error ${d.causedByHandler.code}: ${d.causedByHandler.message}: ${d.message}`;
    }
    case 'aborted':
      return `dispatch of operation \`${d.name}\` was aborted before it started`;
    case 'reentrant_dispatch':
      return `dispatch of operation \`${d.name}\` from inside a checkout of the same Core is refused (it would wait for itself)`;
  }
}

/** A SyncbatError a dispatch rejects with; `code` is the netbat wire token, `detail.kind` which failure. */
export class RuntimeError extends SyncbatError {
  override readonly name = 'RuntimeError';
  /** The wire token netbat answers with (`ERR <code> …`). */
  declare readonly code: RuntimeErrorCode;
  readonly detail: RuntimeErrorDetail;
  /** The receipt banked for this failed invocation (denied / failed outcomes with a sink), if any. */
  readonly receipt: RecordedReceipt | undefined;

  constructor(detail: RuntimeErrorDetail, options: { cause?: unknown; receipt?: RecordedReceipt } = {}) {
    super(runtimeErrorCodeOf(detail), describeRuntime(detail), options.cause === undefined ? undefined : { cause: options.cause });
    this.detail = Object.freeze(detail);
    this.receipt = options.receipt;
  }
}
