// Step 2 of a commit group, seal: marks the group's events SEALED, builds the Merkle tree of their receipt
// covers and header leaves (the header digest) and signs its root once, in one signature for the group.
// Invariant: a signer failure fails the group closed (nothing written) unless downgrade is allowed.

import { BatpakError } from '../errors.js';
import type { CoverParts } from '../receipt/cover.js';
import { groupHasher } from '../receipt/group-hash.js';
import type { HeaderFields } from '../receipt/headers.js';
import { signTree, type ReceiptSigner, type SignedGroup } from '../receipt/sign.js';
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
    // Laid out in one pass, hashed four at a time when the group is complete (receipt/group-hash.ts).
    const h = groupHasher();
    h.begin(events.length);
    for (let i = 0; i < events.length; i++) {
      const ev = events[i]!;
      h.cover(i, coverPartsOf(ev));
      h.header(i, headerFieldsOf(ev));
    }
    const { tree, headerDigest, signedRoot } = h.finish();
    return signTree(policy.signer, tree, headerDigest, signedRoot);
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

/** The fields of an event's receipt cover, what its signature commits to (FORMAT.md § Receipts). */
function coverPartsOf(ev: SequencedEvent): CoverParts {
  const d = ev.draft;
  return {
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
  };
}

/** The header fields of an event as its frame will record them (flags already carry SEALED). */
function headerFieldsOf(ev: SequencedEvent): HeaderFields {
  const d = ev.draft;
  return { id: d.id, globalSequence: ev.globalSequence, flags: ev.flags, payloadVersion: d.payloadVersion, batch: ev.batch, encryption: d.encryption };
}
