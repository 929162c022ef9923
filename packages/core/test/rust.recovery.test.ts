// INV-RUST-RECOVERY-RULE: damaged or legacy segments, built from the shared Rust fixture, open or are refused
// exactly as Rust batpak decides since its PR #192 (RUST-INTEROP.md § Segment and frame rules): a footer row is
// never proof that a frame is missing; the newest segment keeps its longest valid prefix and records why; a
// sealed segment whose footer cannot be trusted is refused.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isBatpakError } from '../src/errors.js';
import { encodeRustSegmentHead } from '../src/rust/segment.js';
import { openRustStore, type RustStore } from '../src/rust/store.js';
import { SimFs } from '../src/entry/testing.js';

const SEGMENT = new Uint8Array(readFileSync(new URL('../../../fixtures/rust-core/store-checkpoint-v5/000001.fbat', import.meta.url)));
const DIR = '/rust';
/** The fixture: frames at 57, 1076 and 1597; its SDX2 footer (3 entries of 162 bytes, no CRC) starts at 2125. */
const LAST_FRAME = 1597;
const FRAMES_END = 2125;
const ENTRY = 162;
const IDS = ['019e355b096177919b6f5b15bbad39c3', '0000000000000000000000000000ad05', '019e355b09697ea0a8505e2da660596d'];

async function open(files: Record<string, Uint8Array>): Promise<RustStore> {
  const fs = new SimFs(24);
  for (const [name, bytes] of Object.entries(files)) fs.putFile(`${DIR}/${name}`, bytes);
  return openRustStore(DIR, { fs });
}

async function ids(store: RustStore): Promise<string[]> {
  const out: string[] = [];
  for await (const e of store.query()) out.push(e.header.eventId);
  return out;
}

/** The fixture with one more SDX2 row: a copy of the last row that claims a frame at `offset`. */
function withForgedRow(offset: bigint): Uint8Array {
  const dv = new DataView(SEGMENT.buffer, SEGMENT.byteOffset, SEGMENT.length);
  const count = dv.getUint32(SEGMENT.length - 8, true);
  const entriesEnd = SEGMENT.length - 16;
  const forged = SEGMENT.slice(entriesEnd - ENTRY, entriesEnd);
  new DataView(forged.buffer).setBigUint64(110, offset, true); // frame offset; the length and event hash stay the real ones
  const out = new Uint8Array(SEGMENT.length + ENTRY);
  out.set(SEGMENT.subarray(0, entriesEnd), 0);
  out.set(forged, entriesEnd);
  out.set(SEGMENT.subarray(entriesEnd), entriesEnd + ENTRY);
  new DataView(out.buffer).setUint32(out.length - 8, count + 1, true);
  return out;
}

describe('the recovery rule of Rust batpak (INV-RUST-RECOVERY-RULE)', () => {
  it('INV-RUST-RECOVERY-RULE: a forged extra footer row over intact frames does not refuse the store: every event opens, the claim is recorded', async () => {
    const store = await open({ '000001.fbat': withForgedRow(BigInt(FRAMES_END)) });
    expect(await ids(store)).toEqual(IDS);
    expect((await store.verifyChain()).intact).toBe(true);
    // The row is kept as suspicion: its claimed end (offset + the copied length 528) is the truncation evidence.
    expect(store.segments()[0]).toMatchObject({ framesEnd: FRAMES_END, truncationEvidence: { recoveredEnd: FRAMES_END, footerClaimedEnd: BigInt(FRAMES_END + 528) } });
    expect(store.warnings.join('\n')).toMatch(/valid frames end at 2125 but the untrusted footer claims 2653/);
  });

  it('INV-RUST-RECOVERY-RULE: a bit-flipped last frame under an SDX2 footer in the newest segment: the prefix opens and the truncation is recorded', async () => {
    const bytes = SEGMENT.slice();
    bytes[LAST_FRAME + 300]! ^= 0x04;
    const store = await open({ '000001.fbat': bytes });
    expect(await ids(store)).toEqual(IDS.slice(0, 2));
    expect(store.segments()[0]).toMatchObject({ framesEnd: LAST_FRAME, tornTail: undefined, truncationEvidence: { recoveredEnd: LAST_FRAME, footerClaimedEnd: BigInt(FRAMES_END) } });
    expect(store.warnings.join('\n')).toMatch(/valid frames end at 1597 but the untrusted footer claims 2125/);
    await expect(store.get(IDS[2]!)).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
  });

  it('INV-RUST-RECOVERY-RULE: an older (sealed) segment with a legacy SDX2 footer is refused, though every frame in it is intact', async () => {
    const newest = encodeRustSegmentHead({ version: 1, flags: 0, createdNs: 1779011620000000000n, segmentId: 2n });
    let refused: unknown;
    try {
      await open({ '000001.fbat': SEGMENT, '000002.fbat': newest });
    } catch (err) {
      refused = err;
    }
    expect(isBatpakError(refused, 'ERR_CORRUPT_SEGMENT')).toBe(true);
    expect(refused).toMatchObject({ details: { file: `${DIR}/000001.fbat`, offset: FRAMES_END } });
    expect((refused as Error).message).toMatch(/sealed segment under an untrusted SDX2 footer/);
    // Alone, the same bytes are the newest segment and open.
    expect(await ids(await open({ '000001.fbat': SEGMENT }))).toEqual(IDS);
  });

  it('INV-RUST-RECOVERY-RULE: no footer and a complete last frame with a bad CRC in the newest segment: the prefix opens, the frame is a torn tail', async () => {
    const bytes = SEGMENT.slice(0, FRAMES_END);
    bytes[LAST_FRAME + 300]! ^= 0x04;
    const store = await open({ '000001.fbat': bytes });
    expect(await ids(store)).toEqual(IDS.slice(0, 2));
    expect(store.segments()[0]).toMatchObject({ footer: 'none', framesEnd: LAST_FRAME, tornTail: { offset: LAST_FRAME, bytes: FRAMES_END - LAST_FRAME } });
    expect(store.segments()[0]!.tornTail!.reason).toMatch(/CRC mismatch/);
    expect(store.warnings.join('\n')).toMatch(/torn tail of 528 bytes at offset 1597/);
    expect((await store.verifyChain()).intact).toBe(true);

    // The same damage in a sealed segment, or with a valid frame after it, stays corruption.
    const newest = encodeRustSegmentHead({ version: 1, flags: 0, createdNs: 1779011620000000000n, segmentId: 2n });
    await expect(open({ '000001.fbat': bytes, '000002.fbat': newest })).rejects.toMatchObject({ code: 'ERR_CORRUPT_SEGMENT', details: { offset: LAST_FRAME } });
    const middle = SEGMENT.slice(0, FRAMES_END);
    middle[1076 + 300]! ^= 0x04;
    await expect(open({ '000001.fbat': middle })).rejects.toMatchObject({ code: 'ERR_CORRUPT_SEGMENT', details: { offset: 1076 } });
  });
});
