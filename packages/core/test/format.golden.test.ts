// Golden vectors of the on-disk format (FORMAT.md): format 1 (still read) is pinned in fixtures/core/format-v1.json,
// format 2 (written; INV-SEAL-HEADERS) in format-v2.json. Regenerate only for a deliberate format change:
// UPDATE_GOLDENS=1 npx vitest run test/format.golden.test.ts
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { unpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { blake3 } from '../src/crypto/blake3.js';
import { decodeSegmentHeader, encodeSegmentHeader, FORMAT_VERSION } from '../src/segment/format.js';
import { decodeFrameBody, encodeEventFrame, encodeSealFrame, type EventFrame, type SealFrame } from '../src/segment/frame.js';
import { groupMessage } from '../src/receipt/cover.js';
import { headerDigest, headerLeaf, signedRoot } from '../src/receipt/headers.js';

const GOLDEN = new URL('../../../fixtures/core/format-v1.json', import.meta.url);
const GOLDEN_V2 = new URL('../../../fixtures/core/format-v2.json', import.meta.url);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const fill = (n: number, v: number) => new Uint8Array(n).fill(v);

const payload = new Uint8Array(Buffer.from('82a6616d6f756e740aa46e6f7465a56669727374', 'hex')); // {amount:10,note:"first"}
const plainEvent: EventFrame = {
  type: 0,
  id: new Uint8Array(Buffer.from('019e355b0961700080000000000000aa', 'hex')),
  globalSequence: 1,
  entitySequence: 1,
  kind: 0x1001,
  entity: 'account:1',
  scope: 'bank',
  committedAt: 1_779_011_619_169,
  prevHash: fill(32, 0),
  contentHash: blake3(payload),
  payloadVersion: 1,
  flags: 0,
  payload,
};
const batchRawEvent: EventFrame = {
  ...plainEvent,
  id: fill(16, 0x11),
  globalSequence: 70_000,
  entitySequence: 300,
  kind: 0x2007,
  prevHash: fill(32, 0xab),
  payload: new Uint8Array([1, 2, 3]),
  contentHash: blake3(new Uint8Array([1, 2, 3])),
  payloadVersion: 0,
  flags: 0x01 | 0x04,
  batch: { first: 69_999, index: 1, count: 2 },
};
const sealedEncrypted: EventFrame = {
  ...plainEvent,
  id: fill(16, 0x22),
  globalSequence: 2 ** 33,
  entitySequence: 2,
  flags: 0,
  encryption: { scope: new Uint8Array([0x01, ...Buffer.from('account:1')]), nonce: fill(24, 0x5a), generation: 0 },
  extensions: new Map([['batpak.signing.downgrade', new Uint8Array([0x81])], ['app.audit', new Uint8Array([5, 3])]]),
};
const seal: SealFrame = {
  type: 1,
  firstSequence: 69_999,
  lastSequence: 70_000,
  count: 2,
  keyId: fill(32, 0x33),
  root: fill(32, 0x44),
  signature: fill(64, 0x55),
};

function current(): Record<string, string> {
  return {
    segment_header: hex(encodeSegmentHeader({ version: 1, flags: 0, segmentId: 1, createdAtMs: 1_779_011_619_169 })),
    event_frame_plain: hex(encodeEventFrame(plainEvent)),
    event_frame_batch_raw_sealed: hex(encodeEventFrame(batchRawEvent)),
    event_frame_encrypted_extensions: hex(encodeEventFrame(sealedEncrypted)),
    seal_frame: hex(encodeSealFrame(seal)),
  };
}

/** Format 2: the segment header's version, the seal's header digest, and how the digest is built. */
const sealV2: SealFrame = { ...seal, headerDigest: headerDigest([headerLeaf(batchRawEvent)]) };
function currentV2(): Record<string, string> {
  const leaves = [plainEvent, batchRawEvent, sealedEncrypted, { ...sealedEncrypted, flags: 0x02, encryption: { ...sealedEncrypted.encryption!, generation: 3 } }].map(headerLeaf);
  return {
    segment_header: hex(encodeSegmentHeader({ version: FORMAT_VERSION, flags: 0, segmentId: 1, createdAtMs: 1_779_011_619_169 })),
    header_leaf_plain: hex(leaves[0]!),
    header_leaf_batch_raw_sealed: hex(leaves[1]!),
    header_leaf_encrypted: hex(leaves[2]!),
    header_leaf_tombstoned_generation_3: hex(leaves[3]!),
    header_digest_of_all_four: hex(headerDigest(leaves)),
    signed_message: hex(groupMessage(signedRoot(seal.root, sealV2.headerDigest))),
    seal_frame: hex(encodeSealFrame(sealV2)),
  };
}

if (process.env.UPDATE_GOLDENS === '1' || !existsSync(GOLDEN)) {
  writeFileSync(GOLDEN, `${JSON.stringify(current(), null, 2)}\n`);
}
if (process.env.UPDATE_GOLDENS === '1' || !existsSync(GOLDEN_V2)) {
  writeFileSync(GOLDEN_V2, `${JSON.stringify(currentV2(), null, 2)}\n`);
}
const golden = JSON.parse(readFileSync(GOLDEN, 'utf8')) as Record<string, string>;
const goldenV2 = JSON.parse(readFileSync(GOLDEN_V2, 'utf8')) as Record<string, string>;

describe('INV-SEAL-HEADERS: format v2 golden vectors', () => {
  it('reproduces every golden byte for byte', () => {
    expect(FORMAT_VERSION).toBe(2);
    expect(currentV2()).toEqual(goldenV2);
  });

  it('segment headers of format 1 and 2 are read; 0 and 3 are refused', () => {
    const at = (v: number) => decodeSegmentHeader(encodeSegmentHeader({ version: v, flags: 0, segmentId: 1, createdAtMs: 1 }));
    expect(Buffer.from(goldenV2.segment_header!, 'hex').readUInt16BE(4)).toBe(2);
    expect(at(1)).toMatchObject({ ok: true, header: { version: 1 } });
    expect(at(2)).toMatchObject({ ok: true, header: { version: 2 } });
    expect(at(0)).toEqual({ ok: false, reason: 'unsupported segment format version 0' });
    expect(at(3)).toEqual({ ok: false, reason: 'unsupported segment format version 3' });
  });

  it('a format-2 seal carries hd between root and sig; the tombstone bit alone does not change a header leaf', () => {
    const body = Buffer.from(goldenV2.seal_frame!, 'hex').subarray(12);
    expect(Object.keys(unpack(body) as object)).toEqual(['t', 'g0', 'g1', 'c', 'kid', 'root', 'hd', 'sig']);
    expect(decodeFrameBody(new Uint8Array(body))).toEqual(sealV2);
    expect(headerLeaf({ ...plainEvent, flags: 0x02 })).toEqual(headerLeaf(plainEvent));
    expect(goldenV2.signed_message!.startsWith(hex(new TextEncoder().encode('batpak.group.v1\0')))).toBe(true);
  });

  it('a header leaf is the byte layout FORMAT.md gives (built here by hand)', () => {
    const u64 = (n: number) => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64BE(BigInt(n));
      return b;
    };
    // batchRawEvent: flags 0x05, version 0, batch [69999, 1, 2], no encryption.
    const bytes = Buffer.concat([
      Buffer.from('batpak.frame-header.v1\0'),
      Buffer.from(batchRawEvent.id),
      u64(70_000),
      u64(0x05),
      u64(0),
      Buffer.from([1]),
      u64(69_999),
      u64(1),
      u64(2),
      Buffer.from([0]),
    ]);
    expect(hex(blake3(new Uint8Array(bytes)))).toBe(goldenV2.header_leaf_batch_raw_sealed);
    const enc = sealedEncrypted.encryption!;
    const scopeLen = Buffer.alloc(4);
    scopeLen.writeUInt32BE(enc.scope.length);
    const encrypted = Buffer.concat([
      Buffer.from('batpak.frame-header.v1\0'),
      Buffer.from(sealedEncrypted.id),
      u64(2 ** 33),
      u64(0),
      u64(1),
      Buffer.from([0, 1]),
      scopeLen,
      Buffer.from(enc.scope),
      Buffer.from(enc.nonce),
      u64(0),
    ]);
    expect(hex(blake3(new Uint8Array(encrypted)))).toBe(goldenV2.header_leaf_encrypted);
    const leaves = ['header_leaf_plain', 'header_leaf_batch_raw_sealed', 'header_leaf_encrypted', 'header_leaf_tombstoned_generation_3'].map((k) => Buffer.from(goldenV2[k]!, 'hex'));
    const count = Buffer.alloc(4);
    count.writeUInt32BE(4);
    expect(hex(blake3(new Uint8Array(Buffer.concat([Buffer.from('batpak.seal-headers.v1\0'), count, ...leaves]))))).toBe(goldenV2.header_digest_of_all_four);
  });
});

