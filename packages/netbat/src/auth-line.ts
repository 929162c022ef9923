// The AUTH line: a pre-shared token presented as the first line of a connection, in the NETBAT/1 four-field shape.
// Invariant: `NETBAT/1 AUTH token <hex>` is the only accepted form; it is recognised only when the server has `auth` configured.

import { decodeHex, encodeHex } from './hex.js';
import { NetbatError } from './errors.js';
import { bytesEqualAscii, joinLine, splitFields, startsWithAscii, stripLineEnding } from './line.js';

export const AUTH_VERB = 'AUTH';
/** The one credential scheme of an AUTH line. */
export const TOKEN_SCHEME = 'token';
const MAX_CREDENTIAL_BYTES = 1024;

/** `NETBAT/1 AUTH …`: a line the server answers as an authentication attempt, never as a CALL. */
export function isAuthLine(line: Uint8Array): boolean {
  const body = stripLineEnding(line);
  return startsWithAscii(body, 'NETBAT/1 AUTH') && (body.length === 13 || body[13] === 0x20);
}

/** `NETBAT/1 AUTH token <hex(token)>\n`. */
export function encodeAuthLine(token: string | Uint8Array): Uint8Array {
  const bytes = typeof token === 'string' ? new TextEncoder().encode(token) : token;
  return joinLine(['NETBAT/1', AUTH_VERB, TOKEN_SCHEME, encodeHex(bytes)]);
}

/** The presented credential bytes; an `unauthorized` NetbatError for any other shape. */
export function decodeAuthLine(line: Uint8Array): Uint8Array {
  const fields = splitFields(stripLineEnding(line));
  if (fields.length !== 4 || !bytesEqualAscii(fields[2]!, TOKEN_SCHEME)) {
    throw NetbatError.unauthorized('expected `NETBAT/1 AUTH token <hex>`');
  }
  const decoded = decodeHex(fields[3]!, MAX_CREDENTIAL_BYTES);
  if (!decoded.ok || decoded.bytes.length === 0) throw NetbatError.unauthorized('token is not 1..1024 bytes of hex');
  return decoded.bytes;
}
