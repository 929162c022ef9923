// Checks persisted group seals while verifyChain streams the log: recomputes each group's Merkle root
// from the frames on disk and verifies its signature, so rewriting any signed event (even an entity's
// last) is detected. Streaming: only the open group's leaves are held, never the whole log.

import { verify as ed25519Verify } from '../crypto/ed25519.js';
import { bytesEqual, toHex } from '../encoding/hex.js';
import { EventFlags, type EventFrame, type SealFrame } from '../segment/frame.js';
import { coverLeaf, groupMessage, keyIdOf, receiptCover } from './cover.js';
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
  return coverLeaf(receiptCover(coverFieldsOfFrame(frame), frame.id));
}

export class SealChecker {
  readonly #opts: SealCheckOptions;
  readonly #keysById: Map<string, Uint8Array>;
  /** Sealed events seen since the last seal, by global sequence. */
  #open = new Map<number, { eventId: string; leaf: Uint8Array }>();
  readonly #failed: string[] = [];

  constructor(options: SealCheckOptions) {
    this.#opts = options;
    this.#keysById = new Map(options.keys.map((k) => [keyIdOf(k), k]));
  }

  /** A committed event, in log order. */
  event(frame: EventFrame, eventId: string): void {
    const sealed = (frame.flags & EventFlags.SEALED) !== 0;
    if (sealed) this.#open.set(frame.globalSequence, { eventId, leaf: leafOfFrame(frame) });
    else if (this.#opts.requireSealed && frame.kind >>> 12 !== 0) this.#failed.push(eventId);
  }

  /** A seal frame: verifies the group it names from the leaves seen (and recorded removals). */
  seal(s: SealFrame): void {
    const members: string[] = [];
    const leaves: Uint8Array[] = [];
    let complete = s.lastSequence - s.firstSequence + 1 === s.count && s.count > 0;
    for (let g = s.firstSequence; complete && g <= s.lastSequence; g++) {
      const seen = this.#open.get(g);
      if (seen !== undefined) {
        members.push(seen.eventId);
        leaves.push(seen.leaf);
        this.#open.delete(g);
        continue;
      }
      const leaf = this.#opts.removedLeaf?.(g);
      if (leaf === undefined) complete = false;
      else leaves.push(leaf);
    }
    const key = this.#keysById.get(toHex(s.keyId));
    let ok = complete && key !== undefined;
    if (ok) {
      const root = merkleTree(leaves).root;
      ok = bytesEqual(root, s.root) && ed25519Verify(key!, groupMessage(root), s.signature);
    }
    if (!ok) this.#failed.push(...members);
  }

  /** Ids of events whose seal is missing, from an unknown key, or does not verify. */
  finish(): string[] {
    for (const { eventId } of this.#open.values()) this.#failed.push(eventId);
    this.#open.clear();
    return this.#failed;
  }
}
