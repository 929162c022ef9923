// Merkle tree over a commit group's cover leaves: one signature per group, and a proof per receipt
// so every receipt still verifies alone, with only the public key (FORMAT.md § Receipts).

import { EMPTY_NODE, merkleNode } from './cover.js';
import type { GroupProof } from '../types.js';

export interface MerkleTree {
  readonly root: Uint8Array;
  /** Leaf `index`'s path to the root; `top`, when given, is appended as the sibling above the root. */
  proof(index: number, top?: Uint8Array): GroupProof;
}

/** Builds the tree; an odd node at any level pairs with EMPTY_NODE. One leaf is its own root. */
export function merkleTree(leaves: readonly Uint8Array[]): MerkleTree {
  if (leaves.length === 0) throw new RangeError('a Merkle tree needs at least one leaf');
  const levels: Uint8Array[][] = [leaves.slice()];
  while (levels[levels.length - 1]!.length > 1) {
    const below = levels[levels.length - 1]!;
    // Sized up front (no push per node): built once per signed commit group.
    const up = new Array<Uint8Array>((below.length + 1) >> 1);
    for (let i = 0; i < up.length; i++) up[i] = merkleNode(below[2 * i]!, below[2 * i + 1] ?? EMPTY_NODE);
    levels.push(up);
  }
  return treeOfLevels(levels);
}

/**
 * The tree whose nodes are `levels` (leaves first, each level half the one below rounded up, the root alone on
 * top), as merkleTree builds them: for a group whose nodes were hashed elsewhere (group-hash.ts).
 */
export function treeOfLevels(levels: readonly (readonly Uint8Array[])[]): MerkleTree {
  const root = levels[levels.length - 1]![0]!;
  return {
    root,
    proof(index: number, top?: Uint8Array): GroupProof {
      // One proof per receipt of a signed group: the array sized up front, filled in place.
      const depth = levels.length - 1;
      const siblings = new Array<Uint8Array>(top === undefined ? depth : depth + 1);
      let i = index;
      for (let l = 0; l < depth; l++) {
        siblings[l] = levels[l]![i ^ 1] ?? EMPTY_NODE;
        i >>= 1;
      }
      if (top !== undefined) siblings[depth] = top;
      return { index, siblings };
    },
  };
}

/** Folds a leaf up through its proof; undefined when the proof is malformed. */
export function rootFromProof(leaf: Uint8Array, proof: GroupProof): Uint8Array | undefined {
  const { index, siblings } = proof;
  if (!Number.isSafeInteger(index) || index < 0 || siblings.length > 52) return undefined;
  // The index must fit the proof's depth, or two indices would share one proof.
  if (index >= 2 ** siblings.length) return undefined;
  let node = leaf;
  for (let l = 0; l < siblings.length; l++) {
    const sib = siblings[l]!;
    if (!(sib instanceof Uint8Array) || sib.length !== 32) return undefined;
    node = Math.floor(index / 2 ** l) % 2 === 1 ? merkleNode(sib, node) : merkleNode(node, sib);
  }
  return node;
}
