// Checks persisted group seals while verifyChain streams the log: recomputes each group's cover root and
// header digest from the frames on disk and verifies the one signature over both (INV-SEAL-HEADERS), and
// fails every event without a valid signature in a store that signs (INV-SIGNED-STORE-UNSIGNED-EVENT).

import { verify as ed25519Verify } from '../crypto/ed25519.js';
import { bytesEqual, toHex } from '../encoding/hex.js';
import { EventFlags, type EventFrame, type SealFrame } from '../segment/frame.js';
import { coverLeaf, groupMessage, receiptCover } from './cover.js';
import { keyIdOf } from './cover.js';
import { headerDigest, headerLeaf, signedRoot } from './headers.js';
import { merkleTree } from './merkle.js';
import { policyOfFrame, type UnsignedAppends } from './policy.js';
import { coverFieldsOfFrame } from './sign.js';

export interface SealCheckOptions {
  /** Public keys whose seals are trusted (the current one and any rotated-out ones). */
  readonly keys: readonly Uint8Array[];
  /**
   * The store holds signed events, or the verifier has keys: an event without a valid signature is a
   * failure, unless a verified signing-policy declaration before it allowed unsigned appends. A sealed
   * frame met on disk turns the rule on too, whatever the index said.
   */
  readonly requireSigned: boolean;
  /** The recorded Merkle leaf of a sealed event that compaction removed, by global sequence. */
  readonly removedLeaf?: (globalSequence: number) => Uint8Array | undefined;
  /** The recorded header leaf of a sealed event that compaction removed, by global sequence. */
  readonly removedHeaderLeaf?: (globalSequence: number) => Uint8Array | undefined;
}

export interface SealCheckResult {
  /** Events without a valid signature (see SealCheckOptions.requireSigned). */
  readonly failures: string[];
  /** Events whose group signature was checked against a trusted key (valid or not). */
  readonly signaturesChecked: number;
  /** Hex key ids of the trusted keys those checks used. */
  readonly keyIds: string[];
  /** Events in verified groups whose format-1 seal has no header digest: their header fields are unchecked. */
  readonly headersUnverified: number;
}

/** The Merkle leaf of a stored event's receipt cover (what its group's seal covers). */
export function leafOfFrame(frame: EventFrame): Uint8Array {
  return coverLeaf(receiptCover(coverFieldsOfFrame(frame), frame.id));
}

interface OpenMember {
  readonly eventId: string;
  readonly leaf: Uint8Array;
  readonly headerLeaf: Uint8Array;
  readonly policy: UnsignedAppends | undefined;
}

export class SealChecker {
  readonly #opts: SealCheckOptions;
  readonly #keysById: Map<string, Uint8Array>;
  /** Sealed events seen since the last seal, by global sequence. */
  #open = new Map<number, OpenMember>();
  readonly #failed: string[] = [];
  readonly #keyIds = new Set<string>();
  #checked = 0;
  #headersUnverified = 0;
  /** The latest verified declaration: unsigned events after an 'allowed' one are accepted. */
  #unsignedAllowed = false;
  /**
   * Unexcused unsigned events seen while the rule was not yet known to apply; failures once a sealed frame shows up.
   * An id given as bytes (`unsealedEventAt`) is held as its index in `#unexcusedIds`, made a string only then: in a
   * store that never signed (the usual case) they are never needed, and a million strings kept cost GC time. Only the
   * ids given as strings are listed, each with how many byte ids came before it: the order met, without an array
   * entry per byte id (pushing a million numbers was ~0.1 µs an event on verifyChain's thread).
   */
  readonly #unexcused: { readonly id: string; readonly after: number }[] = [];
  #unexcusedIds = new Uint8Array(16 * 256);
  #unexcusedCount = 0;
  #sawSealed = false;

  constructor(options: SealCheckOptions) {
    this.#opts = options;
    this.#keysById = new Map(options.keys.map((k) => [keyIdOf(k), k]));
  }

