// Sealing and opening payloads: the one path every writer and reader of encrypted payloads uses
// (INV-KEY-AWARE-READS). Content hashes cover the ciphertext, so chain and receipts survive a shred.

import { blake3 } from '../crypto/blake3.js';
import { randomNonce24 } from '../crypto/random.js';
import { xchachaOpen, xchachaSealKept } from '../crypto/aead.js';
import { BatpakError } from '../errors.js';
import type { IndexEntry } from '../event-index/entry.js';
import { isReservedCategory } from '../kind.js';
import type { EncryptionRef } from '../segment/frame.js';
import { payloadAad } from './aad.js';
import type { Keyset } from './keyset.js';
import { scopeOf } from './scope.js';

/** The fields of an event being appended that sealing reads and replaces (the append draft has them all). */
export interface SealableDraft {
  readonly id: Uint8Array;
  readonly entity: string;
  readonly scope: string;
  readonly kind: number;
  payload: Uint8Array;
  contentHash: Uint8Array;
  encryption?: EncryptionRef;
}

/**
 * Seals a user draft in place under its scope's key (minting one if needed). System kinds stay plaintext.
 * The scope bytes, the AAD layout and the key come from the coordinate's cached context (seal-context.ts);
 * the cached key only while it is live, so a shred's destroy reaches the very next seal.
 */
export function sealDraft(keyset: Keyset, draft: SealableDraft): void {
  if (sealDraftUnhashed(keyset, draft)) draft.contentHash = blake3(draft.payload);
}

/**
 * The content hash of a draft sealed by sealDraftUnhashed, until its owner hashes the ciphertext. Empty, never a valid
 * hash: a frame written with it would fail to decode, not pass as a wrong hash.
 */
export const CIPHERTEXT_UNHASHED: Uint8Array = new Uint8Array(0);

/**
 * sealDraft without the ciphertext's hash: the content hash is left CIPHERTEXT_UNHASHED (true returned) for the caller
 * to set before anything reads it. The append pipeline hashes a commit group's sealed payloads together, four of one
 * length at a time (store/sealed-hashes.ts). False when the draft stays plaintext (a system kind), untouched.
 */
export function sealDraftUnhashed(keyset: Keyset, draft: SealableDraft): boolean {
  if (isReservedCategory(draft.kind >>> 12)) return false;
  const context = keyset.sealContexts.of(draft.entity, draft.scope, draft.kind);
  let scope = context.scope;
  let handle = context.key;
  if (scope === undefined) {
    // 'event' granularity: the event is its own scope, with a key of its own.
    scope = scopeOf(keyset.granularity, draft.entity, draft.kind, draft.id);
    handle = keyset.keyFor(scope);
  } else if (handle === undefined || !handle.live) {
    handle = context.key = keyset.keyFor(scope);
  }
  // The nonce is the pool's own view and the AAD the context's one buffer: both kept, so sealed without copies.
  const nonce = randomNonce24();
  const sealed = xchachaSealKept(handle.key, nonce, draft.payload, context.aadFor(draft.id));
  draft.payload = sealed;
  draft.contentHash = CIPHERTEXT_UNHASHED;
  draft.encryption = { scope, nonce, generation: handle.generation };
  return true;
}

/**
 * The plaintext of a stored payload, or 'shredded' when its key was destroyed. A sealed payload is
 * never returned as if it were plaintext: no keyset, a lost key or a failed tag are typed errors.
 */
export function openPayload(keyset: Keyset | undefined, entry: IndexEntry, stored: Uint8Array): Uint8Array | 'shredded' {
  const enc = entry.encryption;
  if (enc === undefined) return stored;
  if (keyset === undefined) {
    throw new BatpakError('ERR_ENCRYPTION_NOT_CONFIGURED', `event ${entry.eventId} is encrypted; open the store with payloadEncryption to read it`, {
      details: { eventId: entry.eventId },
    });
  }
  const found = keyset.lookup(enc.scope, enc.generation);
  if (found.state === 'destroyed') return 'shredded';
  if (found.state === 'missing') {
    throw new BatpakError(
      'ERR_KEYSET_MISSING',
      `the key for event ${entry.eventId} is not in the keyset${keyset.absentOnLoad ? ' (the keyset file was absent at open)' : ''}`,
      { details: { eventId: entry.eventId } },
    );
  }
  try {
    return xchachaOpen(found.key, enc.nonce, stored, payloadAad(entry.entity, entry.scope, entry.kind, entry.idBytes));
  } catch (err) {
    throw new BatpakError('ERR_PAYLOAD_DECRYPT_FAILED', `payload of event ${entry.eventId} failed authentication`, {
      cause: err,
      details: { eventId: entry.eventId },
    });
  }
}
