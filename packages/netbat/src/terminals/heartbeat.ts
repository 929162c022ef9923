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
      const { nonce } = decodeRequest(heartbeatRequestCodec, input);
      return heartbeatAckCodec.encode({ nonce, serverTsMs: BigInt(Math.max(0, Math.floor(now()))) });
    },
  });
}
