// NETBAT/2 subscription line codec: SUBSCRIBE, SUB_EVENT, SUB_WATERMARK, SUB_ACK, SUB_CANCEL, SUB_ERR, SUB_END.
// Invariant: field order, `-` for an absent cursor and the check order follow Rust stream_frame.rs; encode(f) decodes back to f.

import { NetbatError } from './errors.js';
import { decodeHex, encodeHex, hexFailureReason } from './hex.js';
import { DEFAULT_LIMITS, STREAM_PROTOCOL_VERSION, type Limits } from './limits.js';
import { bytesEqualAscii, joinLine, splitFields, stripLineEnding, utf8OrUndefined } from './line.js';
import { payloadSchemaRefViolation, reasonCodeViolation, subscriptionIdViolation } from './stream-grammar.js';

/** Client → server: open or resume. `clientWindow` bounds unacknowledged deliveries (u32, nonzero). */
export interface SubscribeFrame {
  readonly type: 'SUBSCRIBE';
  readonly subscriptionId: string;
  readonly resumeCursor?: Uint8Array;
  readonly clientWindow: number;
}

/** Server → client: one delivery. `deliveryIndex` is a nonzero u64. */
export interface SubEventFrame {
  readonly type: 'SUB_EVENT';
  readonly subscriptionId: string;
  readonly deliveryIndex: bigint;
  readonly cursorBefore?: Uint8Array;
  readonly cursorAfter?: Uint8Array;
  readonly payloadSchemaRef: string;
  readonly payload: Uint8Array;
}

/** Server → client: replay is caught up to `cursorAfter` (consumes a delivery index). */
export interface SubWatermarkFrame {
  readonly type: 'SUB_WATERMARK';
  readonly subscriptionId: string;
  readonly deliveryIndex: bigint;
  readonly cursorAfter: Uint8Array;
}

/** Client → server: cumulative acknowledgement of every delivery up to `deliveryIndex`. */
export interface SubAckFrame {
  readonly type: 'SUB_ACK';
  readonly subscriptionId: string;
  readonly deliveryIndex: bigint;
  readonly cursorAfter: Uint8Array;
}

export interface SubCancelFrame {
  readonly type: 'SUB_CANCEL';
  readonly subscriptionId: string;
  readonly reasonCode: string;
}

/** Server → client: terminal error; `message` is UTF-8 bytes. */
export interface SubErrFrame {
  readonly type: 'SUB_ERR';
  readonly subscriptionId: string;
  readonly code: string;
  readonly lastDeliveredCursor?: Uint8Array;
  readonly lastAckedCursor?: Uint8Array;
  readonly message: Uint8Array;
}

/** Server → client: terminal end of stream. */
export interface SubEndFrame {
  readonly type: 'SUB_END';
  readonly subscriptionId: string;
  readonly cursorAfter?: Uint8Array;
  readonly reasonCode: string;
}

export type StreamFrame =
  | SubscribeFrame
  | SubEventFrame
  | SubWatermarkFrame
  | SubAckFrame
  | SubCancelFrame
  | SubErrFrame
  | SubEndFrame;

const U64_MAX = (1n << 64n) - 1n;
const U32_MAX = 0xffff_ffffn;
const ABSENT = '-';

/** Cursor-field reader over the remaining fields of one line; `missing` names the absent field. */
class Fields {
  private at = 0;
  constructor(
    private readonly parts: Uint8Array[],
    private readonly limits: Limits,
  ) {}

  next(missing: string): Uint8Array {
    const field = this.parts[this.at++];
    if (field === undefined) throw NetbatError.malformedStreamFrame(missing);
    return field;
  }

  /** `-` or hex; decoded as soon as it is read, matching the Rust evaluation order. */
  maybeCursor(missing: string): Uint8Array | undefined {
    const token = this.next(missing);
    return bytesEqualAscii(token, ABSENT) ? undefined : cursor(token, this.limits);
  }

  requiredCursor(missing: string): Uint8Array {
    return cursor(this.next(missing), this.limits);
  }

  get exhausted(): boolean {
    return this.at >= this.parts.length;
  }
}

function streamHex(token: Uint8Array, max: number, tooLarge: (max: number) => NetbatError): Uint8Array {
  const decoded = decodeHex(token, max);
  if (decoded.ok) return decoded.bytes;
  if (decoded.failure === 'too_large') throw tooLarge(max);
  throw NetbatError.malformedStreamFrame(hexFailureReason(decoded.failure));
}

function cursor(token: Uint8Array, limits: Limits): Uint8Array {
  return streamHex(token, limits.maxCursorBytes, NetbatError.cursorTooLarge);
}

function text(token: Uint8Array): string {
  const value = utf8OrUndefined(token);
  if (value === undefined) throw NetbatError.malformedStreamFrame('token is not utf-8');
  return value;
}

function subscriptionId(token: Uint8Array, limits: Limits): string {
  return checkSubscriptionId(text(token), limits);
}

