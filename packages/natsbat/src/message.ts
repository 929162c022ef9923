// The wire form of one exported event: subject, msgID, headers (the portable receipt and prevHash) and
// the stored payload bytes. Invariant: decode(encode(e)) gives back the receipt and bytes exactly.

import { attestationFromJSON, attestationToJSON, isBatpakError, receiptFromJSON, receiptToJSON, toHex, type AppendReceipt, type HeadAttestation, type RawEvent } from '@batpak/core';
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
  msgId: 'Nats-Msg-Id',
} as const;

export const WIRE_FORMAT = '1';

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
 * The message for a stored event and its receipt; the payload is the stored bytes as they are. An
 * `attestation` (its globalSequence must be this event's) rides along in a header.
 */
export function encodeEvent(base: string, event: RawEvent, receipt: AppendReceipt, attestation?: HeadAttestation): OutgoingMessage {
  const msgId = msgIdOf(receipt.eventId, receipt.contentHash);
  const flags = flagsOf(event.header);
  const headers: [string, string][] = [
    [HEADERS.format, WIRE_FORMAT],
    [HEADERS.receipt, asciiJson(receiptToJSON(receipt))],
    [HEADERS.prevHash, toHex(receipt.prevHash)],
    [HEADERS.payloadVersion, String(event.header.payloadVersion)],
  ];
  if (flags !== '') headers.push([HEADERS.payloadFlags, flags]);
  if (attestation !== undefined) headers.push([HEADERS.attestation, JSON.stringify(attestationToJSON(attestation))]);
  return { subject: subjectFor(base, event.coordinate.entity), msgId, headers, payload: event.bytes, eventId: receipt.eventId, globalSequence: receipt.globalSequence };
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
  if (get(HEADERS.format) !== WIRE_FORMAT) bad(`${HEADERS.format} is ${get(HEADERS.format) ?? 'absent'}, expected ${WIRE_FORMAT}`);
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
  return {
    streamSequence,
    subject: m.subject,
    msgId: msgId!,
    receipt,
    // A plain Uint8Array view (clients hand out Buffers), so equality and serialization behave alike.
    payload: new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength),
    payloadVersion: Number(version),
    raw: flags.includes('raw'),
    encrypted: flags.includes('encrypted'),
    tombstone: flags.includes('tombstone'),
    ...(attestation === undefined ? {} : { attestation }),
  };
}
