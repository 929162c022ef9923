// Step 3 of a commit group, encode frames: one event frame per sequenced event, in log order, then the
// seal frame when the group was signed (FORMAT.md § Event frame body, § Seal frame body).
// Invariant: the frames are exactly the bytes the index entries of step 6 point at, in the same order.

import type { SignedGroup } from '../receipt/sign.js';
import { encodeEventFrame, encodeSealFrame, type EventFrame } from '../segment/frame.js';
import { setHeaderFields, type SequencedEvent } from './append-intent.js';

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

// A class (not a literal) so setHeaderFields can fill it; the interface gives it the frame's field types.
interface SequencedFrame extends EventFrame {}
/** An event's frame before encoding: its header fields from setHeaderFields, like its index entry's. */
class SequencedFrame {
  constructor(ev: SequencedEvent) {
    const self = this as { -readonly [K in keyof EventFrame]: EventFrame[K] };
    self.type = 0;
    self.id = ev.draft.id;
    setHeaderFields(self, ev);
    self.payload = ev.draft.payload;
  }
}

function encodeEvent(ev: SequencedEvent): Uint8Array {
  return encodeEventFrame(new SequencedFrame(ev), utf8Of(ev.draft.entity), utf8Of(ev.draft.scope));
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
