// The wire form of one exported event: subject, msgID, headers (the portable receipt and prevHash) and
// the data — format 2: the event's frame exactly as stored (a replica appends it), format 1: the payload
// bytes. Invariant: decode(encode(e)) gives back the receipt and bytes exactly, and a format-2 frame is
// checked against the receipt it travels with.

import { decodeFrameBody, EventFlags, FRAME_HEADER_BYTES, isValidFrameAt, type EventFrame } from '@batpak/core/format';
import { attestationFromJSON, attestationToJSON, isBatpakError, receiptFromJSON, receiptToJSON, toHex, type AppendReceipt, type HeadAttestation, type RawEvent, type ReplicationFrames } from '@batpak/core';
import { isNatsbatError, NatsbatError, reasonOf } from './errors.js';
import { entityToken, subjectFor } from './subject.js';

/** Header names natsbat writes (NATS's own `Nats-Msg-Id` carries the msgID). */
export const HEADERS = {
  /** Version of this mapping; a consumer refuses one it does not know. */
  format: 'Batpak-Format',
  /** The receipt's portable JSON form (receiptToJSON), ASCII-only: every receipt field, signature included. */
  receipt: 'Batpak-Receipt',
  /** Lowercase hex of the entity's previous content hash (the receipt's prevHash), for link checks without JSON. */
  prevHash: 'Batpak-Prev-Hash',
  /** The payload version the bytes were written at (0 = raw / app-managed). */
  payloadVersion: 'Batpak-Payload-Version',
  /** Comma-separated subset of `raw`, `encrypted`, `tombstone`; absent when none applies. */
  payloadFlags: 'Batpak-Payload-Flags',
  /**
   * On some events only: the store's signed head attestation (attestationToJSON) covering exactly the
   * events up to and including this one, so a remote verifier proves the export extends it.
   */
  attestation: 'Batpak-Attestation',
  /**
   * Format 2, on the last event of a signed commit group only: base64 of the group's seal frame as stored,
   * so a replica can verify and append the whole group.
   */
  seal: 'Batpak-Seal',
  msgId: 'Nats-Msg-Id',
} as const;

/** The format the exporter writes: 2 (the data is the stored frame). */
export const WIRE_FORMAT = '2';
/** Every format a consumer reads: 1 (the data is the payload; older exports) and 2. */
export const READABLE_WIRE_FORMATS: readonly string[] = ['1', '2'];

/**
 * msgID = eventId "-" contentHash (hex). The content hash alone is not unique: two events with equal
 * payloads share it, and JetStream would drop the second as a duplicate. The event id is unique per
 * event; keeping the content hash in the id means a re-publish is only deduplicated when the stream
 * already holds this event *with these bytes* — different bytes under one id are never absorbed silently.
 */
export function msgIdOf(eventId: string, contentHash: Uint8Array): string {
  return `${eventId}-${toHex(contentHash)}`;
}

/** One event ready to publish. */
export interface OutgoingMessage {
  readonly subject: string;
  readonly msgId: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly payload: Uint8Array;
  readonly eventId: string;
  readonly globalSequence: bigint;
}

/** JSON with every non-ASCII character escaped, so a header value is plain ASCII on every client. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function flagsOf(h: RawEvent['header']): string {
  return [h.raw ? 'raw' : '', h.encrypted ? 'encrypted' : '', h.tombstone ? 'tombstone' : ''].filter((f) => f !== '').join(',');
}

/**
 * The message for a stored event and its receipt. With `frames` (store.replicationFrames) it is format 2,
 * the data the stored frame and the group's seal in a header; without, format 1, the data the stored
 * payload bytes. An `attestation` (its globalSequence must be this event's) rides along in a header.
 */
