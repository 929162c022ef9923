// NETBAT/1 request/response line codec: `NETBAT/1 CALL <op> <hex>\n` in, `OK <hex>\n` | `ERR <code> <hex>\n` out.
// Invariant: decode checks run in README § Request decoding order and the first failure wins, so the ERR line matches Rust byte for byte.

import { Buffer } from 'node:buffer';
import { findOperationNameViolation } from '@batpak/syncbat';
import { NetbatError, isWireErrorCode, type NetbatErrorCode, type WireErrorCode } from './errors.js';
import { decodeHex, decodeHexRange, encodeHex, hexFailureReason, writeHexInto } from './hex.js';
import { CALL_VERB, DEFAULT_LIMITS, LINE_PROTOCOL_VERSION, PROTOCOL_PREFIX, type Limits } from './limits.js';
import { bytesEqualAscii, joinLine, splitFields, stripLineEnding, utf8Bytes, utf8Lossy } from './line.js';

/** A decoded CALL: the operation name (validated ASCII) and its input bytes. */
export interface RequestFrame {
  readonly operation: string;
  readonly input: Uint8Array;
}

/** A decoded response line. `code` is kept as sent; `message` is the error's display text. */
export type ResponseFrame =
  | { readonly ok: true; readonly output: Uint8Array }
  | { readonly ok: false; readonly code: WireErrorCode; readonly message: string };

/** Encodes a request line. Like Rust `encode_request` it does not validate: the decoder is the boundary. */
export function encodeRequest(operation: string, input: Uint8Array): Uint8Array {
  return joinLine([LINE_PROTOCOL_VERSION, CALL_VERB, operation, encodeHex(input)]);
}

/** `OK <hex>\n`, written straight into one buffer: every served request ends here. */
export function encodeOkResponse(output: Uint8Array): Uint8Array {
  return writeOkResponse(output, new Uint8Array(4 + 2 * output.length));
}

/**
 * encodeOkResponse for the server's own writes (every served request ends here): the line is carved from Buffer's
 * shared pool (allocUnsafe, every byte then written), so a small response costs no backing store of its own. Never
 * handed to callers: a pool slice's `.buffer` is shared with other pool slices.
 */
export function encodeOkResponseForSocket(output: Uint8Array, spare?: Buffer): Buffer {
  const size = 4 + 2 * output.length;
  // A spare of the right size (the connection's last response, which the kernel has taken) is written over.
  return writeOkResponse(output, spare !== undefined && spare.length === size ? spare : Buffer.allocUnsafe(size));
}

function writeOkResponse<T extends Uint8Array>(output: Uint8Array, out: T): T {
  out[0] = 0x4f; // O
  out[1] = 0x4b; // K
  out[2] = 0x20;
  writeHexInto(output, out, 3);
  out[out.length - 1] = 0x0a;
  return out;
}

/** Encodes `ERR <code> <hex(message)>`. A config code (never meant for the wire) is sent as `runtime`. */
export function encodeErrResponse(error: { readonly code: NetbatErrorCode; readonly message: string }): Uint8Array {
  const code: WireErrorCode = isWireErrorCode(error.code) ? error.code : 'runtime';
  return joinLine(['ERR', code, encodeHex(utf8Bytes(error.message))]);
}

/**
 * Decodes one request line (with or without its `\n`). Throws the NetbatError whose ERR line the
 * server sends back. A line without the `NETBAT/` prefix — the legacy prefix-less `CALL` frame among
 * them — is refused with Rust's words (step 3 of README § Request decoding order).
 */
export function decodeRequestLine(line: Uint8Array, limits: Limits = DEFAULT_LIMITS): RequestFrame {
  if (line.length > limits.maxLineBytes) throw NetbatError.lineTooLong(limits.maxLineBytes);
  return decodeWellFormedCall(line, limits) ?? decodeAnyLine(line, limits);
}

/** `NETBAT/1 CALL ` as bytes: the start of every well-formed request. */
const CALL_START = new Uint8Array([...`${LINE_PROTOCOL_VERSION} ${CALL_VERB} `].map((c) => c.charCodeAt(0)));

/**
 * A request that passes every check, decoded without looking for the errors first: its prefix compared at once, its
 * name scanned to the next space, its input decoded (hex has no spaces, so a decoded input also proves there is no
 * fifth field). Any failure returns undefined and decodeAnyLine finds the first error in the documented order.
 */
export function decodeWellFormedCall(line: Uint8Array, limits: Limits): RequestFrame | undefined {
  const start = CALL_START.length;
  const end = lineEnd(line);
  if (end <= start) return undefined;
  for (let i = 0; i < start; i++) if (line[i] !== CALL_START[i]) return undefined;
  let s3 = start;
  while (s3 < end && line[s3] !== SPACE) s3++;
  if (s3 === end || s3 - start > limits.maxOperationNameBytes) return undefined;
  const repeated = isLastOperation(line, start, s3);
  const operation = repeated ? undefined : line.subarray(start, s3);
  if (operation !== undefined && findOperationNameViolation(operation) !== undefined) return undefined;
  const decoded = decodeHexRange(line, s3 + 1, end, limits.maxInputBytes);
  if (!decoded.ok) return undefined;
  return { operation: operation === undefined ? lastOperation : operationText(operation), input: decoded.bytes };
}

