// Step 3 of a commit group, encode frames: one event frame per sequenced event, in log order, then the
// seal frame when the group was signed (FORMAT.md § Event frame body, § Seal frame body).
// Invariant: the frames are exactly the bytes the index entries of step 6 point at, in the same order.

import type { SignedGroup } from '../receipt/sign.js';
import { encodeEventFrame, encodeSealFrame } from '../segment/frame.js';
import { frameHeaderOf, type SequencedEvent } from './append-intent.js';

export interface EncodedGroup {
  /** Every frame to write, in order: the event frames, then the seal frame (if signed). */
  readonly frames: readonly Uint8Array[];
  /** The event frames alone, one per event (for the index entries' offsets and lengths). */
  readonly eventFrames: readonly Uint8Array[];
}

export function encodeGroup(events: readonly SequencedEvent[], signed: SignedGroup | undefined): EncodedGroup {
  const eventFrames = events.map(encodeEvent);
  if (signed === undefined || events.length === 0) return { frames: eventFrames, eventFrames };
  const seal = encodeSealFrame({
    type: 1,
    firstSequence: events[0]!.globalSequence,
    lastSequence: events[events.length - 1]!.globalSequence,
    count: events.length,
    keyId: signed.keyId,
    root: signed.tree.root,
    headerDigest: signed.headerDigest,
    signature: signed.signature,
  });
  return { frames: [...eventFrames, seal], eventFrames };
}

function encodeEvent(ev: SequencedEvent): Uint8Array {
  return encodeEventFrame({ type: 0, id: ev.draft.id, ...frameHeaderOf(ev), payload: ev.draft.payload });
}
