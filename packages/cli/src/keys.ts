// Key material from the command line: ed25519 public keys as hex, a signing seed from a file — checked for length, never echoed.
// Invariant: a key argument that is not exactly the right number of bytes is a usage error, never silently ignored.

import { readFile } from 'node:fs/promises';
import { CliError } from './exit.js';

function hexBytes(text: string, bytes: number, what: string): Uint8Array {
  const t = text.trim();
  if (!/^[0-9a-fA-F]*$/.test(t) || t.length !== bytes * 2) throw CliError.usage(`${what} must be ${bytes * 2} hex characters`);
  return new Uint8Array(Buffer.from(t, 'hex'));
}

/** `--public-key <hex>`: a 32-byte ed25519 public key. */
export function publicKeyOf(text: string): Uint8Array {
  return hexBytes(text, 32, '--public-key');
}

/** `--signing-key-file <file>`: the 32-byte ed25519 seed, as 64 hex characters (surrounding whitespace allowed). */
export async function signingKeyFromFile(path: string): Promise<Uint8Array> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CliError('ERR_IO', `cannot read signing key file ${path}: ${(err as Error).message}`, { cause: err });
  }
  return hexBytes(text, 32, `signing key file ${path}`);
}