/** Every line, checked in README § Request decoding order: the first failure is thrown. */
export function decodeAnyLine(line: Uint8Array, limits: Limits): RequestFrame {
  // The fields as offsets into the line (no view per field: this runs once per request); same checks, same order
  // as splitting on every space would give.
  const end = lineEnd(line);
  if (end === 0) throw NetbatError.malformedRequest('empty line');
  let s1 = -1;
  let s2 = -1;
  let s3 = -1;
  let fields = 1;
  for (let i = 0; i < end && fields <= 4; i++) {
    if (line[i] !== SPACE) continue;
    if (fields === 1) s1 = i;
    else if (fields === 2) s2 = i;
    else if (fields === 3) s3 = i;
    fields++;
  }
  const versionEnd = s1 < 0 ? end : s1;
  if (!startsWithAsciiAt(line, 0, versionEnd, PROTOCOL_PREFIX)) throw NetbatError.malformedRequest('missing NETBAT/1 protocol prefix');
  if (!equalsAsciiAt(line, 0, versionEnd, LINE_PROTOCOL_VERSION)) {
    throw NetbatError.unsupportedProtocolVersion(utf8Lossy(line.subarray(0, versionEnd)));
  }
  if (fields < 2) throw NetbatError.malformedRequest('missing verb');
  if (fields < 3) throw NetbatError.malformedRequest('missing operation');
  if (fields < 4) throw NetbatError.malformedRequest('missing input');
  if (fields > 4) throw NetbatError.malformedRequest('too many fields');
  if (!equalsAsciiAt(line, s1 + 1, s2, CALL_VERB)) throw NetbatError.malformedRequest('unsupported verb');

  // The name of the last request decoded passed every check but the configured bound: a client calling it again costs
  // neither a view of the name nor the grammar scan.
  const repeated = s3 - s2 - 1 <= limits.maxOperationNameBytes && isLastOperation(line, s2 + 1, s3);
  const operation = repeated ? undefined : line.subarray(s2 + 1, s3);
  if (operation !== undefined) checkOperation(operation, limits);

  const decoded = decodeHexRange(line, s3 + 1, end, limits.maxInputBytes);
  if (!decoded.ok) {
    if (decoded.failure === 'too_large') throw NetbatError.inputTooLarge(limits.maxInputBytes);
    throw NetbatError.malformedRequest(hexFailureReason(decoded.failure));
  }
  return { operation: operation === undefined ? lastOperation : operationText(operation), input: decoded.bytes };
}

const SPACE = 0x20;

/** Where the line's body ends: before one trailing `\n`, then one trailing `\r` (as stripLineEnding). */
function lineEnd(line: Uint8Array): number {
  let end = line.length;
  if (end > 0 && line[end - 1] === 0x0a) end--;
  if (end > 0 && line[end - 1] === 0x0d) end--;
  return end;
}

/** Whether `line[from, to)` starts with `ascii`. */
function startsWithAsciiAt(line: Uint8Array, from: number, to: number, ascii: string): boolean {
  if (to - from < ascii.length) return false;
  for (let i = 0; i < ascii.length; i++) if (line[from + i] !== ascii.charCodeAt(i)) return false;
  return true;
}

/** Whether `line[from, to)` is exactly `ascii`. */
function equalsAsciiAt(line: Uint8Array, from: number, to: number, ascii: string): boolean {
  return to - from === ascii.length && startsWithAsciiAt(line, from, to, ascii);
}

/** The last operation name decoded: a client calls the same few operations over and over. */
let lastOperation = '';

/** Whether `line[from, to)` is the last operation decoded (never the empty name: that one is refused). */
function isLastOperation(line: Uint8Array, from: number, to: number): boolean {
  const n = to - from;
  if (n === 0 || n !== lastOperation.length) return false;
  for (let i = 0; i < n; i++) if (line[from + i] !== lastOperation.charCodeAt(i)) return false;
  return true;
}

/** The text of a checked operation name (the grammar admits ASCII only, so each byte is one character). */
function operationText(bytes: Uint8Array): string {
  return (lastOperation = String.fromCharCode.apply(null, bytes as unknown as number[]));
}

function checkOperation(operation: Uint8Array, limits: Limits): void {
  // The transport bound applies before the grammar so a configured smaller bound keeps its own code.
  if (operation.length > limits.maxOperationNameBytes) {
    throw NetbatError.operationNameTooLong(limits.maxOperationNameBytes);
  }
  const violation = findOperationNameViolation(operation);
  if (violation === undefined) return;
  switch (violation.kind) {
    case 'empty':
      throw NetbatError.malformedRequest('empty operation');
    case 'too_long':
      throw NetbatError.operationNameTooLong(violation.max);
    case 'illegal_character':
      throw NetbatError.malformedRequest('operation has invalid bytes');
    case 'leading_or_trailing_dot':
    case 'consecutive_dots':
      throw NetbatError.malformedRequest('operation dot segments must be non-empty');
  }
}

/**
 * Decodes one response line (client side). A line that is neither a well-formed `OK` nor `ERR`
 * frame is an `io` error: the peer is not speaking NETBAT/1.
 */
export function decodeResponseLine(line: Uint8Array): ResponseFrame {
  const fields = splitFields(stripLineEnding(line));
  const head = fields[0]!;
  if (bytesEqualAscii(head, 'OK') && fields.length === 2) {
    const out = decodeHex(fields[1]!);
    if (out.ok) return { ok: true, output: out.bytes };
  } else if (bytesEqualAscii(head, 'ERR') && fields.length === 3) {
    const code = utf8Lossy(fields[1]!);
    const message = decodeHex(fields[2]!);
    // An unknown token (a newer server) surfaces as `runtime` so callers can still switch on `code`.
    if (message.ok) return { ok: false, code: isWireErrorCode(code) ? code : 'runtime', message: utf8Lossy(message.bytes) };
  }
  throw NetbatError.io('malformed response line');
}
