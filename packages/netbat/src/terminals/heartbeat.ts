// `system.heartbeat`: echoes the caller's nonce with the server clock — proof of a live, request-bound round trip.
// Invariant: the ack's nonce is the request's, byte for byte; the operation declares and performs no effect (INV-NETBAT-TERMINALS).

import { defineOperation, type Operation } from '@batpak/syncbat';
import { decodeRequest } from './handler-support.js';
import { terminalRefs } from './names.js';
import { messageCodec, wstr, wuint } from './wire.js';

/** `system.heartbeat.request` — wire `{ nonce: String }`. */
export interface HeartbeatRequest {
  readonly nonce: string;
}

/** `system.heartbeat.ack` — wire `{ nonce: String, server_ts_ms: u64 }`. */
export interface HeartbeatAck {
  readonly nonce: string;
  /** Server clock when the ack was produced, Unix ms. */
  readonly serverTsMs: bigint;
}

export const heartbeatRequestCodec = messageCodec<HeartbeatRequest>({
  schemaRef: 'system.heartbeat.request',
  order: ['nonce'],
  fields: (v) => [['nonce', wstr(v.nonce)]],
  read: (r) => ({ nonce: r.str('nonce') }),
});

export const heartbeatAckCodec = messageCodec<HeartbeatAck>({
  schemaRef: 'system.heartbeat.ack',
  order: ['nonce', 'server_ts_ms'],
  fields: (v) => [
    ['nonce', wstr(v.nonce)],
    ['server_ts_ms', wuint(v.serverTsMs)],
  ],
  read: (r) => ({ nonce: r.str('nonce'), serverTsMs: r.u64('server_ts_ms') }),
});

/** Inspect class with an empty effect row, as Rust declares it: a heartbeat touches nothing. */
export function heartbeatOperation(now: () => number): Operation {
  return defineOperation({
    name: 'system.heartbeat',
    effectClass: 'inspect',
    ...terminalRefs('system.heartbeat'),
    handler: (input) => {
      const ms = Math.max(0, Math.floor(now()));
      const usual = Number.isSafeInteger(ms) ? usualAck(input, ms) : undefined;
      if (usual !== undefined) return usual;
      const { nonce } = decodeRequest(heartbeatRequestCodec, input);
      return heartbeatAckCodec.encode({ nonce, serverTsMs: BigInt(ms) });
    },
  });
}

/** `0x81 0xa5 "nonce"`: a one-field map whose key is the fixstr `nonce`, as every client encodes the request. */
const REQUEST_HEAD = [0x81, 0xa5, 0x6e, 0x6f, 0x6e, 0x63, 0x65];
/** `0xac "server_ts_ms"`: the ack's second key. */
const TS_KEY = [0xac, 0x73, 0x65, 0x72, 0x76, 0x65, 0x72, 0x5f, 0x74, 0x73, 0x5f, 0x6d, 0x73];

/**
 * The ack of a request in its usual form — `{ nonce }` with an ASCII nonce in its canonical string form — written
 * straight from the request's bytes: the nonce is echoed byte for byte, so its string is never built. Anything else
 * (array form, more fields, a non-ASCII or non-canonically sized nonce) returns undefined for the codecs, which give
 * the same bytes for the usual form (a property test holds the two together). `ms` is a non-negative safe integer.
 */
export function usualAck(input: Uint8Array, ms: number): Uint8Array | undefined {
  const n = input.length;
  if (n < 8) return undefined;
  for (let i = 0; i < 7; i++) if (input[i] !== REQUEST_HEAD[i]) return undefined;
  const tag = input[7]!;
  let start: number;
  if (tag >= 0xa0 && tag <= 0xbf) start = 8;
  else if (tag === 0xd9 && n > 8 && input[8]! >= 32) start = 9; // str8 is canonical only from 32 bytes on
  else return undefined;
  const length = start === 8 ? tag & 0x1f : input[8]!;
  if (start + length !== n) return undefined;
  for (let i = start; i < n; i++) if (input[i]! >= 0x80) return undefined;
  const width = ms < 0x80 ? 0 : ms <= 0xff ? 1 : ms <= 0xffff ? 2 : ms <= 0xffffffff ? 4 : 8;
  // 0x82, then the request's `nonce` key and string (input[1..n)), then `server_ts_ms` and the clock.
  const out = new Uint8Array(n + TS_KEY.length + 1 + width);
  out[0] = 0x82;
  // A loop, not set(subarray): a typed array view costs more than copying the few bytes of a nonce.
  for (let i = 1; i < n; i++) out[i] = input[i]!;
  let at = n;
  for (let i = 0; i < TS_KEY.length; i++) out[at++] = TS_KEY[i]!;
  if (width === 0) {
    out[at] = ms;
    return out;
  }
  out[at] = width === 1 ? 0xcc : width === 2 ? 0xcd : width === 4 ? 0xce : 0xcf;
  // Big-endian, byte by byte: `>>>` would cut a value above 2^32 to its low word.
  let rest = ms;
  for (let i = at + width; i > at; i--) {
    out[i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  return out;
}
