// The commit path's leaf builders (coverLeafOf, headerLeafInto, signTree) against independent references:
// the general receiptCover, and a header leaf spelled out with BigInt and @noble/hashes' BLAKE3.
// Invariant under test: reusing one scratch buffer across events never leaks a byte from one leaf into the next.

import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BatpakError } from '../src/errors.js';
import { coverLeaf, coverLeafOf, EMPTY_NODE, merkleNode, receiptCover, receiptCoverOf, type CoverParts } from '../src/receipt/cover.js';
import { headerDigest, headerDigestBody, headerDigestOfBody, headerLeaf, headerLeafInto, signedRoot, type HeaderFields } from '../src/receipt/headers.js';
import { merkleTree, rootFromProof } from '../src/receipt/merkle.js';
import { sealedProof, signerFromSeed, signGroup, signTree, type ReceiptSigner } from '../src/receipt/sign.js';
import { verify } from '../src/crypto/ed25519.js';
import { sealGroup } from '../src/store/seal-group.js';
import type { SequencedEvent } from '../src/store/append-intent.js';

const utf8 = new TextEncoder();
const cat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));

/** The header leaf as FORMAT.md spells it, built with BigInt in a fresh buffer. */
function referenceHeaderLeaf(f: HeaderFields): Uint8Array {
  const u64 = (n: number) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(n));
    return b;
  };
  const u32 = (n: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n);
    return b;
  };
  const batch = f.batch === undefined ? Uint8Array.of(0) : cat(Uint8Array.of(1), u64(f.batch.first), u64(f.batch.index), u64(f.batch.count));
  const enc = f.encryption;
  const encBytes = enc === undefined ? Uint8Array.of(0) : cat(Uint8Array.of(1), u32(enc.scope.length), enc.scope, enc.nonce, u64(enc.generation));
  return nobleBlake3(cat(utf8.encode('batpak.frame-header.v1\0'), f.id, u64(f.globalSequence), u64(f.flags & ~0x02), u64(f.payloadVersion), batch, encBytes));
}

function referenceCover(c: CoverParts): Uint8Array {
  return receiptCover({
    eventId: Buffer.from(c.idBytes).toString('hex'),
    globalSequence: BigInt(c.globalSequence),
    entitySequence: BigInt(c.entitySequence),
    kind: { category: c.kind >>> 12, typeId: c.kind & 0xfff },
    coordinate: { entity: c.entity, scope: c.scope },
    contentHash: c.contentHash,
    prevHash: c.prevHash,
    committedAt: BigInt(c.committedAt),
    ...(c.extensions === undefined ? {} : { extensions: c.extensions }),
  });
}

// Counters up to 2^53 - 1 so both u32 halves of every u64 field carry bits.
const counter = fc.oneof(fc.nat({ max: 0xffff }), fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.constant(Number.MAX_SAFE_INTEGER), fc.constant(2 ** 32));
const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });

const headerFields: fc.Arbitrary<HeaderFields> = fc.record({
  id: bytes(16),
  globalSequence: counter,
  flags: fc.nat({ max: 0xff }),
  payloadVersion: counter,
  batch: fc.option(fc.record({ first: counter, index: counter, count: counter }), { nil: undefined }),
  // Scopes up to 300 bytes: past the scratch's first size, so it has to grow.
  encryption: fc.option(fc.record({ scope: fc.uint8Array({ maxLength: 300 }), nonce: bytes(24), generation: counter }), { nil: undefined }),
});

const coverParts: fc.Arbitrary<CoverParts> = fc.record({
  idBytes: bytes(16),
  globalSequence: counter,
  entitySequence: counter,
  kind: fc.integer({ min: 0, max: 0xffff }),
  committedAt: counter,
  // Coordinates up to 300 characters (multi-byte ones too): covers past the scratch's first 256 bytes.
  entity: fc.string({ unit: 'grapheme', maxLength: 300 }),
  scope: fc.string({ maxLength: 40 }),
  prevHash: bytes(32),
  contentHash: bytes(32),
  extensions: fc.option(
    fc.dictionary(fc.string({ maxLength: 8 }), fc.uint8Array({ maxLength: 8 }), { maxKeys: 3 }).map((d) => new Map(Object.entries(d))),
    { nil: undefined },
  ),
});

