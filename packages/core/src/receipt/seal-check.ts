// Checks persisted group seals during verifyChain: recomputes each group's Merkle root from the frames on
// disk and verifies its signature, so rewriting any signed event (even an entity's last) is detected.

import { verify as ed25519Verify } from '../crypto/ed25519.js';
import { bytesEqual, toHex } from '../encoding/hex.js';
import type { DiskEvent, DiskSeal } from '../chain/verify.js';
import { EventFlags } from '../segment/frame.js';
import { coverLeaf, groupMessage, keyIdOf, receiptCover } from './cover.js';
import type { EventFrame } from '../segment/frame.js';
import { merkleTree } from './merkle.js';
import { coverFieldsOfFrame } from './sign.js';

export interface SealCheckOptions {
  /** Public keys whose seals are trusted (the current one and any rotated-out ones). */
  readonly keys: readonly Uint8Array[];
  /** signingPolicy 'required': an unsealed user event is a failure too. */
  readonly requireSealed: boolean;
  /** The recorded Merkle leaf of a sealed event that compaction removed, by global sequence. */
  readonly removedLeaf?: (globalSequence: number) => Uint8Array | undefined;
}

/** The Merkle leaf of a stored event's receipt cover (what its group's seal covers). */
export function leafOfFrame(frame: EventFrame): Uint8Array {
  return coverLeaf(receiptCover(coverFieldsOfFrame(frame)));
}

/** Ids of events whose seal is missing, from an unknown key, or does not verify. */
export function checkSeals(events: readonly DiskEvent[], seals: readonly DiskSeal[], options: SealCheckOptions): string[] {
  const bySequence = new Map<number, DiskEvent>();
  for (const e of events) bySequence.set(e.globalSequence, e);
  const keysById = new Map(options.keys.map((k) => [keyIdOf(k), k]));
  const failed = new Set<string>();
  const covered = new Set<string>();

  for (const seal of seals) {
    const s = seal.frame;
    const group: DiskEvent[] = [];
    const leaves: Uint8Array[] = [];
    let complete = s.lastSequence - s.firstSequence + 1 === s.count && s.count > 0;
    for (let g = s.firstSequence; complete && g <= s.lastSequence; g++) {
      const ev = bySequence.get(g);
      if (ev !== undefined && (ev.flags & EventFlags.SEALED) !== 0 && ev.leaf !== undefined) {
        group.push(ev);
        leaves.push(ev.leaf);
        continue;
      }
      // A member removed by compaction still counts through the leaf its record kept.
      const leaf = ev === undefined ? options.removedLeaf?.(g) : undefined;
      if (leaf === undefined) complete = false;
      else leaves.push(leaf);
    }
    for (const ev of group) covered.add(ev.eventId);
    const key = keysById.get(toHex(s.keyId));
    let ok = complete && key !== undefined;
    if (ok) {
      const root = merkleTree(leaves).root;
      ok = bytesEqual(root, s.root) && ed25519Verify(key!, groupMessage(root), s.signature);
    }
    if (!ok) for (const ev of group) failed.add(ev.eventId);
  }
  for (const ev of events) {
    const sealed = (ev.flags & EventFlags.SEALED) !== 0;
    if (sealed && !covered.has(ev.eventId)) failed.add(ev.eventId);
    if (!sealed && options.requireSealed && ev.kind >>> 12 !== 0) failed.add(ev.eventId);
  }
  return events.filter((e) => failed.has(e.eventId)).map((e) => e.eventId);
}