export function encodeEvent(base: string, event: RawEvent, receipt: AppendReceipt, attestation?: HeadAttestation, frames?: ReplicationFrames): OutgoingMessage {
  const msgId = msgIdOf(receipt.eventId, receipt.contentHash);
  const flags = flagsOf(event.header);
  const headers: [string, string][] = [
    [HEADERS.format, frames === undefined ? '1' : WIRE_FORMAT],
    [HEADERS.receipt, asciiJson(receiptToJSON(receipt))],
    [HEADERS.prevHash, toHex(receipt.prevHash)],
    [HEADERS.payloadVersion, String(event.header.payloadVersion)],
  ];
  if (flags !== '') headers.push([HEADERS.payloadFlags, flags]);
  if (attestation !== undefined) headers.push([HEADERS.attestation, JSON.stringify(attestationToJSON(attestation))]);
  if (frames?.seal !== undefined) headers.push([HEADERS.seal, Buffer.from(frames.seal).toString('base64')]);
  const data = frames === undefined ? event.bytes : frames.event;
  return { subject: subjectFor(base, event.coordinate.entity), msgId, headers, payload: data, eventId: receipt.eventId, globalSequence: receipt.globalSequence };
}

/** An exported event as read back from the stream. */
export interface ExportedEvent {
  readonly streamSequence: bigint;
  readonly subject: string;
  readonly msgId: string;
  readonly receipt: AppendReceipt;
  /** The stored payload bytes (ciphertext when encrypted; empty for a tombstone). */
  readonly payload: Uint8Array;
  readonly payloadVersion: number;
  readonly raw: boolean;
  readonly encrypted: boolean;
  readonly tombstone: boolean;
  /** The store's attestation of every event up to and including this one, when the exporter attached one. */
  readonly attestation?: HeadAttestation;
  /** Format 2: the event's frame exactly as the store wrote it (checked against the receipt). */
  readonly frame?: Uint8Array;
  /** Format 2, last event of a signed commit group: the group's seal frame as stored. */
  readonly seal?: Uint8Array;
}

/** What decoding needs from a JetStream message (a JsMsg or StoredMsg fits). */
export interface IncomingMessage {
  readonly seq: number;
  readonly subject: string;
  readonly headers?: { get(key: string): string; has(key: string): boolean } | undefined;
  readonly data: Uint8Array;
}

/** Decodes and cross-checks one message; ERR_MALFORMED_MESSAGE names what is wrong. */
export function decodeExportedMessage(m: IncomingMessage): ExportedEvent {
  const streamSequence = BigInt(m.seq);
  const bad = (why: string, cause?: unknown): never => {
    throw NatsbatError.MALFORMED_MESSAGE(`stream message ${m.seq}: ${why}`, { details: { streamSequence }, ...(cause === undefined ? {} : { cause }) });
  };
  const h = m.headers;
  const get = (k: string): string | undefined => (h !== undefined && h.has(k) ? h.get(k) : undefined);
  const format = get(HEADERS.format);
  if (format === undefined || !READABLE_WIRE_FORMATS.includes(format)) bad(`${HEADERS.format} is ${format ?? 'absent'}, expected one of ${READABLE_WIRE_FORMATS.join(', ')}`);
  let receipt: AppendReceipt;
  try {
    receipt = receiptFromJSON(get(HEADERS.receipt) ?? bad(`${HEADERS.receipt} is absent`));
  } catch (err) {
    if (isNatsbatError(err)) throw err;
    return bad(`${HEADERS.receipt} does not parse: ${isBatpakError(err) ? err.message : reasonOf(err)}`, err);
  }
  const msgId = get(HEADERS.msgId);
  if (msgId !== msgIdOf(receipt.eventId, receipt.contentHash)) bad(`${HEADERS.msgId} does not match the receipt's eventId and contentHash`);
  if (get(HEADERS.prevHash) !== toHex(receipt.prevHash)) bad(`${HEADERS.prevHash} does not match the receipt`);
  const version = get(HEADERS.payloadVersion) ?? '';
  if (!/^(0|[1-9][0-9]{0,4})$/.test(version)) bad(`${HEADERS.payloadVersion} is not a small integer`);
  const flags = (get(HEADERS.payloadFlags) ?? '').split(',').filter((f) => f !== '');
  if (flags.some((f) => f !== 'raw' && f !== 'encrypted' && f !== 'tombstone')) bad(`${HEADERS.payloadFlags} has an unknown flag`);
  if (!m.subject.endsWith(`.${entityToken(receipt.coordinate.entity)}`)) bad(`subject ${m.subject} is not the subject of entity ${receipt.coordinate.entity}`);
  let attestation: HeadAttestation | undefined;
  const attText = get(HEADERS.attestation);
  if (attText !== undefined) {
    try {
      attestation = attestationFromJSON(attText);
    } catch (err) {
      return bad(`${HEADERS.attestation} does not parse: ${isBatpakError(err) ? err.message : reasonOf(err)}`, err);
    }
    if (attestation.globalSequence !== receipt.globalSequence) bad(`${HEADERS.attestation} covers up to ${attestation.globalSequence}, not this event's ${receipt.globalSequence}`);
  }
  // A plain Uint8Array view (clients hand out Buffers), so equality and serialization behave alike.
  const data = new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength);
  let frames: { frame: Uint8Array; seal?: Uint8Array; payload: Uint8Array } | undefined;
  if (format === '2') {
    const why = frameMismatch(data, receipt, Number(version), flags);
    if (why !== undefined) bad(`the frame ${why}`);
    const sealText = get(HEADERS.seal);
    let seal: Uint8Array | undefined;
    if (sealText !== undefined) {
      seal = new Uint8Array(Buffer.from(sealText, 'base64'));
      const s = wholeFrame(seal);
      if (s === undefined || s.type !== 1 || BigInt(s.lastSequence) !== receipt.globalSequence) bad(`${HEADERS.seal} is not the seal frame of a group ending at this event`);
    }
    frames = { frame: data, ...(seal === undefined ? {} : { seal }), payload: (wholeFrame(data) as EventFrame).payload };
  } else if (get(HEADERS.seal) !== undefined) bad(`${HEADERS.seal} in a format-1 message`);
  return {
    streamSequence,
    subject: m.subject,
    msgId: msgId!,
    receipt,
    payload: frames?.payload ?? data,
    payloadVersion: Number(version),
    raw: flags.includes('raw'),
    encrypted: flags.includes('encrypted'),
    tombstone: flags.includes('tombstone'),
    ...(attestation === undefined ? {} : { attestation }),
    ...(frames === undefined ? {} : { frame: frames.frame, ...(frames.seal === undefined ? {} : { seal: frames.seal }) }),
  };
}

