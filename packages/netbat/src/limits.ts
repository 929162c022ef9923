// Protocol tokens and the byte bounds every frame is checked against (README § Limits; Rust `transport/limits.rs`).
// Invariant: defaults equal the Rust defaults, so a frame one implementation accepts the other accepts too.

export const PROTOCOL_PREFIX = 'NETBAT/';
export const LINE_PROTOCOL_VERSION = 'NETBAT/1';
export const STREAM_PROTOCOL_VERSION = 'NETBAT/2';
export const CALL_VERB = 'CALL';

export const STREAM_VERBS = [
  'SUBSCRIBE',
  'SUB_EVENT',
  'SUB_WATERMARK',
  'SUB_ACK',
  'SUB_CANCEL',
  'SUB_ERR',
  'SUB_END',
] as const;
export type StreamVerb = (typeof STREAM_VERBS)[number];

/** Byte bounds. Line bytes count the terminating `\n`; the others count decoded bytes. */
export interface Limits {
  /** Longest request line, `\n` included. Default 64 KiB. */
  readonly maxLineBytes: number;
  /** Longest operation name. Default 128 (the syncbat grammar bound). */
  readonly maxOperationNameBytes: number;
  /** Largest decoded CALL input. Default 32 KiB. */
  readonly maxInputBytes: number;
  /** Largest dispatcher output a response may carry. Default 32 KiB. */
  readonly maxOutputBytes: number;
  /** Longest subscription id. Default 128. */
  readonly maxSubscriptionIdBytes: number;
  /** Largest decoded cursor. Default 4 KiB. */
  readonly maxCursorBytes: number;
  /** Largest decoded SUB_EVENT payload. Default 32 KiB. */
  readonly maxStreamPayloadBytes: number;
  /** Largest decoded SUB_ERR message. Default 4 KiB. */
  readonly maxStreamErrorMessageBytes: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxLineBytes: 64 * 1024,
  maxOperationNameBytes: 128,
  maxInputBytes: 32 * 1024,
  maxOutputBytes: 32 * 1024,
  maxSubscriptionIdBytes: 128,
  maxCursorBytes: 4 * 1024,
  maxStreamPayloadBytes: 32 * 1024,
  maxStreamErrorMessageBytes: 4 * 1024,
});

/** Fills unset bounds with the defaults. Callers validate with `checkLimits` at their boundary. */
export function resolveLimits(partial: Partial<Limits> = {}): Limits {
  const out: Record<string, number> = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(partial)) {
    if (value !== undefined) out[key] = value;
  }
  return out as unknown as Limits;
}

/** Returns the name of the first bound that is not a positive safe integer, if any. */
export function findInvalidLimit(limits: Limits): keyof Limits | undefined {
  for (const key of Object.keys(DEFAULT_LIMITS) as Array<keyof Limits>) {
    const value = limits[key];
    if (!Number.isSafeInteger(value) || value <= 0) return key;
  }
  return undefined;
}

/**
 * The longest NETBAT/2 line a peer can legitimately send under `limits` (a full SUB_EVENT or SUB_ERR),
 * which is what a subscriber must be willing to read even though it exceeds `maxLineBytes`.
 */
export function maxStreamLineBytes(limits: Limits): number {
  const fixed = 512 + limits.maxSubscriptionIdBytes + 256; // tokens, id, schema ref
  const event = 2 * (2 * limits.maxCursorBytes + limits.maxStreamPayloadBytes);
  const err = 2 * (2 * limits.maxCursorBytes + limits.maxStreamErrorMessageBytes);
  return Math.max(limits.maxLineBytes, fixed + Math.max(event, err));
}
