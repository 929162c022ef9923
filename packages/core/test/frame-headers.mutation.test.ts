// Every frame field that changes what a reader gets back is covered: cover fields by the receipt cover,
// the rest (flags, payload version, nonce, key generation, batch) by the seal's header digest
// (INV-SEAL-HEADERS), and a tombstone flag by compaction's own record (INV-TOMBSTONE-RECORDED).
// Each edit below re-encodes the frame canonically, CRC included, so only these checks can catch it.
import { describe, expect, it } from 'vitest';
import { Coordinate, defineEvent, Store } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';
import { publicKeyFromSeed } from '../src/crypto/ed25519.js';
import { groupMessage } from '../src/receipt/cover.js';
import { headerDigest, headerLeaf, signedRoot } from '../src/receipt/headers.js';
import { signerFromSeed } from '../src/receipt/sign.js';
import { encodeSegmentHeader } from '../src/segment/format.js';
import { decodeFrameBody, encodeEventFrame, encodeSealFrame, type EventFrame, type Frame, type SealFrame } from '../src/segment/frame.js';
import { decodeCompactionLog, encodeCompactionLog, entryTrusted, RemovedSet, signEntry, type CompactionEntry } from '../src/compaction/log.js';
import { blake3 } from '../src/crypto/blake3.js';
import { decodeMarker, encodeMarker } from '../src/compaction/marker.js';
import { toHex } from '../src/encoding/hex.js';
import { merkleTree } from '../src/receipt/merkle.js';
import { leafOfFrame, SealChecker } from '../src/receipt/seal-check.js';
import { encodePayload } from '../src/payload.js';

const Note = defineEvent<{ n: number; text: string }>({ category: 3, typeId: 8, name: 'HeaderNote' });
const seed = new Uint8Array(32).fill(5);
const pk = publicKeyFromSeed(seed);
const SEG = '/db/000001.bps';
const at = new Coordinate('acct:1', 'bank');

/** Frames of a segment, decoded, with their byte spans. */
function frames(bytes: Uint8Array): { offset: number; length: number; frame: Frame }[] {
  const out = [];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let pos = 32; pos + 12 <= bytes.length; ) {
    const length = 12 + dv.getUint32(pos + 4);
    out.push({ offset: pos, length, frame: decodeFrameBody(bytes.subarray(pos + 12, pos + length)) });
    pos += length;
  }
  return out;
}

/** Rewrites the segment: `edit` may replace any frame (re-encoded canonically, CRC recomputed). */
function rewrite(sim: SimFs, edit: (f: Frame, i: number) => Frame, header?: Uint8Array): void {
  const bytes = sim.inspect(SEG)!.current;
  const parts: Uint8Array[] = [header ?? bytes.subarray(0, 32)];
  frames(bytes).forEach(({ frame }, i) => {
    const f = edit(frame, i);
    parts.push(f.type === 0 ? encodeEventFrame(f) : encodeSealFrame(f));
  });
  sim.putFile(SEG, new Uint8Array(Buffer.concat(parts)));
}

/** Edits the event at global sequence `g` only. */
const onEvent = (g: number, edit: (f: EventFrame) => EventFrame) => (f: Frame) => (f.type === 0 && f.globalSequence === g ? edit(f) : f);

async function build(options: { signed?: boolean; encrypted?: boolean; batch?: boolean } = {}) {
  const sim = new SimFs(9);
  let clock = 1_700_000_000_000;
  const opts = {
    dir: '/db',
    fs: sim,
    checkpoint: 'off' as const,
    now: () => (clock += 1),
    ...(options.signed === false ? {} : { signingKey: seed }),
    ...(options.encrypted === true ? { payloadEncryption: {} } : {}),
  };
  const s = await Store.open(opts);
  const ids: string[] = [];
  for (let n = 1; n <= 3; n++) ids.push((await s.append(at, Note, { n, text: `t${n}` })).eventId);
  if (options.batch === true) ids.push(...(await s.appendBatch([{ coord: at, kind: Note, payload: { n: 4, text: 't4' } }, { coord: at, kind: Note, payload: { n: 5, text: 't5' } }])).map((r) => r.eventId));
  await s.close();
  return { sim, opts, ids };
}

async function verify(sim: SimFs, extra: object = {}) {
  const r = await Store.openReadOnly('/db', { fs: sim, checkpoint: 'off', ...extra });
  try {
    return await r.verifyChain();
  } finally {
    await r.close();
  }
}