  /** A committed event, in log order. */
  event(frame: EventFrame, eventId: string): void {
    if ((frame.flags & EventFlags.SEALED) !== 0) {
      this.#sawSealed = true;
      this.#open.set(frame.globalSequence, { eventId, leaf: leafOfFrame(frame), headerLeaf: headerLeaf(frame), policy: policyOfFrame(frame) });
    } else this.unsealedEvent(eventId);
  }

  /** A committed event without the sealed flag, in log order: all `event` needs of such a frame is its id. */
  unsealedEvent(eventId: string): void {
    if (this.#unsignedAllowed) return;
    if (this.#opts.requireSigned) this.#failed.push(eventId);
    else this.#unexcused.push({ id: eventId, after: this.#unexcusedCount });
  }

  /** `unsealedEvent` for the event whose 16-byte id is `id[at, at + 16)` (read before the call returns). */
  unsealedEventAt(id: Uint8Array, at: number): void {
    if (this.#unsignedAllowed) return;
    if (this.#opts.requireSigned) {
      this.#failed.push(toHex(id.subarray(at, at + 16)));
      return;
    }
    const n = this.#unexcusedCount++;
    if (16 * (n + 1) > this.#unexcusedIds.length) {
      const more = new Uint8Array(this.#unexcusedIds.length * 2);
      more.set(this.#unexcusedIds);
      this.#unexcusedIds = more;
    }
    const ids = this.#unexcusedIds;
    for (let i = 0; i < 16; i++) ids[16 * n + i] = id[at + i]!;
  }

  /** A seal frame: verifies the group it names from the frames seen (and recorded removals). */
  seal(s: SealFrame): void {
    const members: OpenMember[] = [];
    const leaves: Uint8Array[] = [];
    const headerLeaves: (Uint8Array | undefined)[] = [];
    let complete = s.lastSequence - s.firstSequence + 1 === s.count && s.count > 0;
    for (let g = s.firstSequence; complete && g <= s.lastSequence; g++) {
      const seen = this.#open.get(g);
      if (seen !== undefined) {
        members.push(seen);
        leaves.push(seen.leaf);
        headerLeaves.push(seen.headerLeaf);
        this.#open.delete(g);
        continue;
      }
      const leaf = this.#opts.removedLeaf?.(g);
      if (leaf === undefined) complete = false;
      else {
        leaves.push(leaf);
        headerLeaves.push(this.#opts.removedHeaderLeaf?.(g));
      }
    }
    let ok = complete && bytesEqual(merkleTree(leaves).root, s.root);
    if (ok && s.headerDigest !== undefined) {
      ok = headerLeaves.every((l) => l !== undefined) && bytesEqual(headerDigest(headerLeaves as Uint8Array[]), s.headerDigest);
    }
    if (this.#opts.keys.length > 0) {
      // With keys, a seal is only as good as its signature; without, only its structure can be checked.
      const kid = toHex(s.keyId);
      const key = this.#keysById.get(kid);
      if (key === undefined) ok = false;
      else {
        this.#checked += members.length;
        this.#keyIds.add(kid);
        ok = ok && ed25519Verify(key, groupMessage(signedRoot(s.root, s.headerDigest)), s.signature);
      }
    }
    if (!ok) {
      this.#failed.push(...members.map((m) => m.eventId));
      return;
    }
    if (s.headerDigest === undefined) this.#headersUnverified += members.length;
    for (const m of members) if (m.policy !== undefined) this.#unsignedAllowed = m.policy === 'allowed';
  }

  /** The verdict once the log has been streamed: a sealed event whose seal never came fails too. */
  finish(): SealCheckResult {
    for (const { eventId } of this.#open.values()) this.#failed.push(eventId);
    this.#open.clear();
    if (this.#sawSealed) {
      const ids = this.#unexcusedIds;
      let next = 0;
      for (const { id, after } of this.#unexcused) {
        for (; next < after; next++) this.#failed.push(toHex(ids.subarray(16 * next, 16 * next + 16)));
        this.#failed.push(id);
      }
      for (; next < this.#unexcusedCount; next++) this.#failed.push(toHex(ids.subarray(16 * next, 16 * next + 16)));
    }
    return { failures: this.#failed, signaturesChecked: this.#checked, keyIds: [...this.#keyIds], headersUnverified: this.#headersUnverified };
  }
}
