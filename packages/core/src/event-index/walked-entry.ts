// An index entry a segment walk built from a frame it had just read and checked, carrying that frame's payload,
// for a reader that decodes each event of a commit-order scan once. Invariant: the payload is a copy, never a view
// of the walk's read window, and only an entry built from its own frame carries one (a lookup never adds one).

import { toHex } from '../encoding/hex.js';
import type { EventFrame } from '../segment/frame.js';
import type { IndexEntry } from './entry.js';

/** An entry with the payload of the frame it was built from. */
interface WalkedEntry extends IndexEntry {
  readonly walkedPayload: Uint8Array;
}

/** Bytes of one slab that small payloads are copied into (one allocation per slab, not per event). */
const SLAB_BYTES = 16 * 1024;
/** A payload larger than this gets a buffer of its own (a slab is never mostly one payload). */
const OWN_BUFFER_ABOVE = 2 * 1024;

/**
 * Copies payloads out of a read window into slabs: a kept payload pins its slab (16 KiB), never the window
 * (4 MiB), and a scan makes one allocation per slab rather than one per event.
 */
export class PayloadSlab {
  #slab = new Uint8Array(0);
  #at = 0;

  copy(payload: Uint8Array): Uint8Array {
    const n = payload.length;
    if (n > OWN_BUFFER_ABOVE) return payload.slice();
    if (this.#at + n > this.#slab.length) {
      this.#slab = new Uint8Array(SLAB_BYTES);
      this.#at = 0;
    }
    const out = this.#slab.subarray(this.#at, this.#at + n);
    out.set(payload);
    this.#at += n;
    return out;
  }
}

/**
 * The entry of event frame `f` at `offset` (`length` bytes) of segment `segmentId`, with its payload copied
 * through `slab`. The id and hashes are copies of their own (small arrays live on the JS heap, where a scavenge
 * frees them; one 80-byte buffer per entry would be an external allocation each).
 */
export function walkedEntry(f: EventFrame, segmentId: number, offset: number, length: number, slab: PayloadSlab): IndexEntry {
  const idBytes = f.id.slice();
  const entry: WalkedEntry = {
    eventId: toHex(idBytes),
    idBytes,
    globalSequence: f.globalSequence,
    entitySequence: f.entitySequence,
    kind: f.kind,
    entity: f.entity,
    scope: f.scope,
    committedAt: f.committedAt,
    prevHash: f.prevHash.slice(),
    contentHash: f.contentHash.slice(),
    payloadVersion: f.payloadVersion,
    flags: f.flags,
    batch: f.batch,
    encryption: f.encryption === undefined ? undefined : { scope: f.encryption.scope.slice(), nonce: f.encryption.nonce.slice(), generation: f.encryption.generation },
    extensions: f.extensions === undefined ? undefined : new Map([...f.extensions].map(([k, v]) => [k, v.slice()])),
    segmentId,
    offset,
    length,
    walkedPayload: slab.copy(f.payload),
  };
  return entry;
}

/** The payload `e` was built with by a segment walk, if it was (a reader then needs no read of its frame). */
export function walkedPayload(e: IndexEntry): Uint8Array | undefined {
  return (e as Partial<WalkedEntry>).walkedPayload;
}