describe('INV-TOMBSTONE-RECORDED: a tombstone flag needs compaction’s record', () => {
  const forge = (f: EventFrame): EventFrame => ({ ...f, flags: f.flags | 0x02, payload: new Uint8Array(0) });

  it('a forged tombstone (flag set, payload emptied) on a never-compacted event is damage, signed store', async () => {
    const { sim, ids } = await build();
    rewrite(sim, onEvent(2, forge));
    const report = await verify(sim, { trustedPublicKeys: [pk] });
    expect(report.intact).toBe(false);
    expect(report.contentHashMismatches).toEqual([ids[1]]);
    // The tombstone bit is left out of the header digest (compaction sets it): the seal still verifies.
    expect(report.signatureFailures).toEqual([]);
    expect((await verify(sim)).contentHashMismatches).toEqual([ids[1]]);
  });

  it("chainVerification 'recompute' refuses to open over a forged tombstone", async () => {
    const { sim, opts } = await build();
    rewrite(sim, onEvent(2, forge));
    await expect(Store.open({ ...opts, chainVerification: 'recompute' })).rejects.toMatchObject({ code: 'ERR_CHAIN_VERIFICATION_FAILED' });
  });

  it('a forged tombstone is damage in an unsigned store too', async () => {
    const { sim, ids } = await build({ signed: false });
    rewrite(sim, onEvent(3, forge));
    const report = await verify(sim);
    expect(report).toMatchObject({ intact: false, contentHashMismatches: [ids[2]], signaturesChecked: 0 });
  });

  it("compaction's own tombstones verify, signed and unsigned, and its record lists them", async () => {
    for (const signed of [true, false]) {
      const sim = new SimFs(11);
      const s = await Store.open({ dir: '/db', fs: sim, segmentMaxBytes: 400, ...(signed ? { signingKey: seed } : {}) });
      for (let n = 1; n <= 12; n++) await s.append(at, Note, { n, text: `x${n}` });
      const result = await s.compact({ strategy: 'tombstone', drop: (e) => (e.payload as { n: number }).n % 3 === 0 });
      expect(result.outcome).toBe('performed');
      const live = await s.verifyChain();
      expect(live).toMatchObject({ intact: true, contentHashMismatches: [], headersUnverified: 0 });
      await s.close();
      const report = await verify(sim, signed ? { trustedPublicKeys: [pk] } : {});
      expect(report).toMatchObject({ intact: true, contentHashMismatches: [], signatureFailures: [], headersUnverified: 0 });
      if (signed) {
        // Without any key a signed record can neither confirm nor refute a tombstone: unverified, not damage.
        const ro = await Store.openReadOnly('/db', { fs: sim });
        let tombstones = 0;
        for await (const e of ro.query()) if (e.header.tombstone) tombstones++;
        await ro.close();
        expect(tombstones).toBeGreaterThan(0);
        expect(await verify(sim)).toMatchObject({ intact: true, contentHashMismatches: [], headersUnverified: tombstones });
      }
    }
  });

  it('RemovedSet: recorded, unexplained, untrusted, uncheckable and version-1 records, each alone', () => {
    const id = (b: number) => new Uint8Array(16).fill(b);
    const hex = (b: number) => Buffer.from(id(b)).toString('hex');
    const entry = (over: Partial<CompactionEntry>): CompactionEntry => ({ compactionId: 'c', strategy: 'tombstone', mergedId: 1, sources: [1], removed: [], tombstoned: [{ globalSequence: 2, id: id(2) }], ...over });
    const trusted = new RemovedSet();
    trusted.addEntry(entry({}), true);
    expect(trusted.tombstone(hex(2))).toBe('recorded');
    expect(trusted.tombstone(hex(3))).toBe('unexplained');
    const untrusted = new RemovedSet();
    untrusted.addEntry(entry({}), false);
    expect(untrusted.tombstone(hex(2))).toBe('unexplained');
    const uncheckable = new RemovedSet();
    uncheckable.addEntry(entry({}), false, true);
    expect(uncheckable.tombstone(hex(2))).toBe('unknown');
    expect(uncheckable.tombstone(hex(3))).toBe('unexplained');
    const legacy = new RemovedSet();
    const { tombstoned: _, ...v1 } = entry({});
    legacy.addEntry(v1, true);
    expect(legacy.tombstone(hex(9))).toBe('unknown');
    const legacyMerge = new RemovedSet();
    legacyMerge.addEntry({ ...v1, strategy: 'merge' }, true);
    expect(legacyMerge.tombstone(hex(9))).toBe('unexplained');
  });
});