describe('header leaves of the commit path', () => {
  it('match the leaf spelled out with BigInt, for any sequence of fields in a row', () => {
    fc.assert(
      fc.property(fc.array(headerFields, { minLength: 1, maxLength: 8 }), (group) => {
        for (const f of group) expect(Buffer.from(headerLeaf(f)).toString('hex')).toBe(Buffer.from(referenceHeaderLeaf(f)).toString('hex'));
      }),
      { numRuns: 300 },
    );
  });

  it('leave no byte of an encrypted, batched leaf in the plain leaf built after it', () => {
    const plain: HeaderFields = { id: new Uint8Array(16).fill(1), globalSequence: 5, flags: 0x04, payloadVersion: 1, batch: undefined, encryption: undefined };
    const heavy: HeaderFields = {
      ...plain,
      batch: { first: 2 ** 40 + 1, index: 3, count: 2 ** 33 },
      encryption: { scope: new Uint8Array(200).fill(0xee), nonce: new Uint8Array(24).fill(0xdd), generation: 2 ** 45 },
    };
    const batchOnly: HeaderFields = { ...plain, batch: { first: 1, index: 0, count: 2 } };
    for (const f of [heavy, plain, heavy, batchOnly, heavy, { ...plain, encryption: heavy.encryption }, plain]) {
      expect(headerLeaf(f)).toEqual(referenceHeaderLeaf(f));
    }
  });

  it('hash a leaf of exactly one BLAKE3 chunk in place, and a longer one (a long key scope) through the general path', () => {
    // Leaf input = domain (23) ‖ fields = 101 + scope bytes with an encryption reference and no batch.
    const at = (n: number): HeaderFields => ({
      id: new Uint8Array(16).fill(4),
      globalSequence: 2 ** 40,
      flags: 0x04,
      payloadVersion: 2,
      batch: undefined,
      encryption: { scope: new Uint8Array(n).fill(0x5a), nonce: new Uint8Array(24).fill(0x11), generation: 3 },
    });
    for (const f of [at(923), at(924), at(2000), at(923)]) {
      const out = new Uint8Array(40).fill(0xaa);
      headerLeafInto(f, out, 5);
      expect(out.subarray(5, 37)).toEqual(referenceHeaderLeaf(f));
      expect([...out.subarray(0, 5), ...out.subarray(37)].every((b) => b === 0xaa)).toBe(true);
    }
  });

  it('headerLeafInto writes exactly the 32 bytes at its offset', () => {
    const f: HeaderFields = { id: new Uint8Array(16).fill(9), globalSequence: 2 ** 50, flags: 0x06, payloadVersion: 7, batch: undefined, encryption: undefined };
    const out = new Uint8Array(100).fill(0xaa);
    headerLeafInto(f, out, 37);
    expect(out.subarray(37, 69)).toEqual(referenceHeaderLeaf(f));
    expect(out.subarray(0, 37).every((b) => b === 0xaa)).toBe(true);
    expect(out.subarray(69).every((b) => b === 0xaa)).toBe(true);
  });

  it('a digest body filled leaf by leaf digests as headerDigest of the leaves', () => {
    const group: HeaderFields[] = [0, 1, 2].map((i) => ({ id: new Uint8Array(16).fill(i), globalSequence: 2 ** 33 + i, flags: 4, payloadVersion: 1, batch: undefined, encryption: undefined }));
    const body = headerDigestBody(group.length);
    expect(body).toHaveLength(4 + 32 * 3);
    expect([...body.subarray(0, 4)]).toEqual([0, 0, 0, 3]);
    expect(body.subarray(4).every((b) => b === 0)).toBe(true);
    group.forEach((f, i) => headerLeafInto(f, body, 4 + 32 * i));
    const leaves = group.map(referenceHeaderLeaf);
    const reference = nobleBlake3(cat(utf8.encode('batpak.seal-headers.v1\0'), Uint8Array.of(0, 0, 0, 3), ...leaves));
    expect(headerDigestOfBody(body)).toEqual(reference);
    expect(headerDigest(leaves)).toEqual(reference);
    expect([...headerDigestBody(0x01020304).subarray(0, 4)]).toEqual([1, 2, 3, 4]);
  });
});

describe('Merkle nodes', () => {
  it('merkleNode is blake3(0x01 ‖ left ‖ right), node after node (the in-place layout carries nothing over)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(bytes(32), bytes(32)), { minLength: 1, maxLength: 4 }), (pairs) => {
        for (const [l, r] of pairs) expect(merkleNode(l, r)).toEqual(nobleBlake3(cat(Uint8Array.of(1), l, r)));
      }),
      { numRuns: 100 },
    );
    // Children of other lengths (never built by the store) still hash as the formula says.
    const odd = [new Uint8Array(3).fill(1), new Uint8Array(40).fill(2)] as const;
    expect(merkleNode(odd[0], odd[1])).toEqual(nobleBlake3(cat(Uint8Array.of(1), odd[0], odd[1])));
    expect(merkleNode(odd[1], new Uint8Array(32))).toEqual(nobleBlake3(cat(Uint8Array.of(1), odd[1], new Uint8Array(32))));
  });
});

