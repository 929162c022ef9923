// Idempotent replays: a repeated key is answered with the original receipt only when the request is the same one.
// Invariant (INV-IDEMPOTENCY-SAME-REQUEST): coordinate, kind, raw/typed, payload version, caller extensions and plaintext hash all match, else ERR_IDEMPOTENCY_CONFLICT.

import { blake3 } from '../crypto/blake3.js';
import { bytesEqual } from '../encoding/hex.js';
import { BatpakError } from '../errors.js';
import type { IndexEntry } from '../event-index/entry.js';
import { formatKind, kindFromRaw } from '../kind.js';
import { EventFlags } from '../segment/frame.js';
import type { AppendReceipt } from '../types.js';
import type { EventDraft } from './append-intent.js';

/** What a replay needs from the store besides the index entry. */
export interface ReplayAccess {
  /** The committed event's receipt exactly as append returned it. */
  readonly original: (entry: IndexEntry) => Promise<AppendReceipt>;
  /** The committed event's plaintext payload bytes (decrypted when sealed), or 'shredded'. */
  readonly plaintext: (entry: IndexEntry) => Promise<Uint8Array | 'shredded'>;
}

function conflict(draft: EventDraft, existing: IndexEntry, field: string, why: string): BatpakError {
  return new BatpakError(
    'ERR_IDEMPOTENCY_CONFLICT',
    `idempotency key of event ${existing.eventId} was already used for a different request: ${field} ${why}; nothing was written`,
    { details: { eventId: existing.eventId, field } },
  );
}

/** The caller's own extensions of a stored event: the store's `batpak.*` notes are not part of a request. */
function callerExtensions(ext: ReadonlyMap<string, Uint8Array> | undefined): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  if (ext !== undefined) for (const [k, v] of ext) if (!k.startsWith('batpak.')) out.set(k, v);
  return out;
}

function sameExtensions(a: ReadonlyMap<string, Uint8Array>, b: ReadonlyMap<string, Uint8Array>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (w === undefined || !bytesEqual(v, w)) return false;
  }
  return true;
}

/** The first field in which the repeated request differs from the committed event (payload aside). */
function differingField(draft: EventDraft, existing: IndexEntry): [field: string, why: string] | undefined {
  if (draft.entity !== existing.entity || draft.scope !== existing.scope) {
    return ['coordinate', `is ${JSON.stringify(`${draft.entity}@${draft.scope}`)}, the original is ${JSON.stringify(`${existing.entity}@${existing.scope}`)}`];
  }
  if (draft.kind !== existing.kind) return ['kind', `is ${formatKind(kindFromRaw(draft.kind))}, the original is ${formatKind(kindFromRaw(existing.kind))}`];
  if ((draft.flags & EventFlags.RAW) !== (existing.flags & EventFlags.RAW)) return ['payload', 'is raw in one request and typed in the other'];
  if (draft.payloadVersion !== existing.payloadVersion) return ['payloadVersion', `is ${draft.payloadVersion}, the original is ${existing.payloadVersion}`];
  if (!sameExtensions(callerExtensions(draft.extensions), callerExtensions(existing.extensions))) return ['extensions', 'differ from the original'];
  return undefined;
}

/**
 * The original receipt when `draft` repeats the committed request, else ERR_IDEMPOTENCY_CONFLICT. The payload is
 * compared as plaintext (blake3 of the bytes the caller appended): a sealed event's stored hash covers ciphertext
 * under a fresh nonce, so it would differ for the same plaintext. A shredded or tombstoned original cannot be
 * compared, so a repeat is refused rather than answered with a receipt nobody can check it against.
 */
export async function replayOrConflict(draft: EventDraft, existing: IndexEntry, access: ReplayAccess): Promise<AppendReceipt> {
  const differs = differingField(draft, existing);
  if (differs !== undefined) throw conflict(draft, existing, differs[0], differs[1]);
  const requested = draft.requestHash ?? blake3(draft.payload);
  if (existing.encryption === undefined) {
    if (!bytesEqual(requested, existing.contentHash)) throw conflict(draft, existing, 'payload', 'differs from the original');
  } else {
    if ((existing.flags & EventFlags.TOMBSTONE) !== 0) throw conflict(draft, existing, 'payload', 'cannot be compared: the original was tombstoned');
    const plain = await access.plaintext(existing);
    if (plain === 'shredded') throw conflict(draft, existing, 'payload', 'cannot be compared: the original was shredded');
    if (!bytesEqual(requested, blake3(plain))) throw conflict(draft, existing, 'payload', 'differs from the original');
  }
  return access.original(existing);
}