describe('INV-SEAL-HEADERS: the seal covers every header field a reader depends on', () => {
  const expectCaught = async (sim: SimFs, ids: string[]) => {
    const report = await verify(sim, { trustedPublicKeys: [pk] });
    expect(report.intact).toBe(false);
    expect(report.signatureFailures).toEqual(ids);
    expect(report.contentHashMismatches).toEqual([]);
    expect(report.danglingLinks).toEqual([]);
  };

  it('flipping the raw flag is a signature failure', async () => {
    const { sim, ids } = await build();
    rewrite(sim, onEvent(2, (f) => ({ ...f, flags: f.flags ^ 0x01 })));
    await expectCaught(sim, [ids[1]!]);
  });

  it('changing the payload version is a signature failure', async () => {
    const { sim, ids } = await build();
    rewrite(sim, onEvent(1, (f) => ({ ...f, payloadVersion: f.payloadVersion + 1 })));
    await expectCaught(sim, [ids[0]!]);
  });

  it('changing the nonce of an encrypted event is a signature failure', async () => {
    const { sim, ids } = await build({ encrypted: true });
    rewrite(sim, onEvent(3, (f) => ({ ...f, encryption: { ...f.encryption!, nonce: f.encryption!.nonce.map((b) => b ^ 1) } })));
    await expectCaught(sim, [ids[2]!]);
  });

  it('changing the key generation, or the key scope, of an encrypted event is a signature failure', async () => {
    const { sim, ids } = await build({ encrypted: true });
    rewrite(sim, onEvent(3, (f) => ({ ...f, encryption: { ...f.encryption!, generation: 1 } })));
    await expectCaught(sim, [ids[2]!]);
    const second = await build({ encrypted: true });
    rewrite(second.sim, onEvent(1, (f) => ({ ...f, encryption: { ...f.encryption!, scope: new Uint8Array([...f.encryption!.scope, 0x21]) } })));
    await expectCaught(second.sim, [second.ids[0]!]);
  });

  it('setting an unassigned flag bit on a batch member is a signature failure for its whole group', async () => {
    const { sim, ids } = await build({ batch: true });
    rewrite(sim, onEvent(5, (f) => ({ ...f, flags: f.flags | 0x08 })));
    await expectCaught(sim, [ids[3]!, ids[4]!]);
  });

  it('stripping the header digest (a format-1-shaped seal) breaks the signature', async () => {
    const { sim, ids } = await build();
    rewrite(sim, (f) => (f.type === 1 && f.firstSequence === 2 ? { ...f, headerDigest: undefined } : f));
    await expectCaught(sim, [ids[1]!]);
  });

  it('a rewritten header digest breaks the signature; a seal over absent frames fails', async () => {
    const { sim, ids } = await build();
    rewrite(sim, (f) => (f.type === 1 && f.firstSequence === 1 ? { ...f, headerDigest: new Uint8Array(32).fill(1) } : f));
    await expectCaught(sim, [ids[0]!]);
    // Without keys the digest is still recomputed: a mismatch is a failure (structure, not signature).
    expect((await verify(sim)).signatureFailures).toEqual([ids[0]]);
  });

  it('a format-1 store (seals without digest) still verifies; its header fields are reported unverified', async () => {
    const { sim, ids } = await build();
    const signer = signerFromSeed(seed);
    const v1 = encodeSegmentHeader({ version: 1, flags: 0, segmentId: 1, createdAtMs: 1 });
    const resign = (f: Frame): Frame => (f.type === 1 ? ({ ...f, headerDigest: undefined, signature: signer.sign(groupMessage(f.root)) } satisfies SealFrame) : f);
    rewrite(sim, resign, v1);
    expect(await verify(sim, { trustedPublicKeys: [pk] })).toMatchObject({ intact: true, signaturesChecked: 3, headersUnverified: 3 });
    // What format 1 could not protect stays unprotected there: reported as unverified, not as damage.
    rewrite(sim, onEvent(2, (f) => ({ ...f, flags: f.flags ^ 0x01 })));
    expect(await verify(sim, { trustedPublicKeys: [pk] })).toMatchObject({ intact: true, headersUnverified: 3 });
    // The store stays writable by this library (new groups get format-2 seals) and receipts verify.
    const s = await Store.open({ dir: '/db', fs: sim, signingKey: seed, checkpoint: 'off' });
    const r = await s.append(at, Note, { n: 9, text: 'new' });
    expect(r.groupProof!.siblings).toHaveLength(1);
    expect(await s.receipt(ids[0]!)).toMatchObject({ groupProof: { index: 0, siblings: [] } });
    expect(await s.verifyChain()).toMatchObject({ intact: true, headersUnverified: 3, signaturesChecked: 4 });
    await s.close();
  });

  it('retention that removes a member of a format-2 group keeps the seal verifiable (the record holds its header leaf)', async () => {
    const sim = new SimFs(12);
    const s = await Store.open({ dir: '/db', fs: sim, signingKey: seed, segmentMaxBytes: 600 });
    for (let round = 0; round < 5; round++) {
      await Promise.all(Array.from({ length: 4 }, (_, i) => s.append(new Coordinate(`acct:${i}`, 'bank'), Note, { n: round * 4 + i, text: `r${round}` })));
    }
    const result = await s.compact({ strategy: 'retention', keep: (e) => (e.payload as { n: number }).n % 4 !== 0 });
    expect(result.eventsDropped).toBeGreaterThan(0);
    expect(await s.verifyChain()).toMatchObject({ intact: true, signatureFailures: [], headersUnverified: 0 });
    await s.close();
    expect(await verify(sim, { trustedPublicKeys: [pk] })).toMatchObject({ intact: true, signatureFailures: [] });
  });
});

