// Step 2 of a commit group, seal: marks the group's events SEALED, builds the Merkle tree of their receipt
// covers and header leaves (the header digest) and signs its root once, in one signature for the group.
// Invariant: a signer failure fails the group closed (nothing written) unless downgrade is allowed.

import { BatpakError } from '../errors.js';
import { coverLeafOf } from '../receipt/cover.js';
import { headerDigestOfBody, headerLeafInto } from '../receipt/headers.js';
import { merkleTree } from '../receipt/merkle.js';
import { signTree, type ReceiptSigner, type SignedGroup } from '../receipt/sign.js';
import { Scratch } from '../encoding/scratch.js';
import { EventFlags } from '../segment/frame.js';
import type { SequencedEvent } from './append-intent.js';
import type { WarningSink } from './warnings.js';

/** The extension a downgraded (unsigned) event carries, saying why it was not signed. */
const DOWNGRADE_EXTENSION = 'batpak.signing.downgrade';

export interface SealPolicy {
  readonly signer: ReceiptSigner | undefined;
  readonly signingDowngradeAllowed: boolean;
  readonly onWarning: WarningSink;
}

/**
 * Seals a group's events: the signed group, undefined when there is nothing to sign (no signer, no
 * events, or a downgrade), or the error that refuses the group. A downgrade writes the events unsigned
 * with a `batpak.signing.downgrade` extension saying why.
 */
export function sealGroup(policy: SealPolicy, events: readonly SequencedEvent[]): SignedGroup | BatpakError | undefined {
  if (policy.signer === undefined || events.length === 0) return undefined;
  for (const ev of events) ev.flags |= EventFlags.SEALED;
  try {
    // One pass: each event's cover leaf and header leaf, hashed as laid out (no cover or leaf array kept).
    const leaves = new Array<Uint8Array>(events.length);
    const headers = digestBody(events.length);
    for (let i = 0; i < events.length; i++) {
      const ev = events[i]!;
      leaves[i] = coverLeafOfEvent(ev);
      headerLeafOfEvent(ev, headers, 4 + 32 * i);
    }
    return signTree(policy.signer, merkleTree(leaves), headerDigestOfBody(headers));
  } catch (err) {
    const failure = err instanceof BatpakError ? err : new BatpakError('ERR_SIGNING_FAILED', String(err), { cause: err });
    if (!policy.signingDowngradeAllowed) return failure;
    const note = new TextEncoder().encode(failure.message);
    for (const ev of events) {
      ev.flags &= ~EventFlags.SEALED;
      ev.extensions = new Map([...(ev.extensions ?? new Map<string, Uint8Array>()), [DOWNGRADE_EXTENSION, note]]);
    }
    policy.onWarning(`signing downgraded for ${events.length} event(s): ${failure.message}`, 'BATPAK_SIGNING_DOWNGRADE');
    return undefined;
  }
}

// A group's header digest body (headerDigestBody's layout), reused: filled and hashed at once, once per signed group.
const body = new Scratch(4 + 32 * 64);

/** headerDigestBody(count) in the reused buffer: valid until the next group; every leaf byte is written by the caller. */
function digestBody(count: number): Uint8Array {
  body.fit(4 + 32 * count);
  body.view.setUint32(0, count);
  return body.bytes.subarray(0, 4 + 32 * count);
}

/** The Merkle leaf of an event's receipt cover, what its signature commits to (FORMAT.md § Receipts). */
function coverLeafOfEvent(ev: SequencedEvent): Uint8Array {
  const d = ev.draft;
  return coverLeafOf({
    idBytes: d.id,
    globalSequence: ev.globalSequence,
    entitySequence: ev.entitySequence,
    kind: d.kind,
    committedAt: ev.committedAt,
    entity: d.entity,
    scope: d.scope,
    prevHash: ev.prevHash,
    contentHash: d.contentHash,
    extensions: ev.extensions,
  });
}

/** The header leaf of an event as its frame will record it (flags already carry SEALED), into `out` at `at`. */
function headerLeafOfEvent(ev: SequencedEvent, out: Uint8Array, at: number): void {
  const d = ev.draft;
  headerLeafInto({ id: d.id, globalSequence: ev.globalSequence, flags: ev.flags, payloadVersion: d.payloadVersion, batch: ev.batch, encryption: d.encryption }, out, at);
}
