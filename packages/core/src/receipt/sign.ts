// Group signing: one ed25519 signature per commit group over the Merkle root of its receipt covers,
// so signing costs ~nothing per event while every receipt still verifies alone (FORMAT.md § Group signature).

import { Ed25519Signer } from '../crypto/ed25519.js';
import { blake3 } from '../crypto/blake3.js';
import { BatpakError } from '../errors.js';
import { kindFromRaw } from '../kind.js';
import type { EventFrame } from '../segment/frame.js';
import { toHex } from '../encoding/hex.js';
import type { GroupProof } from '../types.js';
import { coverLeaf, groupMessage, receiptCover, type CoverFields } from './cover.js';
import { headerDigest, signedRoot } from './headers.js';
import { merkleTree, type MerkleTree } from './merkle.js';

/** Something that signs receipts: the built-in ed25519 signer, or an embedder's (an HSM, a KMS). */
export interface ReceiptSigner {
  /** 32-byte ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** 64-byte ed25519 signature of `message`; throw to fail the append (or downgrade, if allowed). */
  sign(message: Uint8Array): Uint8Array;
}

export function signerFromSeed(seed: Uint8Array): ReceiptSigner {
  return new Ed25519Signer(seed);
}

export interface SignedGroup {
  /** The tree of the group's cover leaves (its root is the seal's `root`). */
  readonly tree: MerkleTree;
  /** Digest of the group's frame header fields (the seal's `hd`). */
  readonly headerDigest: Uint8Array;
  readonly signature: Uint8Array;
  /** Raw key id (blake3 of the public key) and its hex form. */
  readonly keyId: Uint8Array;
  readonly keyIdHex: string;
}

/**
 * Signs a group's covers and header leaves (one each per event, in sequence order) with one signature
 * over `merkleNode(coversRoot, headerDigest)`; throws ERR_SIGNING_FAILED when the signer fails or misbehaves.
 */
export function signGroup(signer: ReceiptSigner, covers: readonly Uint8Array[], headerLeaves: readonly Uint8Array[]): SignedGroup {
  if (headerLeaves.length !== covers.length) throw new RangeError('one header leaf per cover');
  return signTree(signer, merkleTree(covers.map(coverLeaf)), headerDigest(headerLeaves));
}

/**
 * Signs a group from its cover tree and header digest, as the commit path builds them (leaves hashed as
 * they are laid out, no cover kept): one signature over `root`, `merkleNode(tree.root, digest)` (which the
 * commit path hashes with the tree, group-hash.ts).
 */
export function signTree(signer: ReceiptSigner, tree: MerkleTree, digest: Uint8Array, root = signedRoot(tree.root, digest)): SignedGroup {
  let signature: Uint8Array;
  try {
    signature = signer.sign(groupMessage(root));
  } catch (err) {
    throw new BatpakError('ERR_SIGNING_FAILED', `the receipt signer failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (!(signature instanceof Uint8Array) || signature.length !== 64) {
    throw new BatpakError('ERR_SIGNING_FAILED', 'the receipt signer returned something other than a 64-byte signature');
  }
  const { keyId, keyIdHex } = keyIdOfSigner(signer.publicKey);
  return { tree, headerDigest: digest, signature, keyId, keyIdHex };
}

// The last public key signed with and its id: a store signs every group with one key, so its id (a BLAKE3 and a hex
// encoding) is derived once, not once a group. Compared by bytes, so a signer whose key changes gets its new id.
let lastKey: Uint8Array | undefined;
let lastId: { readonly keyId: Uint8Array; readonly keyIdHex: string } | undefined;

function keyIdOfSigner(publicKey: Uint8Array): { readonly keyId: Uint8Array; readonly keyIdHex: string } {
  if (lastId !== undefined && sameBytes(lastKey!, publicKey)) return lastId;
  const keyId = blake3(publicKey);
  lastKey = publicKey.slice();
  lastId = { keyId, keyIdHex: toHex(keyId) };
  return lastId;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A member's receipt proof: its path to the covers' root, then the header digest as the top sibling. */
export function sealedProof(tree: MerkleTree, digest: Uint8Array | undefined, index: number): GroupProof {
  return tree.proof(index, digest);
}

/** The cover fields of an event frame as stored (the same cover its receipt was signed over). */
export function coverFieldsOfFrame(f: EventFrame): CoverFields {
  return {
    eventId: toHex(f.id),
    globalSequence: BigInt(f.globalSequence),
    entitySequence: BigInt(f.entitySequence),
    kind: kindFromRaw(f.kind),
    coordinate: { entity: f.entity, scope: f.scope },
    contentHash: f.contentHash,
    prevHash: f.prevHash,
    committedAt: BigInt(f.committedAt),
    ...(f.extensions === undefined || f.extensions.size === 0 ? {} : { extensions: f.extensions }),
  };
}

export { receiptCover };