describe('header leaf: each field counts, except the tombstone bit', () => {
  const base: EventFrame = {
    type: 0,
    id: new Uint8Array(16).fill(1),
    globalSequence: 7,
    entitySequence: 1,
    kind: 0x3008,
    entity: 'e',
    scope: 's',
    committedAt: 1,
    prevHash: new Uint8Array(32),
    contentHash: new Uint8Array(32),
    payloadVersion: 2,
    flags: 0x04,
    payload: new Uint8Array(0),
  };
  const enc = { scope: new Uint8Array([1, 2]), nonce: new Uint8Array(24).fill(3), generation: 0 };
  const leaf = headerLeaf(base);

  it('id, sequence, flags, payload version, batch and encryption each change the leaf', () => {
    const variants: Partial<EventFrame>[] = [
      { id: new Uint8Array(16).fill(2) },
      { globalSequence: 8 },
      { flags: 0x05 },
      { flags: 0x00 },
      { payloadVersion: 3 },
      { batch: { first: 7, index: 0, count: 1 } },
      { encryption: enc },
    ];
    for (const v of variants) expect(headerLeaf({ ...base, ...v })).not.toEqual(leaf);
    const b = { first: 7, index: 0, count: 2 };
    const batched = headerLeaf({ ...base, batch: b });
    for (const v of [{ first: 6 }, { index: 1 }, { count: 3 }]) expect(headerLeaf({ ...base, batch: { ...b, ...v } })).not.toEqual(batched);
    const sealed = headerLeaf({ ...base, encryption: enc });
    for (const v of [{ scope: new Uint8Array([1, 3]) }, { scope: new Uint8Array([1]) }, { nonce: new Uint8Array(24).fill(4) }, { generation: 1 }]) {
      expect(headerLeaf({ ...base, encryption: { ...enc, ...v } })).not.toEqual(sealed);
    }
    // Fields the receipt cover binds do not enter the leaf; the tombstone bit does not either.
    const coverOnly: EventFrame = { ...base, entity: 'x', kind: 1, committedAt: 9, payload: new Uint8Array(3) };
    expect(headerLeaf(coverOnly)).toEqual(leaf);
    expect(headerLeaf({ ...base, flags: base.flags | 0x02 })).toEqual(leaf);
  });

  it('the digest binds order and count; a format-2 seal signs merkleNode(root, digest)', () => {
    const a = headerLeaf(base);
    const b = headerLeaf({ ...base, globalSequence: 8 });
    expect(headerDigest([a, b])).not.toEqual(headerDigest([b, a]));
    expect(headerDigest([a])).not.toEqual(headerDigest([a, a]));
    expect(headerDigest([])).toHaveLength(32);
    const root = new Uint8Array(32).fill(6);
    expect(signedRoot(root, undefined)).toBe(root);
    expect(signedRoot(root, a)).not.toEqual(root);
  });
});

