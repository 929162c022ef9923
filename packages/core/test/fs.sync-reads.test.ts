// RealFsOptions.syncReadMaxBytes: small positioned reads are one pread on the calling thread, not a trip through
// libuv's thread pool (where a cold get's tail latency was). Same bytes either way; larger reads keep the pool.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { scrypt } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BatpakError, RealFs } from '../src/index.js';

const BYTES = Uint8Array.from({ length: 256 * 1024 }, (_, i) => (i * 31 + (i >> 8)) & 0xff);

/**
 * Occupies every thread of libuv's pool (4 unless UV_THREADPOOL_SIZE says otherwise) with scrypt work and resolves
 * with the order in which `probe` and the pool's jobs finished.
 */
async function raceThePool(probe: () => Promise<unknown>): Promise<string[]> {
  const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
  const order: string[] = [];
  const jobs = Array.from({ length: threads }, (_, i) => new Promise<void>((resolve, reject) => {
    // ~2^14 × 8 × 128 bytes (16 MiB) of memory-hard work per job: tens of milliseconds each, whatever the machine.
    scrypt(`p${i}`, 's', 32, { N: 2 ** 14, r: 8, p: 1, maxmem: 64 * 2 ** 20 }, (err) => {
      if (err) reject(err);
      order.push('pool');
      resolve();
    });
  }));
  await probe();
  order.push('read');
  await Promise.all(jobs);
  return order;
}

describe('RealFs syncReadMaxBytes', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  function file(): string {
    const d = mkdtempSync(join(tmpdir(), 'batpak-sync-reads-'));
    dirs.push(d);
    const p = join(d, 'f');
    writeFileSync(p, BYTES);
    return p;
  }

  it('reads the same bytes on both sides of the threshold, short at the end of the file', async () => {
    const p = file();
    for (const max of [0, 4096, 64 * 1024]) {
      const f = await new RealFs({ syncReadMaxBytes: max }).open(p);
      for (const [at, len] of [[0, 1], [100, 4095], [100, 4096], [100, 4097], [1000, 70_000], [BYTES.length - 10, 4096]] as const) {
        const got = await f.readAt(at, len);
        expect(Buffer.from(got).equals(Buffer.from(BYTES.subarray(at, at + len))), `max ${max} at ${at} len ${len}`).toBe(true);
        const into = new Uint8Array(len);
        const n = await f.readInto!(at, into);
        expect(n).toBe(Math.min(len, BYTES.length - at));
        expect(Buffer.from(into.subarray(0, n)).equals(Buffer.from(BYTES.subarray(at, at + n)))).toBe(true);
      }
      await f.close();
      await expect(f.readAt(0, 16)).rejects.toThrow();
    }
  });

  it('a small read does not wait behind a busy thread pool; a large one, and any read with 0, does', async () => {
    const p = file();
    const small = await new RealFs().open(p);
    expect((await raceThePool(() => small.readAt(4096, 4096))).indexOf('read')).toBe(0);
    const large = await small.readAt(0, 128 * 1024).then(() => raceThePool(() => small.readAt(0, 128 * 1024)));
    expect(large.indexOf('read')).toBeGreaterThan(0);
    await small.close();
    const off = await new RealFs({ syncReadMaxBytes: 0 }).open(p);
    expect((await raceThePool(() => off.readAt(4096, 4096))).indexOf('read')).toBeGreaterThan(0);
    await off.close();
  }, 60_000);

  it('refuses a threshold that is not a whole number of bytes', () => {
    for (const bad of [-1, 1.5, Number.NaN, Infinity]) {
      let caught: unknown;
      try {
        new RealFs({ syncReadMaxBytes: bad });
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(BatpakError);
      expect((caught as BatpakError).code).toBe('ERR_INVALID_ARGUMENT');
    }
  });
});
