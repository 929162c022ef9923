// Payload codec for typed events: msgpack via msgpackr, decoded with 64-bit integers as bigint.
// The encoded bytes are what the store hashes and keeps; they are never re-encoded afterwards.

import { Packr } from 'msgpackr';
import { BatpakError } from './errors.js';

const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'bigint', moreTypes: false });

export function encodePayload(value: unknown): Uint8Array {
  try {
    const buf = packr.pack(value);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (err) {
    throw BatpakError.invalidPayload(`payload cannot be encoded as msgpack: ${(err as Error).message}`, undefined, err);
  }
}

export function decodePayload(bytes: Uint8Array, eventId: string): unknown {
  try {
    return packr.unpack(bytes);
  } catch (err) {
    throw BatpakError.invalidPayload(`payload of event ${eventId} is not valid msgpack`, { eventId }, err);
  }
}