function checkSubscriptionId(id: string, limits: Limits): string {
  if (Buffer.byteLength(id, 'utf8') > limits.maxSubscriptionIdBytes) {
    throw NetbatError.subscriptionIdTooLong(limits.maxSubscriptionIdBytes);
  }
  const violation = subscriptionIdViolation(id);
  if (violation !== undefined) throw NetbatError.malformedStreamFrame(violation);
  return id;
}

function checkReasonCode(code: string): string {
  const violation = reasonCodeViolation(code);
  if (violation !== undefined) throw NetbatError.malformedStreamFrame(violation);
  return code;
}

function checkSchemaRef(ref: string): string {
  const violation = payloadSchemaRefViolation(ref);
  if (violation !== undefined) throw NetbatError.malformedStreamFrame(violation);
  return ref;
}

/** Rust `str::parse::<u64|u32>`: optional `+`, decimal digits, no overflow. */
function unsigned(token: Uint8Array, max: bigint): bigint {
  const value = text(token);
  if (!/^\+?[0-9]+$/.test(value)) throw NetbatError.malformedStreamFrame('integer field is not decimal');
  const n = BigInt(value.startsWith('+') ? value.slice(1) : value);
  if (n > max) throw NetbatError.malformedStreamFrame('integer field is not decimal');
  return n;
}

function deliveryIndex(token: Uint8Array): bigint {
  return checkDeliveryIndex(unsigned(token, U64_MAX));
}

function checkDeliveryIndex(n: bigint): bigint {
  if (n === 0n) throw NetbatError.malformedStreamFrame('delivery index must be nonzero');
  if (n < 0n || n > U64_MAX) throw NetbatError.malformedStreamFrame('integer field is not decimal');
  return n;
}

function checkClientWindow(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > Number(U32_MAX)) {
    throw NetbatError.malformedStreamFrame('integer field is not decimal');
  }
  if (n === 0) throw NetbatError.malformedStreamFrame('client window must be nonzero');
  return n;
}

/**
 * Decodes one NETBAT/2 line. Throws a NetbatError: `line_too_long`, `unsupported_protocol_version`,
 * `malformed_stream_frame` or one of the stream size codes.
 */
export function decodeStreamLine(line: Uint8Array, limits: Limits = DEFAULT_LIMITS): StreamFrame {
  if (line.length > limits.maxLineBytes) throw NetbatError.lineTooLong(limits.maxLineBytes);
  const body = stripLineEnding(line);
  if (body.length === 0) throw NetbatError.malformedStreamFrame('empty line');
  const parts = splitFields(body);
  const version = parts[0]!;
  if (!bytesEqualAscii(version, STREAM_PROTOCOL_VERSION)) {
    throw NetbatError.unsupportedProtocolVersion(utf8OrUndefined(version) ?? `0x${encodeHex(version)}`);
  }
  const fields = new Fields(parts.slice(1), limits);
  const verb = fields.next('missing stream verb');
  const frame = decodeBody(verb, fields, limits);
  if (!fields.exhausted) throw NetbatError.malformedStreamFrame('too many fields');
  return frame;
}

