// verifyChain's digest workers (segment/digest-pool.ts): a worker's CRC verdicts, payload offsets and BLAKE3s equal
// this thread's for the same frames, also in a process started with --input-type=module (workers inherit it, and an
// eval'd worker then has no `require`).

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Coordinate, Store } from '../src/index.js';
import { blake3WasmModule } from '../src/crypto/blake3.js';
import { blake3x4WasmModule } from '../src/crypto/blake3x4.js';
import { DigestPool, inThreadDigester } from '../src/segment/digest-pool.js';
import { digestWorkerSource } from '../src/segment/frame-digest.js';
import { SEGMENT_HEADER_BYTES } from '../src/segment/format.js';

const EVENTS = 40;
let dir: string;
let frames: Uint8Array;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'batpak-digest-pool-'));
  const store = await Store.open({ dir });
  for (let i = 0; i < EVENTS; i++) {
    // Payloads of 0 B up to past 16 KiB: the worker hashes in 16 KiB steps.
    const payload = Uint8Array.from({ length: i * 431 }, (_, k) => (k * 7 + i) & 0xff);
    await store.appendRaw(new Coordinate(`e:${i % 3}`, 's'), { category: 1, typeId: 1 }, payload);
  }
  await store.close();
  const segment = readdirSync(dir).find((f) => f.endsWith('.bps'))!;
  frames = new Uint8Array(readFileSync(join(dir, segment)).subarray(SEGMENT_HEADER_BYTES));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function plain(d: { crcOk: Uint8Array; payloadAt: Int32Array; digests: Uint8Array }) {
  return { crcOk: [...d.crcOk], payloadAt: [...d.payloadAt], digests: Buffer.from(d.digests).toString('hex') };
}

describe('digest workers (INV-VERIFY-FAST-PATH)', () => {
  it('a pool answers exactly as this thread does, a flipped byte included', async () => {
    const damaged = frames.slice();
    damaged[damaged.length - 3]! ^= 0x40;
    const pool = new DigestPool(2);
    try {
      for (const bytes of [frames, damaged]) {
        const here = await inThreadDigester.digest(bytes.slice(), EVENTS);
        const there = await pool.digest(bytes.slice(), EVENTS);
        expect(plain(there)).toEqual(plain(here));
        expect(Buffer.from(there.bytes).equals(Buffer.from(bytes))).toBe(true);
      }
      expect(plain(await inThreadDigester.digest(damaged.slice(), EVENTS)).crcOk.at(-1)).toBe(0);
    } finally {
      await pool.close();
    }
  });

  it("a worker's source runs in a process started with --input-type=module", async () => {
    const here = plain(await inThreadDigester.digest(frames.slice(), EVENTS));
    for (const execArgv of [[], ['--input-type=module']]) {
      const w = new Worker(digestWorkerSource(), { eval: true, execArgv, workerData: { module: blake3WasmModule(), x4: blake3x4WasmModule() } });
      try {
        const bytes = frames.slice();
        const reply = await new Promise<{ crcOk: Uint8Array; payloadAt: Int32Array; digests: Uint8Array }>((resolve, reject) => {
          w.once('message', resolve);
          w.once('error', reject);
          w.postMessage({ id: 1, buffer: bytes.buffer, length: bytes.length, frames: EVENTS }, [bytes.buffer]);
        });
        expect(plain(reply), execArgv.join(' ')).toEqual(here);
      } finally {
        await w.terminate();
      }
    }
  });
});