/** One intact frame (CRC checked, nothing after it), decoded; undefined when it is not. */
function wholeFrame(bytes: Uint8Array) {
  if (bytes.length < FRAME_HEADER_BYTES || !isValidFrameAt(bytes, 0) || new DataView(bytes.buffer, bytes.byteOffset).getUint32(4) + FRAME_HEADER_BYTES !== bytes.length) return undefined;
  try {
    return decodeFrameBody(bytes.subarray(FRAME_HEADER_BYTES));
  } catch {
    return undefined;
  }
}

/** Why a format-2 frame does not match the receipt and headers it travels with (undefined: it does). */
function frameMismatch(data: Uint8Array, r: AppendReceipt, version: number, flags: readonly string[]): string | undefined {
  const f = wholeFrame(data);
  if (f === undefined || f.type !== 0) return 'is not one intact event frame';
  if (toHex(f.id) !== r.eventId || BigInt(f.globalSequence) !== r.globalSequence || BigInt(f.entitySequence) !== r.entitySequence) return 'names another event than the receipt';
  if (f.entity !== r.coordinate.entity || f.scope !== r.coordinate.scope || toHex(f.contentHash) !== toHex(r.contentHash) || toHex(f.prevHash) !== toHex(r.prevHash)) {
    return 'has another coordinate or hashes than the receipt';
  }
  // The kind as the frame stores it: category in the top 4 bits of a u16, type id in the low 12.
  if (f.kind !== (((r.kind.category & 0xf) << 12) | (r.kind.typeId & 0xfff)) || BigInt(f.committedAt) !== r.committedAt) return 'has another kind or commit time than the receipt';
  const frameFlags = [(f.flags & EventFlags.RAW) !== 0 ? 'raw' : '', f.encryption !== undefined ? 'encrypted' : '', (f.flags & EventFlags.TOMBSTONE) !== 0 ? 'tombstone' : ''].filter((x) => x !== '');
  if (f.payloadVersion !== version || frameFlags.join(',') !== flags.join(',')) return 'has another payload version or flags than the headers';
  return undefined;
}
