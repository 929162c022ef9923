// Crypto-shred and the store's own system events: shredScope destroys a scope's key and records it;
// declareSigningPolicy records, signed, whether unsigned appends may follow. Both append through the pipeline.
// Invariant: the key is destroyed and the keyset flushed before the shred event is appended, and events of
// the scope stored in plaintext (which no shred erases) are counted in the result, never hidden.

import { blake3 } from '../crypto/blake3.js';
import { bytesEqual, toHex } from '../encoding/hex.js';
import { BatpakError } from '../errors.js';
import type { IndexEntry } from '../event-index/entry.js';
import { entityPages, type EventIndex } from '../event-index/event-index.js';
import { eventIdToString, newEventId } from '../id.js';
import { isReservedKind, SystemKinds } from '../kind.js';
import type { Keyset } from '../keyset/keyset.js';
import type { KeyStore } from '../keyset/keystore.js';
import { scopeOf, scopeOfSelector, type ShredResult, type ShredSelector } from '../keyset/scope.js';
import { encodePayload } from '../payload.js';
import { policyPayload, SIGNING_POLICY_COORDINATE, type SigningPolicyDeclaration } from '../receipt/policy.js';
import type { ReceiptSigner } from '../receipt/sign.js';
import { EventFlags } from '../segment/frame.js';
import type { AppendReceipt } from '../types.js';
import type { EventDraft } from './append-intent.js';
import type { KeyGranularity } from './options.js';

/** Where shred receipts go: the store's own system stream. */
const SHRED_COORDINATE = { entity: 'batpak:store', scope: 'batpak:shred' } as const;

export interface SystemEventParts {
  readonly index: EventIndex;
  readonly keyset: Keyset | undefined;
  readonly keyStore: KeyStore | undefined;
  readonly signer: ReceiptSigner | undefined;
  readonly now: () => number;
  /** Queues a draft as it is (never sealed) and resolves with its receipt once committed. */
  readonly submit: (draft: EventDraft) => Promise<AppendReceipt>;
}

/**
 * Destroys the key of the selected scope and flushes the keyset durably, then appends a system event
 * recording which scope was shredded (never the key). See Store.shredScope for the result's statuses.
 * `beforeFlush` runs after the in-memory destroy and before the flush makes it durable.
 */
export async function shredScope(p: SystemEventParts, selector: ShredSelector, beforeFlush?: () => Promise<void>): Promise<ShredResult> {
  const keyset = p.keyset;
  if (keyset === undefined) {
    throw new BatpakError('ERR_ENCRYPTION_NOT_CONFIGURED', 'shredScope needs a store opened with payloadEncryption');
  }
  const scope = scopeOfSelector(keyset.granularity, selector);
  // Destroy first, synchronously: an append sealed after this point gets a new key generation.
  const destroyed = keyset.destroy(scope);
  // What derives from the scope's plaintext (projection snapshots) goes before the destroy is durable.
  await beforeFlush?.();
  await keyset.flush(p.keyStore!, { force: true });
  // Entity scopes need only that entity's events; the other granularities look at all of them.
  const candidates = keyset.granularity === 'entity' ? entityPages(p.index, new TextDecoder().decode(scope.subarray(1))) : p.index.scan(1);
  let plaintextEvents = 0;
  for await (const page of candidates) plaintextEvents += plaintextEventsInScope(page, keyset.granularity, scope);
  const base = { granularity: keyset.granularity, scope: toHex(scope), destroyed, plaintextEvents };
  if (destroyed === 0) return { ...base, status: keyset.everKeyed(scope) ? 'already-shredded' : 'never-keyed' };
  const now = p.now();
  const receipt = await p.submit(systemDraft(SHRED_COORDINATE, SystemKinds.SHRED, { granularity: keyset.granularity, scope: toHex(scope), shreddedAt: now }, p.now()));
  return { ...base, status: 'destroyed', receipt };
}

/** Records, signed with this store's key, whether unsigned appends may follow. */
export function declareSigningPolicy(p: SystemEventParts, policy: SigningPolicyDeclaration): Promise<AppendReceipt> {
  const v = (policy as { unsignedAppends?: unknown } | null)?.unsignedAppends;
  if (v !== 'allowed' && v !== 'refused') {
    throw BatpakError.invalidArgument("unsignedAppends must be 'allowed' or 'refused'", { field: 'unsignedAppends' });
  }
  if (p.signer === undefined) throw new BatpakError('ERR_SIGNING_KEY_REQUIRED', 'only the key holder can declare a signing policy: open the store with its signingKey (or signer)');
  const payload = policyPayload({ unsignedAppends: v }, p.now());
  return p.submit(systemDraft(SIGNING_POLICY_COORDINATE, SystemKinds.SIGNING_POLICY, payload, p.now()));
}

/** A draft of one of the store's own system events: plaintext, never shreddable, payload version 1. */
export function systemDraft(coord: { readonly entity: string; readonly scope: string }, kind: number, value: unknown, now: number): EventDraft {
  const id = newEventId(now);
  const payload = encodePayload(value);
  return {
    entity: coord.entity,
    scope: coord.scope,
    kind,
    id,
    eventId: eventIdToString(id),
    payload,
    contentHash: blake3(payload),
    payloadVersion: 1,
    flags: 0,
    keyed: false,
  };
}

/** Committed user events whose scope is `scope` and whose payload is not sealed (tombstones hold none). */
export function plaintextEventsInScope(events: readonly IndexEntry[], granularity: KeyGranularity, scope: Uint8Array): number {
  let n = 0;
  for (const e of events) {
    if (e.encryption !== undefined || isReservedKind(e.kind) || (e.flags & EventFlags.TOMBSTONE) !== 0) continue;
    if (bytesEqual(scopeOf(granularity, e.entity, e.kind, e.idBytes), scope)) n++;
  }
  return n;
}
