// RealFsOptions.syncWriteMaxBytes: a small append with no other append in flight on its file is one writev on the
// calling thread, not a trip through libuv's thread pool; larger appends and appends behind one in flight keep the pool.
// syncLoneWriteMaxBytes: the same, up to a larger size, for an append its caller says is alone (AppendHint.alone).

import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { scrypt } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BatpakError, RealFs } from '../src/index.js';

const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

/**
 * Occupies every thread of libuv's pool (4 unless UV_THREADPOOL_SIZE says otherwise) with tens of milliseconds of
 * scrypt work each, so an append sent to the pool cannot have been written by the time a synchronous check runs.
 */
function busyPool(): Promise<void> {
  const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
  return Promise.all(Array.from({ length: threads }, (_, i) => new Promise<void>((resolve, reject) => {
    scrypt(`p${i}`, 's', 32, { N: 2 ** 14, r: 8, p: 1, maxmem: 64 * 2 ** 20 }, (err) => (err ? reject(err) : resolve()));
  }))).then(() => undefined);
}

describe('RealFs syncWriteMaxBytes', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  function path(): string {
    const d = mkdtempSync(join(tmpdir(), 'batpak-sync-writes-'));
    dirs.push(d);
    return join(d, 'f');
  }

  it('a lone small append is on the file when append() returns, even with the thread pool busy', async () => {
    for (const syncAppends of [false, true]) {
      const p = path();
      const f = await new RealFs().open(p, { create: true, syncAppends });
      const pool = busyPool();
      const pending = f.append([bytes(100, 1), bytes(300, 2)]);
      expect(statSync(p).size, `syncAppends ${syncAppends}`).toBe(400);
      await pending;
      await pool;
      await f.close();
      expect(Buffer.from(readFileSync(p)).equals(Buffer.concat([bytes(100, 1), bytes(300, 2)]))).toBe(true);
    }
  }, 60_000);

  it('with 0, and above the threshold, the append goes through the pool (not yet written when append() returns)', async () => {
    for (const [options, size] of [[{ syncWriteMaxBytes: 0 }, 100], [{ syncWriteMaxBytes: 1024 }, 1025], [{}, 4 * 1024 + 1]] as const) {
      const p = path();
      const f = await new RealFs(options).open(p, { create: true });
      const pool = busyPool();
      const pending = f.append([bytes(size, 3)]);
      expect(statSync(p).size, `${JSON.stringify(options)} ${size}`).toBe(0);
      await pending;
      await pool;
      expect(statSync(p).size).toBe(size);
      await f.close();
    }
  }, 60_000);

  it('a small append while another is in flight goes through the pool too; neither overlaps the other', async () => {
    const p = path();
    const f = await new RealFs({ syncWriteMaxBytes: 1024 }).open(p, { create: true });
    const pool = busyPool();
    const large = f.append([bytes(4096, 4)]);
    const small = f.append([bytes(10, 5)]);
    expect(statSync(p).size).toBe(0);
    await Promise.all([large, small, pool]);
    await f.append([bytes(20, 6)]);
    await f.close();
    // Un-awaited appends keep no order between them (the Fs contract); the awaited third lands after both.
    const got = Buffer.from(readFileSync(p));
    const a = Buffer.concat([bytes(4096, 4), bytes(10, 5), bytes(20, 6)]);
    const b = Buffer.concat([bytes(10, 5), bytes(4096, 4), bytes(20, 6)]);
    expect(got.equals(a) || got.equals(b)).toBe(true);
  }, 60_000);

  it('an append its caller says is alone is written on the calling thread up to syncLoneWriteMaxBytes (default 256 KiB)', async () => {
    for (const syncAppends of [false, true]) {
      const p = path();
      const f = await new RealFs().open(p, { create: true, syncAppends });
      const pool = busyPool();
      const pending = f.append([bytes(40_000, 7), bytes(256 * 1024 - 40_000, 8)], { alone: true });
      expect(statSync(p).size, `syncAppends ${syncAppends}`).toBe(256 * 1024);
      await Promise.all([pending, pool]);
      await f.close();
      expect(Buffer.from(readFileSync(p)).equals(Buffer.concat([bytes(40_000, 7), bytes(256 * 1024 - 40_000, 8)]))).toBe(true);
    }
  }, 60_000);

  it('an alone append above syncLoneWriteMaxBytes, with it 0, or behind one in flight goes through the pool', async () => {
    for (const [options, size] of [[{}, 256 * 1024 + 1], [{ syncLoneWriteMaxBytes: 0 }, 8192], [{ syncLoneWriteMaxBytes: 10_000 }, 10_001]] as const) {
      const p = path();
      const f = await new RealFs(options).open(p, { create: true });
      const pool = busyPool();
      const pending = f.append([bytes(size, 9)], { alone: true });
      expect(statSync(p).size, `${JSON.stringify(options)} ${size}`).toBe(0);
      await Promise.all([pending, pool]);
      expect(statSync(p).size).toBe(size);
      await f.close();
    }
    const p = path();
    const f = await new RealFs().open(p, { create: true });
    const pool = busyPool();
    const first = f.append([bytes(8192, 10)]);
    const second = f.append([bytes(8192, 11)], { alone: true });
    expect(statSync(p).size).toBe(0);
    await Promise.all([first, second, pool]);
    expect(statSync(p).size).toBe(2 * 8192);
    await f.close();
  }, 60_000);

  it('an append its caller says is not alone goes through the pool however small (others may arrive during it)', async () => {
    for (const syncAppends of [false, true]) {
      const p = path();
      const f = await new RealFs().open(p, { create: true, syncAppends });
      const pool = busyPool();
      const pending = f.append([bytes(10, 12)], { alone: false });
      expect(statSync(p).size, `syncAppends ${syncAppends}`).toBe(0);
      await Promise.all([pending, pool]);
      expect(statSync(p).size).toBe(10);
      await f.close();
    }
  }, 60_000);

  it('refuses a threshold that is not a whole number of bytes', () => {
    for (const field of ['syncWriteMaxBytes', 'syncLoneWriteMaxBytes'] as const) {
      for (const bad of [-1, 1.5, Number.NaN, Infinity]) {
        let caught: unknown;
        try {
          new RealFs({ [field]: bad });
        } catch (err) {
          caught = err;
        }
        expect(caught, `${field} ${bad}`).toBeInstanceOf(BatpakError);
        expect((caught as BatpakError).code).toBe('ERR_INVALID_ARGUMENT');
        expect((caught as BatpakError).details).toMatchObject({ field });
      }
    }
  });
});