describe('INV-FORMAT-GOLDEN: format v1 golden vectors', () => {
  it('reproduces every golden byte for byte', () => {
    expect(current()).toEqual(golden);
  });

  it('segment header: magic, version, id, time, CRC at the documented offsets', () => {
    const b = Buffer.from(golden.segment_header!, 'hex');
    expect(b.length).toBe(32);
    expect(b.subarray(0, 4).toString('latin1')).toBe('BPSG');
    expect(b.readUInt16BE(4)).toBe(1);
    expect(b.readBigUInt64BE(8)).toBe(1n);
    expect(b.readBigUInt64BE(16)).toBe(1_779_011_619_169n);
    expect(b.readUInt32BE(24)).toBe(crc32(b.subarray(0, 24)));
    expect(decodeSegmentHeader(new Uint8Array(b))).toEqual({
      ok: true,
      header: { version: 1, flags: 0, segmentId: 1, createdAtMs: 1_779_011_619_169 },
    });
  });

  it('event frame: header fields and a body that an independent msgpack decoder reads as FORMAT.md says', () => {
    const b = Buffer.from(golden.event_frame_plain!, 'hex');
    expect(b.subarray(0, 4).toString('latin1')).toBe('BPKF');
    const len = b.readUInt32BE(4);
    expect(len).toBe(b.length - 12);
    const body = b.subarray(12);
    expect(b.readUInt32BE(8)).toBe(crc32(body));
    const m = unpack(body) as Record<string, unknown>;
    expect(Object.keys(m)).toEqual(['t', 'id', 'g', 'n', 'k', 'e', 's', 'ts', 'ph', 'ch', 'v', 'f', 'p']);
    expect(m.t).toBe(0);
    expect(hex(m.id as Uint8Array)).toBe('019e355b0961700080000000000000aa');
    expect([m.g, m.n, m.k, m.e, m.s, Number(m.ts), m.v, m.f]).toEqual([1, 1, 0x1001, 'account:1', 'bank', 1_779_011_619_169, 1, 0]);
    expect(hex(m.ch as Uint8Array)).toBe(hex(blake3(m.p as Uint8Array)));
    expect(unpack(m.p as Uint8Array)).toEqual({ amount: 10, note: 'first' });
    expect(decodeFrameBody(new Uint8Array(body))).toMatchObject({ entity: 'account:1', globalSequence: 1 });
  });

  it('optional keys b, x, r appear in order and decode back', () => {
    const batch = unpack(Buffer.from(golden.event_frame_batch_raw_sealed!, 'hex').subarray(12)) as Record<string, unknown>;
    expect(Object.keys(batch)).toEqual(['t', 'id', 'g', 'n', 'k', 'e', 's', 'ts', 'ph', 'ch', 'v', 'f', 'b', 'p']);
    expect(batch.b).toEqual([69_999, 1, 2]);
    expect(batch.f).toBe(5);
    const enc = Buffer.from(golden.event_frame_encrypted_extensions!, 'hex').subarray(12);
    const m = unpack(enc) as Record<string, unknown>;
    expect(Object.keys(m)).toEqual(['t', 'id', 'g', 'n', 'k', 'e', 's', 'ts', 'ph', 'ch', 'v', 'f', 'x', 'r', 'p']);
    expect(Number(m.g)).toBe(2 ** 33);
    expect(Object.keys(m.r as object)).toEqual(['app.audit', 'batpak.signing.downgrade']);
    const back = decodeFrameBody(new Uint8Array(enc));
    expect(back.type).toBe(0);
    if (back.type === 0) {
      expect(back.encryption?.nonce).toEqual(fill(24, 0x5a));
      expect([...(back.extensions?.keys() ?? [])]).toEqual(['app.audit', 'batpak.signing.downgrade']);
    }
  });

  it('seal frame decodes to its fields', () => {
    const body = Buffer.from(golden.seal_frame!, 'hex').subarray(12);
    expect(Object.keys(unpack(body) as object)).toEqual(['t', 'g0', 'g1', 'c', 'kid', 'root', 'sig']);
    expect(decodeFrameBody(new Uint8Array(body))).toEqual(seal);
  });
});
