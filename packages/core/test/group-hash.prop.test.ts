// The commit path's four-lane group hashing (receipt/group-hash.ts) against the one-at-a-time builders and an
// independent @noble/hashes tree: every leaf, node, proof, the header digest and the signed node, for random
// groups of every tree shape (1, 2, 3, 5, 64, 65 …), cover lengths that fill jobs of four or leave them ragged,
// extensions, and inputs longer than one BLAKE3 chunk. A hasher is reused across groups: nothing carries over.

import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { receiptCover, type CoverParts } from '../src/receipt/cover.js';
import { GroupHasher, groupHasher } from '../src/receipt/group-hash.js';
import { headerLeaf, type HeaderFields } from '../src/receipt/headers.js';
import { sealedProof } from '../src/receipt/sign.js';

const utf8 = new TextEncoder();
const cat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function referenceCover(c: CoverParts): Uint8Array {
  return receiptCover({
    eventId: hex(c.idBytes),
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

/** The tree as FORMAT.md spells it, level by level with @noble/hashes: leaves first, the root alone on top. */
function referenceLevels(leaves: Uint8Array[]): Uint8Array[][] {
  const levels = [leaves];
  while (levels[levels.length - 1]!.length > 1) {
    const below = levels[levels.length - 1]!;
    const up: Uint8Array[] = [];
    for (let i = 0; i < below.length; i += 2) up.push(nobleBlake3(cat(Uint8Array.of(1), below[i]!, below[i + 1] ?? new Uint8Array(32))));
    levels.push(up);
  }
  return levels;
}

interface Event {
  readonly cover: CoverParts;
  readonly header: HeaderFields;
}

/** Hashes `group` with `h` and checks everything it gives against the references. */
function check(h: GroupHasher, group: readonly Event[]): void {
  h.begin(group.length);
  // Covers and headers in any order: each lands at its own index.
  for (let i = group.length - 1; i >= 0; i--) h.header(i, group[i]!.header);
  group.forEach((e, i) => h.cover(i, e.cover));
  const got = h.finish();
  const leaves = group.map((e) => nobleBlake3(cat(Uint8Array.of(0), referenceCover(e.cover))));
  const levels = referenceLevels(leaves);
  const root = levels[levels.length - 1]![0]!;
  const headerLeaves = group.map((e) => headerLeaf(e.header));
  const count = new Uint8Array(4);
  new DataView(count.buffer).setUint32(0, group.length);
  const digest = nobleBlake3(cat(utf8.encode('batpak.seal-headers.v1\0'), count, ...headerLeaves));
  expect(hex(got.tree.root)).toBe(hex(root));
  expect(hex(got.headerDigest)).toBe(hex(digest));
  expect(hex(got.signedRoot)).toBe(hex(nobleBlake3(cat(Uint8Array.of(1), root, digest))));
  for (let i = 0; i < group.length; i++) {
    const siblings: string[] = [];
    let k = i;
    for (let l = 0; l < levels.length - 1; l++, k >>= 1) siblings.push(hex(levels[l]![k ^ 1] ?? new Uint8Array(32)));
    const proof = sealedProof(got.tree, got.headerDigest, i);
    expect(proof.index).toBe(i);
    expect(proof.siblings.map(hex)).toEqual([...siblings, hex(digest)]);
    for (const s of proof.siblings) expect(s).toHaveLength(32);
  }
}

const counter = fc.oneof(fc.nat({ max: 0xffff }), fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.constant(2 ** 32));
const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });

/** Entities of a few lengths mostly (jobs of four fill), sometimes any (ragged jobs), rarely past one chunk. */
const entity = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('writer-1', 'writer-22', 'order/9', 'é') },
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ minLength: 880, maxLength: 1000 }) },
);

const event: fc.Arbitrary<Event> = fc.record({
  cover: fc.record({
    idBytes: bytes(16),
    globalSequence: counter,
    entitySequence: counter,
    kind: fc.integer({ min: 0, max: 0xffff }),
    committedAt: counter,
    entity,
    scope: fc.constantFrom('', 'bench', 'tenant-7'),
    prevHash: bytes(32),
    contentHash: bytes(32),
    extensions: fc.option(
      fc.dictionary(fc.string({ maxLength: 8 }), fc.uint8Array({ maxLength: 8 }), { maxKeys: 2 }).map((d) => new Map(Object.entries(d))),
      { nil: undefined, freq: 8 },
    ),
  }),
  header: fc.record({
    id: bytes(16),
    globalSequence: counter,
    flags: fc.nat({ max: 0xff }),
    payloadVersion: counter,
    batch: fc.option(fc.record({ first: counter, index: counter, count: counter }), { nil: undefined }),
    // Scopes past 1 KiB: a header leaf longer than one chunk.
    encryption: fc.option(
      fc.record({ scope: fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ minLength: 930, maxLength: 1000 })), nonce: bytes(24), generation: counter }),
      { nil: undefined, freq: 4 },
    ),
  }),
});

describe('GroupHasher', () => {
  it('gives the leaves, tree, proofs, header digest and signed node of the one-at-a-time builders, for any group', () => {
    const h = new GroupHasher();
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 70 }), (group) => check(h, group)),
      { numRuns: 150 },
    );
  });

  it('every tree shape from 1 to 70 events and 64 to 65, one hasher after another group, nothing carried over', () => {
    const h = groupHasher();
    const sample = fc.sample(event, 140);
    for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64, 65, 1, 65, 2, 70, 3]) check(h, sample.slice(0, n));
    // One length throughout: jobs of four full, and a last one of one to three lanes.
    const plain = sample.map((e) => ({ cover: { ...e.cover, entity: 'writer-1', scope: 'bench', extensions: undefined }, header: { ...e.header, batch: undefined, encryption: undefined } }));
    for (const n of [4, 5, 6, 7, 64, 65, 66, 67, 128, 129]) check(h, plain.slice(0, n));
  });

  it('a group far bigger than the first memory grows it, and the next small group still hashes right', () => {
    const h = new GroupHasher();
    const sample = fc.sample(event, 40);
    const big = Array.from({ length: 1500 }, (_, i) => sample[i % sample.length]!);
    check(h, big);
    check(h, sample.slice(0, 5));
  });
});
