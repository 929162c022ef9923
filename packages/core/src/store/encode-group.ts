// Step 3 of a commit group, encode frames: one event frame per sequenced event, in log order, then the
// seal frame when the group was signed (FORMAT.md § Event frame body, § Seal frame body).
// Invariant: the frames are exactly the bytes the index entries of step 6 point at, in the same order.

import type { SignedGroup } from '../receipt/sign.js';
import { encodeEventFrame, encodeSealFrame } from '../segment/frame.js';
import type { SequencedEvent } from './append-intent.js';

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
  const d = ev.draft;
  // Built field by field (one object per event, not a header object spread into another).
  const frame = {
    type: 0 as const,
    id: d.id,
    globalSequence: ev.globalSequence,
    entitySequence: ev.entitySequence,
    kind: d.kind,
    entity: d.entity,
    scope: d.scope,
    committedAt: ev.committedAt,
    prevHash: ev.prevHash,
    contentHash: d.contentHash,
    payloadVersion: d.payloadVersion,
    flags: ev.flags,
    batch: ev.batch,
    encryption: d.encryption,
    extensions: ev.extensions,
    payload: d.payload,
  };
  return encodeEventFrame(frame, utf8Of(d.entity), utf8Of(d.scope));
}

/**
 * UTF-8 of entity and scope strings, kept: appends repeat the same few, and encoding them was the
 * largest single cost of frame encoding. Bounded (emptied when full); the bytes are only ever read.
 */
const utf8Cache = new Map<string, Uint8Array<ArrayBuffer>>();
const UTF8_CACHE_MAX = 4096;
const utf8 = new TextEncoder();

function utf8Of(text: string): Uint8Array<ArrayBuffer> {
  let bytes = utf8Cache.get(text);
  if (bytes === undefined) {
    bytes = utf8.encode(text);
    if (utf8Cache.size >= UTF8_CACHE_MAX) utf8Cache.clear();
    utf8Cache.set(text, bytes);
  }
  return bytes;
}
