// Store.open({ signal }) (INV-OPEN-ABORT): an abort while the open scans the log rejects with ERR_ABORTED,
// releases the writer lock and leaves every file as it was (a torn tail is not cut by an aborted open).
import { describe, expect, it } from 'vitest';
import { BatpakError, Coordinate, defineEvent, Store, type Fs } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';

const Note = defineEvent<{ text: string }>({ category: 3, typeId: 1, name: 'Note' });
const alice = new Coordinate('user:alice', 'notes');

/** `fs`, but the first touch of a path ending in `suffix` runs `onTouch` first. */
function touching(fs: SimFs, suffix: string, onTouch: () => void): Fs {
  return new Proxy(fs, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        if (typeof args[0] === 'string' && args[0].endsWith(suffix)) onTouch();
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** A store of several segments whose newest ends in a torn frame. */
async function storeWithTornTail(): Promise<SimFs> {
  const fs = new SimFs(9);
  const store = await Store.open({ dir: '/s', fs, segmentMaxBytes: 2048, checkpoint: 'off', onWarning: () => undefined });
  for (let i = 0; i < 60; i++) await store.append(alice, Note, { text: `note ${i} ${'x'.repeat(60)}` });
  await store.close();
  const newest = fs.listFiles().filter((f) => f.endsWith('.bps')).sort().at(-1)!;
  const f = await fs.open(newest, { write: true });
  // The start of a frame header (its magic, then a length byte): what an append cut short leaves. Zeros alone would
  // not do: a zero tail is preallocated space, not a torn write (FORMAT.md § Preallocated tail).
  await f.append([new Uint8Array([0x42, 0x50, 0x4b, 0x46, 0])]);
  await f.fsync();
  await f.close();
  return fs;
}

const files = (fs: SimFs) => new Map([...fs.snapshot()].map(([p, info]) => [p, Buffer.from(info.current).toString('hex')]));

describe('Store.open with a signal', () => {
  it('an abort during the scan rejects with ERR_ABORTED, releases the lock and writes nothing', async () => {
    const fs = await storeWithTornTail();
    const segments = fs.listFiles().filter((f) => f.endsWith('.bps'));
    expect(segments.length).toBeGreaterThan(3);
    const before = files(fs);
    const ac = new AbortController();
    const err = await Store.open({ dir: '/s', fs: touching(fs, '000003.bps', () => ac.abort(new Error('shutting down'))), signal: ac.signal, checkpoint: 'off' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BatpakError);
    expect((err as BatpakError).code).toBe('ERR_ABORTED');
    expect(((err as BatpakError).cause as Error).message).toBe('shutting down');
    expect(files(fs)).toEqual(before); // the torn tail is still there, nothing created
    // The lock was released: a plain open works, and it is this open that cuts the torn tail.
    const warnings: string[] = [];
    const store = await Store.open({ dir: '/s', fs, checkpoint: 'off', onWarning: (_m, code) => warnings.push(code) });
    expect(store.stats().events).toBe(60n);
    expect(warnings).toContain('BATPAK_RECOVERY_TAIL_CUT');
    await store.close();
  });

  it('an already aborted signal creates nothing, not even the directory', async () => {
    const fs = new SimFs(1);
    const err = await Store.open({ dir: '/fresh', fs, signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect((err as BatpakError).code).toBe('ERR_ABORTED');
    expect(await fs.stat('/fresh')).toBeNull();
  });

  it('a read-only open is aborted the same way', async () => {
    const fs = await storeWithTornTail();
    const ac = new AbortController();
    const err = await Store.openReadOnly('/s', { fs: touching(fs, '000002.bps', () => ac.abort()), signal: ac.signal }).catch((e: unknown) => e);
    expect((err as BatpakError).code).toBe('ERR_ABORTED');
  });

  it('refuses a signal that is not an AbortSignal', async () => {
    const err = await Store.open({ dir: '/s', fs: new SimFs(1), signal: {} as AbortSignal }).catch((e: unknown) => e);
    expect((err as BatpakError).code).toBe('ERR_INVALID_OPTION');
  });
});
