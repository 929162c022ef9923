// Rebuilds the original signed receipt of a committed event from disk: its group's seal frame follows
// the group in the same segment, so signature and group proof come back exactly — no key needed.

import { BatpakError } from '../errors.js';
import { bytesEqual, toHex } from '../encoding/hex.js';
import type { IndexEntry } from '../event-index/entry.js';
import { decodeFrameBody, type SealFrame } from '../segment/frame.js';
import { walkWindowFrames } from '../segment/frames.js';
import type { SegmentSet } from '../segment/set.js';
import { ReadWindow } from '../segment/window.js';
import type { AppendReceipt } from '../types.js';
import { coverLeaf, receiptCover } from './cover.js';
import { merkleTree, type MerkleTree } from './merkle.js';
import { sealedProof } from './sign.js';

/** Read a segment 64 KiB at a time: a seal follows its group closely. */
const CHUNK = 64 * 1024;
/** Seal bodies are small (under 256 bytes); an event body is skipped without reading it. */
const SEAL_BODY_MAX = 256;

/** The first seal frame after `entry` in its segment that covers the entry's global sequence. */
export async function findSeal(segments: SegmentSet, entry: IndexEntry): Promise<SealFrame> {
  const path = segments.path(entry.segmentId);
  const missing = () =>
    new BatpakError('ERR_CORRUPT_SEGMENT', `no seal covers signed event ${entry.eventId} in ${path}`, { details: { file: path, eventId: entry.eventId } });
  const w = await ReadWindow.open(segments.borrowingOpen(), path, segments.size(entry.segmentId), CHUNK);
  try {
    const frames = walkWindowFrames(w, { from: entry.offset + entry.length, resync: 'none', readBody: (n) => n < SEAL_BODY_MAX });
    for await (const step of frames) {
      if (step.kind === 'damage') throw missing();
      if (step.body === undefined) continue;
      let frame;
      try {
        frame = decodeFrameBody(step.body);
      } catch {
        throw missing();
      }
      if (frame.type === 1) {
        if (frame.firstSequence <= entry.globalSequence && entry.globalSequence <= frame.lastSequence) return frame;
        throw missing();
      }
    }
  } finally {
    await w.close();
  }
  throw missing();
}

export interface GroupMembers {
  /** The committed event at a global sequence, if still in the store. */
  readonly bySequence: (g: number) => IndexEntry | undefined;
  /** The recorded leaf of a group member compaction removed. */
  readonly removedLeaf: (g: number) => Uint8Array | undefined;
  readonly baseReceipt: (e: IndexEntry) => AppendReceipt;
}

/** A rebuilt group: its seal and Merkle tree. A committed group never changes, so it can be reused. */
export interface RebuiltGroup {
  readonly segmentId: number;
  readonly seal: SealFrame;
  readonly tree: MerkleTree;
}

/** Small LRU of rebuilt groups: exporting a group of n events rebuilds its tree once, not n times. */
export class GroupCache {
  readonly #groups: RebuiltGroup[] = [];
  readonly #max: number;

  constructor(max = 16) {
    this.#max = max;
  }

  find(entry: IndexEntry): RebuiltGroup | undefined {
    const i = this.#groups.findIndex(
      (g) => g.segmentId === entry.segmentId && g.seal.firstSequence <= entry.globalSequence && entry.globalSequence <= g.seal.lastSequence,
    );
    if (i === -1) return undefined;
    const [g] = this.#groups.splice(i, 1);
    this.#groups.push(g!);
    return g;
  }

  add(g: RebuiltGroup): void {
    this.#groups.push(g);
    if (this.#groups.length > this.#max) this.#groups.shift();
  }

  clear(): void {
    this.#groups.length = 0;
  }
}

/** Rebuilds the group's tree from its members and checks it against the seal's root. */
export function rebuildGroup(entry: IndexEntry, seal: SealFrame, members: GroupMembers): RebuiltGroup {
  const leaves: Uint8Array[] = [];
  for (let g = seal.firstSequence; g <= seal.lastSequence; g++) {
    const e = members.bySequence(g);
    const leaf = e !== undefined ? coverLeaf(receiptCover(members.baseReceipt(e))) : members.removedLeaf(g);
    if (leaf === undefined) {
      throw new BatpakError('ERR_CORRUPT_SEGMENT', `group member ${g} of event ${entry.eventId}'s seal is gone without a record`, { details: { eventId: entry.eventId } });
    }
    leaves.push(leaf);
  }
  const tree = merkleTree(leaves);
  if (!bytesEqual(tree.root, seal.root)) {
    throw new BatpakError('ERR_CORRUPT_SEGMENT', `the seal over event ${entry.eventId}'s group does not match its events`, { details: { eventId: entry.eventId } });
  }
  return { segmentId: entry.segmentId, seal, tree };
}

/** The event's receipt with its group's original signature and its own proof. */
export function signedReceipt(entry: IndexEntry, group: RebuiltGroup, members: GroupMembers): AppendReceipt {
  return {
    ...members.baseReceipt(entry),
    signature: new Uint8Array(group.seal.signature),
    keyId: toHex(group.seal.keyId),
    groupProof: sealedProof(group.tree, group.seal.headerDigest, entry.globalSequence - group.seal.firstSequence),
  };
}
