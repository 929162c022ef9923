// INV-RUST-READ-VERIFY: flipping any single byte of any frame of the Rust fixture is reported — at open as
// ERR_CORRUPT_SEGMENT naming the file and the damaged frame's offset, as the newest segment's truncation
// evidence (last frame; INV-RUST-RECOVERY-RULE), or by verifyChain naming the event — and never yields a silent wrong answer.
// Also: a payload rewritten with a fixed-up CRC is a hash mismatch.
import { readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { blake3 } from '../src/crypto/blake3.js';
import { isBatpakError } from '../src/errors.js';
import { SeededRng } from '../src/fs/rng.js';
import { decodeRustFrameBody, encodeRustFrameBody, rustFrameBytes } from '../src/rust/frame.js';
import { openRustStore } from '../src/rust/store.js';
import { SimFs } from '../src/entry/testing.js';

const SEGMENT = new Uint8Array(readFileSync(new URL('../../../fixtures/rust-core/store-checkpoint-v5/000001.fbat', import.meta.url)));
const FILE = '/rust/000001.fbat';
/** Frame starts and the end of the frame region (the SDX2 footer starts at 2125). */
const FRAMES = [
  { start: 57, end: 1076, eventId: '019e355b096177919b6f5b15bbad39c3' },
  { start: 1076, end: 1597, eventId: '0000000000000000000000000000ad05' },
  { start: 1597, end: 2125, eventId: '019e355b09697ea0a8505e2da660596d' },
];
const frameOf = (offset: number) => FRAMES.find((f) => offset >= f.start && offset < f.end)!;

type Outcome =
  | { kind: 'refused'; offset: number; file: string }
  | { kind: 'truncated'; recoveredEnd: number; claimedEnd: bigint; events: number }
  | { kind: 'reported'; named: string[] }
  | { kind: 'silent' };

async function outcomeOf(bytes: Uint8Array): Promise<Outcome> {
  const fs = new SimFs(1);
  fs.putFile(FILE, bytes);
  let store;
  try {
    store = await openRustStore('/rust', { fs });
  } catch (err) {
    if (isBatpakError(err, 'ERR_CORRUPT_SEGMENT')) return { kind: 'refused', offset: err.details.offset as number, file: err.details.file as string };
    throw err;
  }
  const evidence = store.segments()[0]!.truncationEvidence;
  if (evidence !== undefined) return { kind: 'truncated', recoveredEnd: evidence.recoveredEnd, claimedEnd: evidence.footerClaimedEnd, events: Number(store.stats().events) };
  const r = await store.verifyChain();
  if (r.intact) return { kind: 'silent' };
  return { kind: 'reported', named: [...r.contentHashMismatches, ...r.danglingLinks, ...r.missingEvents, ...r.corruptFrames.map((c) => c.eventId ?? '')] };
}

describe('Rust reader under single-byte damage (INV-RUST-READ-VERIFY)', () => {
  it('INV-RUST-READ-VERIFY: every byte of the frame region, flipped (xor 0xff and a seeded mask), is refused at its frame — or, in the last frame, recovered to the prefix with truncation evidence', async () => {
    const rng = new SeededRng(20260719, 1);
    const silent: number[] = [];
    let refused = 0;
    let reported = 0;
    let truncated = 0;
    for (let offset = FRAMES[0]!.start; offset < FRAMES[2]!.end; offset++) {
      for (const mask of [0xff, 1 + rng.below(255)]) {
        const bytes = SEGMENT.slice();
        bytes[offset]! ^= mask;
        const o = await outcomeOf(bytes);
        if (o.kind === 'silent') silent.push(offset);
        else if (o.kind === 'truncated') {
          // The newest segment keeps its CRC-valid prefix; the SDX2 footer's claim past it is recorded (Rust, PR #192).
          truncated++;
          expect(frameOf(offset), `flip at ${offset}`).toBe(FRAMES[2]);
          expect(o).toEqual({ kind: 'truncated', recoveredEnd: FRAMES[2]!.start, claimedEnd: BigInt(FRAMES[2]!.end), events: 2 });
        } else if (o.kind === 'refused') {
          refused++;
          // The error names the file and the start of the frame the flipped byte belongs to.
          expect(o.file).toBe(FILE);
          expect(o.offset, `flip at ${offset}`).toBe(frameOf(offset).start);
        } else {
          reported++;
          expect(o.named).toContain(frameOf(offset).eventId);
        }
      }
    }
    expect(silent).toEqual([]);
    expect(truncated).toBe(2 * (FRAMES[2]!.end - FRAMES[2]!.start));
    expect(refused + reported + truncated).toBe(2 * (FRAMES[2]!.end - FRAMES[0]!.start));
  }, 120_000);

  it('INV-RUST-READ-VERIFY: damage after open is reported by verifyChain and by get() with the event and offset', async () => {
    for (const f of FRAMES) {
      for (const offset of [f.start, f.start + 5, f.start + 8, Math.floor((f.start + f.end) / 2), f.end - 1]) {
        const fs = new SimFs(2);
        fs.putFile(FILE, SEGMENT);
        const store = await openRustStore('/rust', { fs });
        fs.corrupt(FILE, offset, 0x20);
        const r = await store.verifyChain();
        expect(r.intact).toBe(false);
        expect(r.corruptFrames).toEqual([expect.objectContaining({ file: FILE, offset: f.start, eventId: f.eventId })]);
        await expect(store.get(f.eventId)).rejects.toMatchObject({ code: 'ERR_CORRUPT_SEGMENT', details: { file: FILE, offset: f.start, eventId: f.eventId } });
      }
    }
  });

  it('INV-RUST-READ-VERIFY: a payload rewritten with a recomputed CRC opens, and verifyChain names the event', async () => {
    const user = FRAMES[1]!;
    const body = decodeRustFrameBody(SEGMENT.subarray(user.start + 8, user.end));
    // Same length, different bytes: {fixture: "checkpoint-v5"} → {fixture: "checkpoint-v6"}.
    const payload = body.payload.slice();
    payload[payload.length - 1] = '6'.charCodeAt(0);
    const forged = rustFrameBytes(encodeRustFrameBody({ ...body, payload }));
    expect(forged.length).toBe(user.end - user.start);
    const bytes = SEGMENT.slice();
    bytes.set(forged, user.start);
    expect(new DataView(bytes.buffer).getUint32(user.start + 4)).toBe(crc32(bytes.subarray(user.start + 8, user.end)));

    const fs = new SimFs(3);
    fs.putFile(FILE, bytes);
    const store = await openRustStore('/rust', { fs });
    // A plain read trusts the CRC only (INV-READ-NOT-TRUSTING); verifyChain recomputes the hash.
    expect((await store.get(user.eventId)).payload).toEqual({ fixture: 'checkpoint-v6' });
    const r = await store.verifyChain();
    expect(r).toMatchObject({ intact: false, contentHashMismatches: [user.eventId], danglingLinks: [], corruptFrames: [] });
    expect((await store.verifyChain({ links: 'rust' })).contentHashMismatches).toEqual([user.eventId]);
  });

  it('a forger who also rewrites the stored hashes is caught by the link to the next event when one exists', async () => {
    // Rewrite frame 0 (the OPEN event): new payload, new event_hash in header and hash_chain, CRC fixed up.
    const open = FRAMES[0]!;
    const body = decodeRustFrameBody(SEGMENT.subarray(open.start + 8, open.end));
    const payload = body.payload.slice();
    payload[payload.length - 1]! ^= 0x01;
    const hash = blake3(payload);
    const forged = rustFrameBytes(encodeRustFrameBody({ ...body, payload, header: { ...body.header, contentHash: hash }, hashChain: { prevHash: body.hashChain!.prevHash, eventHash: hash } }));
    // The hashes' encodings (bytes >= 0x80 take two) change the frame length: splice, shifting later frames.
    const bytes = new Uint8Array(Buffer.concat([SEGMENT.subarray(0, open.start), forged, SEGMENT.subarray(open.end)]));
    const fs = new SimFs(4);
    fs.putFile(FILE, bytes);
    // Every frame is CRC-valid and the SDX2 footer claims nothing past them: the newest segment opens as scanned.
    const store = await openRustStore('/rust', { fs });
    const r = await store.verifyChain();
    // CLOSE's prev_hash names the old OPEN hash: a dangling link under both rules.
    expect(r).toMatchObject({ intact: false, contentHashMismatches: [], danglingLinks: [FRAMES[2]!.eventId] });
    expect((await store.verifyChain({ links: 'rust' })).danglingLinks).toEqual([FRAMES[2]!.eventId]);
  });
});