describe('compaction.log version 2 (INV-TOMBSTONE-RECORDED)', () => {
  const signer = signerFromSeed(seed);
  const v1: CompactionEntry = {
    compactionId: 'c1',
    strategy: 'retention',
    mergedId: 1,
    sources: [1, 2],
    removed: [{ globalSequence: 3, id: new Uint8Array(16).fill(3), contentHash: new Uint8Array(32).fill(4), leaf: new Uint8Array(32).fill(5) }],
  };
  const v2: CompactionEntry = {
    ...v1,
    strategy: 'tombstone',
    removed: [{ ...v1.removed[0]!, headerLeaf: new Uint8Array(32).fill(6) }, { globalSequence: 4, id: new Uint8Array(16).fill(7), contentHash: new Uint8Array(32).fill(8), leaf: undefined }],
    tombstoned: [{ globalSequence: 9, id: new Uint8Array(16).fill(9) }],
  };

  it('version-1 and version-2 entries round-trip, signatures intact; the file is written as version 2', () => {
    const entries = [signEntry(v1, signer), signEntry(v2, signer), v2];
    const image = encodeCompactionLog(entries);
    expect(new DataView(image.buffer).getUint16(6, true)).toBe(2);
    const back = decodeCompactionLog(image, '/log');
    expect(back).toEqual(entries);
    expect(back.slice(0, 2).map((e) => entryTrusted(e, [pk]))).toEqual([true, true]);
    // The tombstone list is signed: dropping or adding a row breaks the signature.
    expect(entryTrusted({ ...back[1]!, tombstoned: [] }, [pk])).toBe(false);
    expect(entryTrusted({ ...back[1]!, removed: [back[1]!.removed[0]!] }, [pk])).toBe(false);
    expect(entryTrusted({ ...back[1]!, removed: [{ ...back[1]!.removed[0]!, headerLeaf: new Uint8Array(32) }, back[1]!.removed[1]!] }, [pk])).toBe(false);
  });

  it('compaction.pending is written as version 2 and read at versions 1 and 2 only', () => {
    const image = encodeMarker({ compactionId: 'm', mergedId: 1, sources: [1, 2], entry: v2 });
    expect(new DataView(image.buffer).getUint16(6, true)).toBe(2);
    expect(decodeMarker(image, '/p').entry).toEqual(v2);
    const at = (v: number) => {
      const copy = image.slice();
      new DataView(copy.buffer).setUint16(6, v, true);
      return copy;
    };
    expect(decodeMarker(at(1), '/p').sources).toEqual([1, 2]);
    expect(() => decodeMarker(at(3), '/p')).toThrow(/unsupported version 3/);
    expect(() => decodeMarker(at(0), '/p')).toThrow(/unsupported version 0/);
  });

  it('a version-1 image still reads; rows of the wrong shape are refused', () => {
    const image = encodeCompactionLog([v1]);
    new DataView(image.buffer).setUint16(6, 1, true);
    expect(decodeCompactionLog(image, '/log')).toEqual([v1]);
    const bad = (e: CompactionEntry) => () => decodeCompactionLog(encodeCompactionLog([e]), '/log');
    // A version-2 entry whose removed row lacks the header leaf, or whose tombstoned row is not a pair.
    const short = encodeCompactionLog([{ ...v1, tombstoned: [] }]);
    expect(decodeCompactionLog(short, '/log')[0]!.tombstoned).toEqual([]);
    expect(bad({ ...v2, tombstoned: [{ globalSequence: 1, id: new Uint8Array(15) }] })).toThrow(/tombstoned id is not 16 bytes/);
  });
});