describe('cover leaves of the commit path', () => {
  it('hash a cover of exactly one BLAKE3 chunk in place, and a longer one (long coordinates) through the general path', () => {
    // Leaf input = 0x00 ‖ cover = 137 + entity + scope bytes: 1024 is the last length hashed in place.
    const base: CoverParts = { idBytes: new Uint8Array(16).fill(3), globalSequence: 9, entitySequence: 2, kind: 0x1001, committedAt: 2 ** 41, entity: 'e'.repeat(880), scope: 's'.repeat(7), prevHash: new Uint8Array(32).fill(1), contentHash: new Uint8Array(32).fill(2), extensions: undefined };
    for (const c of [base, { ...base, scope: 's'.repeat(8) }, { ...base, entity: 'é'.repeat(512), scope: 'x'.repeat(1024) }, base]) {
      const reference = referenceCover(c);
      expect(coverLeafOf(c)).toEqual(nobleBlake3(cat(Uint8Array.of(0), reference)));
      expect(receiptCoverOf(c)).toEqual(reference);
    }
    expect(referenceCover(base).length + 1).toBe(1024);
  });

  it('coverLeafOf and receiptCoverOf match the general cover, for any sequence of events in a row', () => {
    fc.assert(
      fc.property(fc.array(coverParts, { minLength: 1, maxLength: 6 }), (group) => {
        for (const c of group) {
          const reference = referenceCover(c);
          expect(Buffer.from(receiptCoverOf(c)).equals(Buffer.from(reference))).toBe(true);
          expect(Buffer.from(coverLeafOf(c)).equals(Buffer.from(nobleBlake3(cat(Uint8Array.of(0), reference))))).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a short cover after a long one carries its own extension count, not the bytes left behind', () => {
    const long: CoverParts = {
      idBytes: new Uint8Array(16).fill(1),
      globalSequence: 1,
      entitySequence: 1,
      kind: 0x1001,
      committedAt: 2 ** 41,
      entity: 'e'.repeat(120),
      scope: 's',
      prevHash: new Uint8Array(32).fill(0xff),
      contentHash: new Uint8Array(32).fill(0xfe),
      extensions: undefined,
    };
    const short: CoverParts = { ...long, entity: 'e' };
    for (const c of [long, short, long, { ...short, scope: '' }]) {
      expect(receiptCoverOf(c)).toEqual(referenceCover(c));
      expect(coverLeafOf(c)).toEqual(coverLeaf(referenceCover(c)));
    }
    // Extensions go through receiptCover, sorted and counted.
    const withExt = { ...short, extensions: new Map([['b', Uint8Array.of(2)], ['a', Uint8Array.of(1)]]) };
    expect(coverLeafOf(withExt)).toEqual(coverLeaf(referenceCover(withExt)));
    expect(coverLeafOf(withExt)).not.toEqual(coverLeafOf(short));
  });
});

describe('signTree: the commit path signs what signGroup signs', () => {
  const signer = signerFromSeed(new Uint8Array(32).fill(3));
  const covers = [1, 2, 3].map((i) => new Uint8Array(40).fill(i));
  const headerLeaves = [4, 5, 6].map((i) => new Uint8Array(32).fill(i));

  it('one signature over merkleNode(root, digest), the same as signGroup', () => {
    const tree = merkleTree(covers.map(coverLeaf));
    const digest = headerDigest(headerLeaves);
    const a = signTree(signer, tree, digest);
    const b = signGroup(signer, covers, headerLeaves);
    expect(a.signature).toEqual(b.signature);
    expect(a.tree.root).toEqual(b.tree.root);
    expect(a.headerDigest).toBe(digest);
    expect(a.keyId).toEqual(nobleBlake3(signer.publicKey));
    expect(a.keyIdHex).toBe(Buffer.from(a.keyId).toString('hex'));
    const message = cat(utf8.encode('batpak.group.v1\0'), signedRoot(tree.root, digest));
    expect(verify(signer.publicKey, message, a.signature)).toBe(true);
    expect(() => signGroup(signer, covers, headerLeaves.slice(1))).toThrow(new RangeError('one header leaf per cover'));
  });

  it('sealGroup signs each group as signGroup does, a big group then smaller ones (its reused digest buffer holds nothing over)', () => {
    const policy = { signer, signingDowngradeAllowed: false, onWarning: () => undefined };
    const event = (g: number, i: number) => ({
      draft: { entity: `writer-${i}`, scope: 'bench', kind: 0x1001, id: new Uint8Array(16).fill(g * 16 + i), eventId: '', payload: new Uint8Array(0), contentHash: new Uint8Array(32).fill(i), payloadVersion: i % 2, flags: 1, keyed: false },
      globalSequence: g * 100 + i,
      entitySequence: g,
      prevHash: new Uint8Array(32).fill(g),
      committedAt: 1_765_000_000_000 + g,
      batch: undefined,
      flags: 1,
      extensions: undefined,
    });
    for (const [g, size] of [[1, 70], [2, 3], [3, 1], [4, 64]] as const) {
      const events = Array.from({ length: size }, (_, i) => event(g, i));
      const sealed = sealGroup(policy, events as unknown as SequencedEvent[]);
      if (sealed === undefined || sealed instanceof BatpakError) throw new Error('not sealed');
      const covers = events.map((ev) =>
        referenceCover({ idBytes: ev.draft.id, globalSequence: ev.globalSequence, entitySequence: ev.entitySequence, kind: ev.draft.kind, committedAt: ev.committedAt, entity: ev.draft.entity, scope: ev.draft.scope, prevHash: ev.prevHash, contentHash: ev.draft.contentHash, extensions: undefined }),
      );
      // sealGroup marks each event SEALED before its header leaf is taken.
      const headers = events.map((ev) => referenceHeaderLeaf({ id: ev.draft.id, globalSequence: ev.globalSequence, flags: ev.flags, payloadVersion: ev.draft.payloadVersion, batch: undefined, encryption: undefined }));
      expect(events.every((ev) => (ev.flags & 0x04) !== 0)).toBe(true);
      const reference = signGroup(signer, covers, headers);
      expect(sealed.tree.root).toEqual(reference.tree.root);
      expect(sealed.headerDigest).toEqual(reference.headerDigest);
      expect(sealed.signature).toEqual(reference.signature);
    }
  });

  it('a failing or misbehaving signer is ERR_SIGNING_FAILED, with the reason', () => {
    const tree = merkleTree(covers.map(coverLeaf));
    const digest = headerDigest(headerLeaves);
    const bad = (sign: ReceiptSigner['sign']): ReceiptSigner => ({ publicKey: signer.publicKey, sign });
    const failure = (s: ReceiptSigner): BatpakError => {
      try {
        signTree(s, tree, digest);
      } catch (err) {
        return err as BatpakError;
      }
      throw new Error('signTree did not throw');
    };
    const cause = new Error('hsm offline');
    const thrown = failure(bad(() => { throw cause; }));
    expect(thrown.cause).toBe(cause);
    expect(thrown).toBeInstanceOf(BatpakError);
    expect(thrown.code).toBe('ERR_SIGNING_FAILED');
    expect(thrown.message).toBe('the receipt signer failed: hsm offline');
    expect(failure(bad(() => { throw 'plain string'; })).message).toBe('the receipt signer failed: plain string');
    for (const wrong of [new Uint8Array(63), new Uint8Array(65), Array.from({ length: 64 }, () => 0) as unknown as Uint8Array]) {
      const e = failure(bad(() => wrong));
      expect(e.code).toBe('ERR_SIGNING_FAILED');
      expect(e.message).toBe('the receipt signer returned something other than a 64-byte signature');
    }
  });

  it('a member proof is its path to the covers root, then the header digest on top (format 2) or nothing (format 1)', () => {
    const leaves = covers.map(coverLeaf);
    const tree = merkleTree(leaves);
    const digest = headerDigest(headerLeaves);
    const path = [EMPTY_NODE, merkleNode(leaves[0]!, leaves[1]!)];
    expect(sealedProof(tree, undefined, 2)).toEqual({ index: 2, siblings: path });
    expect(sealedProof(tree, digest, 2)).toEqual({ index: 2, siblings: [...path, digest] });
    expect(tree.proof(2)).toEqual({ index: 2, siblings: path });
    for (let i = 0; i < leaves.length; i++) {
      expect(rootFromProof(leaves[i]!, sealedProof(tree, digest, i))).toEqual(signedRoot(tree.root, digest));
      expect(rootFromProof(leaves[i]!, sealedProof(tree, undefined, i))).toEqual(tree.root);
    }
  });
});
