// The chunk hasher over crypto/blake3x4-wasm.ts (segment/frame-digest.ts blake3x4Hasher): its CRC verdicts are zlib's
// (bodies under 768 B; longer ones left to zlib), and every digest of its four-lane SIMD BLAKE3 equals @noble/hashes'
// whatever the lengths in a row (full and partial jobs of four, a length change within
// what would be a job, the 64-byte block edges, 0 and 1024 B), longer payloads go to the fallback, frames with no
// payload noted keep zeros, and a hasher reused for a smaller chunk leaves nothing of the last one.
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { blake3Into } from '../src/crypto/blake3.js';
import { blake3x4WasmModule } from '../src/crypto/blake3x4.js';
import { blake3x4Hasher } from '../src/segment/frame-digest.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * Frames whose bodies are five bytes and a payload of each of `lengths`, one after another (the last followed by
 * junk), with each payload's offset; the frames numbered in `badCrc` carry a wrong CRC.
 */
function chunkOf(lengths: number[], badCrc: ReadonlySet<number> = new Set()) {
  const starts: number[] = [];
  let at = 0;
  for (const n of lengths) {
    starts.push(at + 12 + 5);
    at += 12 + 5 + n;
  }
  const bytes = Uint8Array.from({ length: at + 64 }, (_, k) => (k * 131 + 7) & 0xff);
  const v = new DataView(bytes.buffer);
  for (const [i, n] of lengths.entries()) {
    const f = starts[i]! - 17;
    v.setUint32(f, 0x42504b46);
    v.setUint32(f + 4, 5 + n);
    v.setUint32(f + 8, (crc32(bytes.subarray(f + 12, f + 17 + n)) ^ (badCrc.has(i) ? 0x100 : 0)) >>> 0);
  }
  return { bytes, starts };
}

function run(h: ReturnType<typeof blake3x4Hasher>, lengths: number[], skip: ReadonlySet<number> = new Set(), badCrc: ReadonlySet<number> = new Set()) {
  const { bytes, starts } = chunkOf(lengths, badCrc);
  const digests = new Uint8Array(32 * lengths.length).fill(0xee);
  const crcOk = new Uint8Array(lengths.length).fill(9);
  h.begin(bytes, lengths.length, digests, crcOk);
  // Bodies under 768 B get their verdict here; longer ones are left to zlib (2).
  expect([...crcOk]).toEqual(lengths.map((n, i) => (5 + n >= 768 ? 2 : badCrc.has(i) ? 0 : 1)));
  for (let i = 0; i < lengths.length; i++) if (!skip.has(i)) h.hashInto(bytes, starts[i]!, starts[i]! + lengths[i]!, digests, 32 * i);
  h.end();
  for (let i = 0; i < lengths.length; i++) {
    const want = skip.has(i) ? new Uint8Array(32) : nobleBlake3(bytes.subarray(starts[i]!, starts[i]! + lengths[i]!));
    expect(hex(digests.subarray(32 * i, 32 * i + 32)), `frame ${i} of ${lengths[i]} B`).toBe(hex(want));
  }
}

describe('blake3x4Hasher', () => {
  it('hashes payloads of every length up to 1 KiB, alone, in rows of one length and in rows that change', () => {
    const calls: number[] = [];
    const h = blake3x4Hasher(blake3x4WasmModule(), (s, f, t, d, a) => {
      calls.push(t - f);
      blake3Into(s, f, t, d, a);
    });
    const edges = [0, 1, 3, 31, 32, 63, 64, 65, 127, 128, 129, 191, 255, 256, 257, 511, 512, 513, 960, 1000, 1023, 1024];
    run(h, edges);
    for (const n of [0, 64, 256, 300, 1024]) for (const rowOf of [1, 2, 3, 4, 5, 8, 9]) run(h, Array(rowOf).fill(n));
    run(h, [256, 256, 256, 100, 256, 256, 256, 256, 256, 7, 7, 1024, 1024, 1024, 1024, 1024, 0]);
    expect(calls).toEqual([]);
  });

  it('hands payloads over 1 KiB to the fallback, and leaves zeros where nothing was noted', () => {
    const calls: number[] = [];
    const h = blake3x4Hasher(blake3x4WasmModule(), (s, f, t, d, a) => {
      calls.push(t - f);
      blake3Into(s, f, t, d, a);
    });
    run(h, [1025, 256, 256, 70000, 256, 2048, 1024], new Set());
    expect(calls).toEqual([1025, 70000, 2048]);
    run(h, [256, 256, 256, 256, 256, 256], new Set([1, 4]), new Set([0, 4]));
    // CRCs of bodies from 5 B to past the 768 B line, every length of a 16-byte step's tail, right and wrong.
    const lengths = Array.from({ length: 40 }, (_, i) => i).concat([750, 762, 763, 764, 900]);
    run(h, lengths, new Set(), new Set(lengths.map((_, i) => i).filter((i) => i % 3 === 0)));
    // A large chunk, then a small one: the small one's digests are its own.
    run(h, Array(2000).fill(300));
    run(h, [10, 20], new Set([0]));
  });

  it('a payload given from other bytes than the chunk is hashed by the fallback', () => {
    const calls: number[] = [];
    const h = blake3x4Hasher(blake3x4WasmModule(), (s, f, t, d, a) => {
      calls.push(t - f);
      blake3Into(s, f, t, d, a);
    });
    const chunk = chunkOf([40, 43]).bytes.subarray(0, 117);
    const other = Uint8Array.from({ length: 50 }, (_, k) => k);
    const digests = new Uint8Array(64);
    h.begin(chunk, 2, digests, new Uint8Array(2));
    h.hashInto(other, 10, 40, digests, 0);
    h.hashInto(chunk, 0, 100, digests, 32);
    h.end();
    expect(calls).toEqual([30]);
    expect(hex(digests.subarray(0, 32))).toBe(hex(nobleBlake3(other.subarray(10, 40))));
    expect(hex(digests.subarray(32))).toBe(hex(nobleBlake3(chunk.subarray(0, 100))));
  });
});
