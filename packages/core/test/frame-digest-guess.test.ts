// A digest worker guesses a frame's payload offset from the previous frame's payload length (segment/frame-digest.ts):
// where the guess holds, its offsets and BLAKE3s are the locator's; where a payload merely ends in bytes that look like
// the guessed header, the walk still judges the event by its own parse (INV-CHAIN-RECOMPUTE: never by the guess).
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { blake3Into } from '../src/crypto/blake3.js';
import { Coordinate, Store } from '../src/index.js';
import { digestFrames, locatePayload } from '../src/segment/frame-digest.js';
import { SEGMENT_HEADER_BYTES } from '../src/segment/format.js';

/** A frame whose body is the one-entry map { p: bin }, with the bin header of `form` (8, 16 or 32 bits of length). */
function frame(payload: Uint8Array, form: 8 | 16 | 32): Uint8Array {
  const n = payload.length;
  const head = form === 8 ? [0xc4, n] : form === 16 ? [0xc5, n >> 8, n & 0xff] : [0xc6, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  const body = new Uint8Array([0x81, 0xa1, 0x70, ...head, ...payload]);
  const f = new Uint8Array(12 + body.length);
  const v = new DataView(f.buffer);
  v.setUint32(0, 0x42504b46);
  v.setUint32(4, body.length);
  v.setUint32(8, crc32(body));
  f.set(body, 12);
  return f;
}

const bytesOf = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, k) => (k * 13 + seed) & 0xff);

function digest(frames: Uint8Array[]) {
  const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let at = 0;
  const starts: number[] = [];
  for (const f of frames) {
    starts.push(at);
    all.set(f, at);
    at += f.length;
  }
  const out = { crcOk: new Uint8Array(frames.length), payloadAt: new Int32Array(frames.length), digests: new Uint8Array(32 * frames.length) };
  digestFrames(all, frames.length, out, crc32, blake3Into, locatePayload);
  return { all, starts, out };
}

describe('digestFrames guesses the payload from the previous frame', () => {
  it('gives the locator’s offsets and @noble/hashes’ BLAKE3s, payloads of one size in a row or changing, in every bin form', () => {
    const sizes: [number, 8 | 16 | 32][] = [
      [0, 8], [0, 8], [5, 8], [5, 8], [5, 16], [255, 8], [255, 8], [256, 16], [256, 16], [256, 32],
      [70000, 32], [70000, 32], [300, 16], [300, 16], [17, 8], [17, 32], [17, 32], [17, 8],
    ];
    const payloads = sizes.map(([n], i) => bytesOf(n, i));
    const { all, starts, out } = digest(payloads.map((p, i) => frame(p, sizes[i]![1])));
    for (const [i, p] of payloads.entries()) {
      const to = i + 1 < starts.length ? starts[i + 1]! : all.length;
      expect(out.payloadAt[i], `frame ${i}`).toBe(locatePayload(all, starts[i]! + 12, to));
      expect(out.payloadAt[i], `frame ${i}`).toBe(to - p.length);
      expect(Buffer.from(out.digests.subarray(32 * i, 32 * i + 32)).equals(Buffer.from(nobleBlake3(p))), `frame ${i}`).toBe(true);
      expect(out.crcOk[i]).toBe(1);
    }
  });

  it('a payload ending in what looks like the guessed header is guessed wrong, and only there', () => {
    const fake = new Uint8Array([9, 9, 0xa1, 0x70, 0xc4, 4, 1, 2, 3, 4]);
    const { all, starts, out } = digest([frame(bytesOf(4, 1), 8), frame(fake, 8), frame(bytesOf(10, 2), 8)]);
    // The second frame's last four bytes follow a1 70 c4 04: taken for a 4-byte payload (the locator finds all 10).
    expect(out.payloadAt[1]).toBe(starts[2]! - 4);
    expect(locatePayload(all, starts[1]! + 12, starts[2]!)).toBe(starts[2]! - 10);
    expect(out.payloadAt[2]).toBe(all.length - 10);
    expect(Buffer.from(out.digests.subarray(64, 96)).equals(Buffer.from(nobleBlake3(bytesOf(10, 2))))).toBe(true);
  });

  it('verifyChain judges such an event by its own parse: intact as written, its payload changed on disk reported', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'batpak-guess-'));
    try {
      const store = await Store.open({ dir });
      const c = new Coordinate('guess', 's');
      const fake = new Uint8Array([9, 9, 0xa1, 0x70, 0xc4, 4, 1, 2, 3, 4]);
      await store.appendRaw(c, { category: 1, typeId: 1 }, bytesOf(4, 1));
      const r = await store.appendRaw(c, { category: 1, typeId: 1 }, fake);
      await store.appendRaw(c, { category: 1, typeId: 1 }, bytesOf(4, 3));
      const intact = await store.verifyChain();
      expect(intact.intact).toBe(true);
      expect(intact.eventsChecked).toBe(3);
      await store.close();
      // Change one byte of the second payload before the bytes the guess would hash: only its own parse sees it.
      const { readdirSync, readFileSync, writeFileSync } = await import('node:fs');
      const seg = join(dir, readdirSync(dir).find((f) => f.endsWith('.bps'))!);
      const file = readFileSync(seg);
      const at = file.indexOf(Buffer.from(fake));
      expect(at).toBeGreaterThan(0);
      file[at]! ^= 0x01;
      // Its frame's CRC written anew (a forger's edit): only the content hash can tell.
      for (let f = SEGMENT_HEADER_BYTES; f < file.length; f += 12 + file.readUInt32BE(f + 4)) {
        const length = file.readUInt32BE(f + 4);
        if (f + 12 <= at && at < f + 12 + length) file.writeUInt32BE(crc32(file.subarray(f + 12, f + 12 + length)), f + 8);
      }
      writeFileSync(seg, file);
      const reopened = await Store.open({ dir });
      try {
        const damaged = await reopened.verifyChain();
        expect(damaged.intact).toBe(false);
        expect(damaged.contentHashMismatches).toEqual([r.eventId]);
      } finally {
        await reopened.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