describe('SealChecker with real seals: each rule alone', () => {
  const signer = signerFromSeed(seed);
  const ev = (g: number, flags = 0x04): EventFrame => ({
    type: 0,
    id: new Uint8Array(16).fill(g),
    globalSequence: g,
    entitySequence: g,
    kind: 0x3008,
    entity: 'e',
    scope: 's',
    committedAt: g,
    prevHash: new Uint8Array(32),
    contentHash: new Uint8Array(32).fill(g),
    payloadVersion: 1,
    flags,
    payload: new Uint8Array(0),
  });
  const sealOf = (events: EventFrame[], format: 1 | 2 = 2): SealFrame => {
    const leaves = events.map(leafOfFrame);
    const root = merkleTree(leaves).root;
    const hd = format === 2 ? headerDigest(events.map(headerLeaf)) : undefined;
    return {
      type: 1,
      firstSequence: events[0]!.globalSequence,
      lastSequence: events[events.length - 1]!.globalSequence,
      count: events.length,
      keyId: blake3(pk),
      root,
      ...(hd === undefined ? {} : { headerDigest: hd }),
      signature: signer.sign(groupMessage(signedRoot(root, hd))),
    };
  };
  const run = (events: EventFrame[], seal: SealFrame, opts: Partial<ConstructorParameters<typeof SealChecker>[0]> = {}) => {
    const c = new SealChecker({ keys: [pk], requireSigned: true, ...opts });
    events.forEach((e) => c.event(e, `e${e.globalSequence}`));
    c.seal(seal);
    return c.finish();
  };

  it('a good format-2 group passes and is counted; a format-1 one counts as headers unverified', () => {
    const g = [ev(1), ev(2), ev(3)];
    expect(run(g, sealOf(g))).toEqual({ failures: [], signaturesChecked: 3, keyIds: [toHex(blake3(pk))], headersUnverified: 0 });
    expect(run(g, sealOf(g, 1))).toMatchObject({ failures: [], signaturesChecked: 3, headersUnverified: 3 });
  });

  it('count, range and key must all agree', () => {
    const g = [ev(1), ev(2)];
    expect(run(g, { ...sealOf(g), count: 3 }).failures).toEqual(['e1', 'e2']);
    expect(run(g, { ...sealOf(g), count: 1 }).failures).toEqual(['e1', 'e2']);
    expect(run(g, { ...sealOf(g), lastSequence: 1, count: 1 }).failures).toEqual(['e1', 'e2']);
    expect(run(g, { ...sealOf(g), keyId: new Uint8Array(32) })).toMatchObject({ failures: ['e1', 'e2'], signaturesChecked: 0, keyIds: [] });
    const empty = { ...sealOf(g), firstSequence: 3, lastSequence: 2, count: 0 };
    expect(run(g, empty).failures).toEqual(['e1', 'e2']);
  });

  it('without keys only the structure is checked: a bad signature passes, a bad root or digest fails', () => {
    const g = [ev(1), ev(2)];
    const keyless = { keys: [] as Uint8Array[] };
    expect(run(g, { ...sealOf(g), signature: new Uint8Array(64) }, keyless)).toMatchObject({ failures: [], signaturesChecked: 0 });
    expect(run(g, { ...sealOf(g), root: new Uint8Array(32) }, keyless).failures).toEqual(['e1', 'e2']);
    expect(run(g, { ...sealOf(g), headerDigest: new Uint8Array(32) }, keyless).failures).toEqual(['e1', 'e2']);
  });

  it('a removed member needs its recorded leaf, and under a format-2 seal its header leaf too', () => {
    const g = [ev(1), ev(2), ev(3)];
    const seal = sealOf(g);
    const kept = [g[0]!, g[2]!];
    const leaf = (n: number) => (n === 2 ? leafOfFrame(g[1]!) : undefined);
    const hleaf = (n: number) => (n === 2 ? headerLeaf(g[1]!) : undefined);
    expect(run(kept, seal, { removedLeaf: leaf, removedHeaderLeaf: hleaf })).toMatchObject({ failures: [], signaturesChecked: 2 });
    expect(run(kept, seal, { removedLeaf: leaf }).failures).toEqual(['e1', 'e3']);
    // The walk stops at the hole: e3 is never claimed, so it fails as a sealed event without a seal.
    expect(run(kept, seal).failures).toEqual(['e1', 'e3']);
    expect(run(kept, sealOf(g, 1), { removedLeaf: leaf })).toMatchObject({ failures: [], headersUnverified: 2 });
  });

  it("a declaration counts only once its group's seal verifies", () => {
    const payload = encodePayload({ unsignedAppends: 'allowed', declaredAt: 1 });
    const decl: EventFrame = { ...ev(1), kind: 0x0012, payload, contentHash: blake3(payload) };
    const later = ev(2, 0);
    const good = new SealChecker({ keys: [pk], requireSigned: true });
    good.event(decl, 'd');
    good.seal(sealOf([decl]));
    good.event(later, 'u');
    expect(good.finish().failures).toEqual([]);
    const forged = new SealChecker({ keys: [pk], requireSigned: true });
    forged.event(decl, 'd');
    forged.seal({ ...sealOf([decl]), signature: new Uint8Array(64) });
    forged.event(later, 'u');
    expect(forged.finish().failures).toEqual(['d', 'u']);
    // A declaration whose payload does not match its content hash is no declaration.
    const tampered = new SealChecker({ keys: [pk], requireSigned: true });
    const bent = { ...decl, contentHash: new Uint8Array(32) };
    tampered.event(bent, 'd');
    tampered.seal(sealOf([bent]));
    tampered.event(later, 'u');
    expect(tampered.finish().failures).toEqual(['u']);
  });
});