function decodeBody(verb: Uint8Array, f: Fields, limits: Limits): StreamFrame {
  if (bytesEqualAscii(verb, 'SUBSCRIBE')) {
    const id = f.next('missing subscription id');
    const resume = f.maybeCursor('missing resume cursor');
    const window = f.next('missing client window');
    const subscriptionIdValue = subscriptionId(id, limits);
    const clientWindow = checkClientWindow(Number(unsigned(window, U32_MAX)));
    return {
      type: 'SUBSCRIBE',
      subscriptionId: subscriptionIdValue,
      ...(resume === undefined ? {} : { resumeCursor: resume }),
      clientWindow,
    };
  }
  if (bytesEqualAscii(verb, 'SUB_EVENT')) {
    const id = f.next('missing subscription id');
    const index = f.next('missing delivery index');
    const before = f.maybeCursor('missing cursor_before');
    const after = f.maybeCursor('missing cursor_after');
    const schema = f.next('missing payload schema ref');
    const payloadHex = f.next('missing payload hex');
    const subscriptionIdValue = subscriptionId(id, limits);
    const deliveryIndexValue = deliveryIndex(index);
    const payloadSchemaRef = checkSchemaRef(text(schema));
    const payload = streamHex(payloadHex, limits.maxStreamPayloadBytes, NetbatError.streamPayloadTooLarge);
    return {
      type: 'SUB_EVENT',
      subscriptionId: subscriptionIdValue,
      deliveryIndex: deliveryIndexValue,
      ...(before === undefined ? {} : { cursorBefore: before }),
      ...(after === undefined ? {} : { cursorAfter: after }),
      payloadSchemaRef,
      payload,
    };
  }
  if (bytesEqualAscii(verb, 'SUB_WATERMARK') || bytesEqualAscii(verb, 'SUB_ACK')) {
    const type = bytesEqualAscii(verb, 'SUB_ACK') ? 'SUB_ACK' : 'SUB_WATERMARK';
    const id = f.next('missing subscription id');
    const index = f.next('missing delivery index');
    const after = f.next('missing cursor_after');
    const subscriptionIdValue = subscriptionId(id, limits);
    const deliveryIndexValue = deliveryIndex(index);
    return { type, subscriptionId: subscriptionIdValue, deliveryIndex: deliveryIndexValue, cursorAfter: cursor(after, limits) };
  }
  if (bytesEqualAscii(verb, 'SUB_CANCEL')) {
    const id = f.next('missing subscription id');
    const reason = f.next('missing reason code');
    const subscriptionIdValue = subscriptionId(id, limits);
    return { type: 'SUB_CANCEL', subscriptionId: subscriptionIdValue, reasonCode: checkReasonCode(text(reason)) };
  }
  if (bytesEqualAscii(verb, 'SUB_ERR')) {
    const id = f.next('missing subscription id');
    const code = f.next('missing error code');
    const lastDelivered = f.maybeCursor('missing last delivered cursor');
    const lastAcked = f.maybeCursor('missing last acked cursor');
    const messageHex = f.next('missing message hex');
    const subscriptionIdValue = subscriptionId(id, limits);
    const codeValue = checkReasonCode(text(code));
    const message = streamHex(messageHex, limits.maxStreamErrorMessageBytes, NetbatError.streamMessageTooLarge);
    return {
      type: 'SUB_ERR',
      subscriptionId: subscriptionIdValue,
      code: codeValue,
      ...(lastDelivered === undefined ? {} : { lastDeliveredCursor: lastDelivered }),
      ...(lastAcked === undefined ? {} : { lastAckedCursor: lastAcked }),
      message,
    };
  }
  if (bytesEqualAscii(verb, 'SUB_END')) {
    const id = f.next('missing subscription id');
    const after = f.maybeCursor('missing cursor_after');
    const reason = f.next('missing reason code');
    const subscriptionIdValue = subscriptionId(id, limits);
    return {
      type: 'SUB_END',
      subscriptionId: subscriptionIdValue,
      ...(after === undefined ? {} : { cursorAfter: after }),
      reasonCode: checkReasonCode(text(reason)),
    };
  }
  throw NetbatError.malformedStreamFrame('unknown stream verb');
}

function cursorToken(value: Uint8Array | undefined, limits: Limits): string {
  if (value === undefined) return ABSENT;
  if (value.length > limits.maxCursorBytes) throw NetbatError.cursorTooLarge(limits.maxCursorBytes);
  return encodeHex(value);
}

/**
 * Encodes one frame as a `\n`-terminated line. Validates every field against the same rules the
 * decoder applies (throwing the same NetbatError), so whatever this emits, a peer can decode.
 */
export function encodeStreamFrame(frame: StreamFrame, limits: Limits = DEFAULT_LIMITS): Uint8Array {
  const id = checkSubscriptionId(frame.subscriptionId, limits);
  switch (frame.type) {
    case 'SUBSCRIBE':
      return joinLine([
        STREAM_PROTOCOL_VERSION,
        frame.type,
        id,
        cursorToken(frame.resumeCursor, limits),
        String(checkClientWindow(frame.clientWindow)),
      ]);
    case 'SUB_EVENT': {
      if (frame.payload.length > limits.maxStreamPayloadBytes) {
        throw NetbatError.streamPayloadTooLarge(limits.maxStreamPayloadBytes);
      }
      return joinLine([
        STREAM_PROTOCOL_VERSION,
        frame.type,
        id,
        String(checkDeliveryIndex(frame.deliveryIndex)),
        cursorToken(frame.cursorBefore, limits),
        cursorToken(frame.cursorAfter, limits),
        checkSchemaRef(frame.payloadSchemaRef),
        encodeHex(frame.payload),
      ]);
    }
    case 'SUB_WATERMARK':
    case 'SUB_ACK':
      return joinLine([
        STREAM_PROTOCOL_VERSION,
        frame.type,
        id,
        String(checkDeliveryIndex(frame.deliveryIndex)),
        cursorToken(frame.cursorAfter, limits),
      ]);
    case 'SUB_CANCEL':
      return joinLine([STREAM_PROTOCOL_VERSION, frame.type, id, checkReasonCode(frame.reasonCode)]);
    case 'SUB_ERR': {
      if (frame.message.length > limits.maxStreamErrorMessageBytes) {
        throw NetbatError.streamMessageTooLarge(limits.maxStreamErrorMessageBytes);
      }
      return joinLine([
        STREAM_PROTOCOL_VERSION,
        frame.type,
        id,
        checkReasonCode(frame.code),
        cursorToken(frame.lastDeliveredCursor, limits),
        cursorToken(frame.lastAckedCursor, limits),
        encodeHex(frame.message),
      ]);
    }
    case 'SUB_END':
      return joinLine([
        STREAM_PROTOCOL_VERSION,
        frame.type,
        id,
        cursorToken(frame.cursorAfter, limits),
        checkReasonCode(frame.reasonCode),
      ]);
  }
}
