// A typed view of a netbat client for the terminal operations: encode the request, call, decode the ack.
// Invariant: a server error keeps its ERR code (NetbatError); an ack that does not decode is an `io` error, never a half-read value.

import { NetbatError } from '../errors.js';
import type { NetbatClient } from '../client.js';
import { TERMINAL_CODECS, type TerminalAck, type TerminalRequest } from './codecs.js';
import type { TerminalOperation } from './names.js';

export interface TerminalClient {
  call<Op extends TerminalOperation>(operation: Op, request: TerminalRequest<Op>): Promise<TerminalAck<Op>>;
}

export function terminalClient(client: Pick<NetbatClient, 'call'>): TerminalClient {
  return {
    async call<Op extends TerminalOperation>(operation: Op, request: TerminalRequest<Op>): Promise<TerminalAck<Op>> {
      const codec = TERMINAL_CODECS[operation];
      const output = await client.call(operation, codec.request.encode(request));
      try {
        return codec.ack.decode(output);
      } catch (err) {
        throw NetbatError.io(`malformed ${operation} ack: ${err instanceof Error ? err.message : String(err)}`, err);
      }
    },
  };
}
