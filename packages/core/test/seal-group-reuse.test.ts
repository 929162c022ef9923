// What a signed group hands out must survive the next group: its tree's nodes are copied out of the hasher's
// reused memory (one copy a group, each node a view of it), and the signer's key id is derived once per key.
// Invariant under test: neither the hasher's next group nor another signing key changes what an earlier group gave.

import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js';
import { describe, expect, it } from 'vitest';
import { GroupHasher } from '../src/receipt/group-hash.js';
import { merkleTree } from '../src/receipt/merkle.js';
import { signerFromSeed, signTree, type ReceiptSigner } from '../src/receipt/sign.js';
import { coverLeaf, EMPTY_NODE } from '../src/receipt/cover.js';

const parts = (g: number, i: number) => ({
  idBytes: new Uint8Array(16).fill(g * 16 + i),
  globalSequence: g * 1000 + i,
  entitySequence: i,
  kind: 0x1001,
  committedAt: 1_765_000_000_000 + g,
  entity: `writer-${i}`,
  scope: 'bench',
  prevHash: new Uint8Array(32).fill(g),
  contentHash: new Uint8Array(32).fill(i),
  extensions: undefined,
});
const header = (g: number, i: number) => ({ id: new Uint8Array(16).fill(g * 16 + i), globalSequence: g * 1000 + i, flags: 4, payloadVersion: 0, batch: undefined, encryption: undefined });

function hashGroup(h: GroupHasher, g: number, n: number) {
  h.begin(n);
  for (let i = 0; i < n; i++) {
    h.cover(i, parts(g, i));
    h.header(i, header(g, i));
  }
  return h.finish();
}

describe('a group hasher reused for the next group', () => {
  it("leaves an earlier group's root, proofs and signed node as they were", () => {
    const h = new GroupHasher();
    const first = hashGroup(h, 1, 7);
    const root = first.tree.root.slice();
    const signed = first.signedRoot.slice();
    const proofs = Array.from({ length: 7 }, (_, i) => first.tree.proof(i, first.headerDigest).siblings.map((s) => s.slice()));
    for (const [g, n] of [[2, 64], [3, 7], [4, 1]] as const) hashGroup(h, g, n);
    expect(first.tree.root).toEqual(root);
    expect(first.signedRoot).toEqual(signed);
    for (let i = 0; i < 7; i++) expect(first.tree.proof(i, first.headerDigest).siblings).toEqual(proofs[i]);
    // Each node is 32 bytes of its own, not a window onto the memory the next group overwrote.
    expect(first.tree.proof(6).siblings[0]).toEqual(EMPTY_NODE);
    expect(first.tree.root.length).toBe(32);
  });
});

describe("signTree's key id", () => {
  const tree = merkleTree([coverLeaf(Uint8Array.of(1))]);
  const digest = new Uint8Array(32).fill(9);

  it('is each signing key\'s own when signers take turns', () => {
    const a = signerFromSeed(new Uint8Array(32).fill(1));
    const b = signerFromSeed(new Uint8Array(32).fill(2));
    for (const signer of [a, b, a, a, b]) {
      const s = signTree(signer, tree, digest);
      expect(s.keyId).toEqual(nobleBlake3(signer.publicKey));
      expect(s.keyIdHex).toBe(Buffer.from(nobleBlake3(signer.publicKey)).toString('hex'));
    }
  });

  it('follows a signer whose public key changes between groups', () => {
    const keys = [signerFromSeed(new Uint8Array(32).fill(5)), signerFromSeed(new Uint8Array(32).fill(6))];
    let current = 0;
    // An embedder's signer (a KMS after a key rotation) hands out one array it rewrites in place.
    const shown = keys[0]!.publicKey;
    const rotating: ReceiptSigner = {
      get publicKey() {
        shown.set(keys[current]!.publicKey);
        return shown;
      },
      sign: (m) => keys[current]!.sign(m),
    };
    const first = signTree(rotating, tree, digest);
    current = 1;
    const second = signTree(rotating, tree, digest);
    expect(first.keyId).toEqual(nobleBlake3(keys[0]!.publicKey));
    expect(second.keyId).toEqual(nobleBlake3(keys[1]!.publicKey));
    expect(second.keyIdHex).not.toBe(first.keyIdHex);
  });
});
