// The subscription seam: netbat frames what a SubscriptionSource yields (a syncbat subscription runtime, or a test double).
// Invariant: a source's failure maps to one stream terminal code, in `streamErrorCode` and nowhere else.

import type { StreamFrame } from './stream-frame.js';

export interface SubscriptionOpenRequest {
  readonly subscriptionId: string;
  /** Opaque resume cursor from the client; absent means "from the beginning". */
  readonly resumeCursor?: Uint8Array;
  /** The client's requested window (the server may use less). */
  readonly clientWindow: number;
  /** Aborted when the client cancels or disconnects, or the server shuts down. Stop producing then. */
  readonly signal: AbortSignal;
  /** The authenticated client, when the server has `auth` configured (netbat already checked `subscribe:` grants). */
  readonly caller?: { readonly principal: string; readonly capabilities: readonly string[] };
}

/**
 * One item of a subscription, in delivery order: replayed events, then a watermark once replay has
 * caught up, then live events. `end` finishes the stream (`SUB_END`); returning from the iterator
 * without one ends it with reason `stream.complete`.
 */
export type SubscriptionItem =
  | {
      readonly kind: 'event';
      readonly cursorBefore?: Uint8Array;
      readonly cursorAfter: Uint8Array;
      /** Lowercase `[a-z0-9._-]`, at most 256 bytes. */
      readonly schemaRef: string;
      readonly payload: Uint8Array;
    }
  | { readonly kind: 'watermark'; readonly cursorAfter: Uint8Array }
  | { readonly kind: 'end'; readonly cursorAfter?: Uint8Array; readonly reason: string };

/**
 * Where subscriptions come from. `open` may throw (or its iterator may throw) an error whose string
 * `code` is one of STREAM_ERROR_CODES (e.g. `unknown_subscription`, `cursor_invalid`); the client
 * then receives `SUB_ERR <id> <code> …` with the error's message. Any other error is `internal_error`.
 */
export interface SubscriptionSource {
  open(request: SubscriptionOpenRequest): AsyncIterable<SubscriptionItem> | Promise<AsyncIterable<SubscriptionItem>>;
}

/** Terminal codes a session can end with (README § ERR codes, subscription terminals); Rust's `stream_code` values. */
export const STREAM_ERROR_CODES = [
  'unknown_subscription',
  'cursor_invalid',
  'cursor_mismatch',
  'slow_consumer',
  'malformed_stream_frame',
  'client_cancelled',
  'receipt_decode_failed',
  'internal_error',
  // Added by batpak: the client's grants do not cover this subscription.
  'unauthorized',
] as const;

export type StreamErrorCode = (typeof STREAM_ERROR_CODES)[number];

const STREAM_CODES: ReadonlySet<string> = new Set(STREAM_ERROR_CODES);

export function streamErrorCode(err: unknown): StreamErrorCode {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'string' && STREAM_CODES.has(code)) return code as StreamErrorCode;
  }
  return 'internal_error';
}

/**
 * The SUB_EVENT / SUB_WATERMARK frame of one source item at delivery `index`. Throws a TypeError for an
 * item that breaks the SubscriptionItem shape (the session reports it as `internal_error`).
 */
export function deliveryFrameOf(subscriptionId: string, item: Exclude<SubscriptionItem, { kind: 'end' }>, index: bigint): StreamFrame {
  if (item.kind === 'watermark') {
    if (!(item.cursorAfter instanceof Uint8Array)) throw new TypeError('watermark cursorAfter must be bytes');
    return { type: 'SUB_WATERMARK', subscriptionId, deliveryIndex: index, cursorAfter: item.cursorAfter };
  }
  if (item.kind !== 'event') throw new TypeError(`unknown item kind ${String((item as { kind: unknown }).kind)}`);
  if (!(item.cursorAfter instanceof Uint8Array)) throw new TypeError('event cursorAfter must be bytes');
  if (!(item.payload instanceof Uint8Array)) throw new TypeError('event payload must be bytes');
  if (item.cursorBefore !== undefined && !(item.cursorBefore instanceof Uint8Array)) {
    throw new TypeError('event cursorBefore must be bytes');
  }
  return {
    type: 'SUB_EVENT',
    subscriptionId,
    deliveryIndex: index,
    ...(item.cursorBefore === undefined ? {} : { cursorBefore: item.cursorBefore }),
    cursorAfter: item.cursorAfter,
    payloadSchemaRef: item.schemaRef,
    payload: item.payload,
  };
}
