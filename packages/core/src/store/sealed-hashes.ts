// The content hashes of the payloads the pipeline sealed (keyset/seal.ts sealDraftUnhashed), computed when their
// commit group is prepared instead of one by one as each append is sealed: a group's ciphertexts mostly share one
// length, and BLAKE3 hashes four of one length in about the time of one (crypto/blake3x4-rows.ts).
// Invariant: run on a group's intents before sequencing, the first step that reads a content hash (a chain link); the
// bytes are blake3(ciphertext), exactly what hashing at seal time gave.

import { blake3Each } from '../crypto/blake3x4-rows.js';
import { CIPHERTEXT_UNHASHED } from '../keyset/seal.js';
import type { EventDraft, Intent } from './append-intent.js';

/** Sets the content hash of every draft of `intents` still CIPHERTEXT_UNHASHED; drafts hashed before are left. */
export function hashSealed(intents: readonly Intent[]): void {
  const inputs: Uint8Array[] = [];
  const outs: Uint8Array[] = [];
  const take = (d: EventDraft) => {
    if (d.contentHash !== CIPHERTEXT_UNHASHED) return;
    const hash = new Uint8Array(32);
    d.contentHash = hash;
    inputs.push(d.payload);
    outs.push(hash);
  };
  for (let i = 0; i < intents.length; i++) {
    const intent = intents[i]!;
    if (intent.type === 'single') take(intent.draft);
    else if (intent.type === 'batch') for (let j = 0; j < intent.drafts.length; j++) take(intent.drafts[j]!);
  }
  if (inputs.length > 0) blake3Each(inputs, outs);
}
