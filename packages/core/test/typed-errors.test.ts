// Every error leaving Store.open is a BatpakError with a documented code (issue 17 item 9, INV-TYPED-ERRORS):
// errno failures of any Fs call — permissions, a FIFO, a vanished file — never escape bare. Tests run as
// root, where chmod cannot deny anything, so the denials are injected through an Fs wrapper.
import { describe, expect, it } from 'vitest';
import { BatpakError, Coordinate, defineEvent, Store, type FsLock, type FsStat } from '../src/index.js';
import { KillableFs, SimFs } from '../src/entry/testing.js';
import { decodeKeyset } from '../src/keyset/file.js';
import { atomicTempPath, atomicTempTarget } from '../src/fs/atomic-write.js';
import { leftoverTemps } from '../src/store/leftovers.js';

const Note = defineEvent<{ text: string }>({ category: 3, typeId: 1, name: 'Note' });

const errno = (code: string, syscall: string, path: string) => Object.assign(new Error(`${code}: ${syscall} '${path}'`), { code, syscall, path });

/** An Fs whose chosen calls fail with an errno, as a real filesystem would for an unwritable directory. */
class DenyingFs extends KillableFs {
  constructor(
    inner: SimFs,
    private readonly deny: { lock?: string; readdir?: string; stat?: string; mkdir?: string },
  ) {
    super(inner);
  }
  override async lock(path: string): Promise<FsLock> {
    if (this.deny.lock !== undefined) throw errno(this.deny.lock, 'open', path);
    return super.lock(path);
  }
  override async readdir(path: string): Promise<string[]> {
    if (this.deny.readdir !== undefined) throw errno(this.deny.readdir, 'scandir', path);
    return super.readdir(path);
  }
  override async stat(path: string): Promise<FsStat | null> {
    if (this.deny.stat !== undefined && path.endsWith('.log')) throw errno(this.deny.stat, 'stat', path);
    return super.stat(path);
  }
  override async mkdir(path: string, options?: { readonly recursive?: boolean }): Promise<void> {
    if (this.deny.mkdir !== undefined) throw errno(this.deny.mkdir, 'mkdir', path);
    return super.mkdir(path, options);
  }
}

async function openError(p: Promise<Store>): Promise<BatpakError> {
  try {
    const s = await p;
    await s.close();
  } catch (err) {
    expect(err, String(err)).toBeInstanceOf(BatpakError);
    return err as BatpakError;
  }
  throw new Error('the open succeeded');
}

async function seeded(): Promise<SimFs> {
  const sim = new SimFs(1);
  const s = await Store.open({ dir: '/db', fs: sim, segmentMaxBytes: 300 });
  for (let i = 0; i < 6; i++) await s.append(new Coordinate('e', 's'), Note, { text: `n${i}` });
  await s.compact({ strategy: 'merge' });
  await s.close();
  return sim;
}

describe('INV-TYPED-ERRORS: Store.open never throws a bare errno', () => {
  it('a directory it may not write (the lock cannot be created): ERR_PERMISSION_DENIED with the errno', async () => {
    const err = await openError(Store.open({ dir: '/db', fs: new DenyingFs(await seeded(), { lock: 'EACCES' }) }));
    expect(err.code).toBe('ERR_PERMISSION_DENIED');
    expect(err.details.errno).toBe('EACCES');
    expect(err.retryable).toBe(false);
  });

  it('a store directory it cannot create: ERR_PERMISSION_DENIED', async () => {
    const err = await openError(Store.open({ dir: '/db', fs: new DenyingFs(new SimFs(2), { mkdir: 'EPERM' }) }));
    expect(err.code).toBe('ERR_PERMISSION_DENIED');
  });

  it('a directory it cannot list, writable or read-only: ERR_PERMISSION_DENIED', async () => {
    const sim = await seeded();
    expect((await openError(Store.open({ dir: '/db', fs: new DenyingFs(sim, { readdir: 'EACCES' }) }))).code).toBe('ERR_PERMISSION_DENIED');
    expect((await openError(Store.openReadOnly('/db', { fs: new DenyingFs(sim, { readdir: 'EACCES' }) }))).code).toBe('ERR_PERMISSION_DENIED');
  });

  it('a symlink loop or a vanished file met anywhere in the open is typed (ELOOP → ERR_NOT_REGULAR_FILE, ENOENT → ERR_IO)', async () => {
    const sim = await seeded();
    expect((await openError(Store.openReadOnly('/db', { fs: new DenyingFs(sim, { stat: 'ELOOP' }) }))).code).toBe('ERR_NOT_REGULAR_FILE');
    const err = await openError(Store.openReadOnly('/db', { fs: new DenyingFs(sim, { stat: 'ENOENT' }) }));
    expect(err.code).toBe('ERR_IO');
    expect(err.details.errno).toBe('ENOENT');
  });
});

describe('INV-SHRED-NO-COPIES: shredScope does not return while a copy of the destroyed key remains', () => {
  it('a keyset temp that a failed flush of this process could not remove is gone once the shred returns', async () => {
    const sim = new SimFs(3);
    const s = await Store.open({ dir: '/db', fs: sim, payloadEncryption: {} });
    const coord = new Coordinate('customer:1', 'eu');
    await s.append(coord, Note, { text: 'first' });
    const key = decodeKeyset(sim.inspect('/db/keyset.bpk')!.current, 'entity', 'keyset.bpk').keys[0]!.key;
    // The next flush (minting bob's key, with alice's still live) fails at its rename, and removing its
    // temp fails too: a full image with alice's key stays beside the keyset.
    sim.failOn('rename', 1, 'EIO').failOn('remove', 1, 'EIO');
    await expect(s.append(new Coordinate('bob', 'eu'), Note, { text: 'x' })).rejects.toBeInstanceOf(BatpakError);
    const temps = () => sim.listFiles().filter((f) => f.includes('.keyset.bpk.tmp-'));
    expect(temps()).toHaveLength(1);
    expect((await s.shredScope({ entity: coord })).status).toBe('destroyed');
    expect(temps()).toEqual([]);
    for (const [path, info] of sim.snapshot()) {
      expect(Buffer.from(info.current).indexOf(Buffer.from(key)), `${path} still holds the destroyed key`).toBe(-1);
    }
    // The removal is durable: a power loss right after the shred does not bring the copy back.
    sim.crash();
    expect(temps()).toEqual([]);
    for (const [path, info] of sim.snapshot()) expect(Buffer.from(info.current).indexOf(Buffer.from(key)), path).toBe(-1);
  });

  it('a shred whose scan for copies fails is not reported done', async () => {
    const sim = new SimFs(4);
    const s = await Store.open({ dir: '/db', fs: sim, payloadEncryption: {} });
    await s.append(new Coordinate('a', 's'), Note, { text: 'x' });
    sim.failOn('rename', 1, 'EIO').failOn('remove', 1, 'EIO');
    await expect(s.append(new Coordinate('b', 's'), Note, { text: 'y' })).rejects.toBeInstanceOf(BatpakError);
    // The flush lands, but the directory cannot be listed to find the old copy: the shred fails.
    sim.failOn('readdir', 1, 'EIO');
    await expect(s.shredScope({ entity: 'a' })).rejects.toMatchObject({ code: 'ERR_IO' });
    // Retried, it completes and leaves no copy.
    await s.shredScope({ entity: 'a' });
    expect(sim.listFiles().filter((f) => f.includes('.tmp-'))).toEqual([]);
    await s.close();
  });
});

describe('INV-TEMP-CLEANUP: one temp-file grammar for every Fs', () => {
  it('atomicTempPath and atomicTempTarget agree; leftoverTemps picks only the store files\' temps', () => {
    expect(atomicTempPath('/db/keyset.bpk', '12-ab')).toBe('/db/.keyset.bpk.tmp-12-ab');
    expect(atomicTempPath('keyset.bpk', 'x')).toBe('.keyset.bpk.tmp-x');
    expect(atomicTempTarget('.keyset.bpk.tmp-12-ab')).toBe('keyset.bpk');
    for (const name of ['keyset.bpk.tmp-1', '.keyset.bpk.tmp-', '..tmp-1', '.tmp-1', 'keyset.bpk', '.keyset.bpk']) expect(atomicTempTarget(name), name).toBeUndefined();
    const names = ['.keyset.bpk.tmp-1-a', '.index.checkpoint.tmp-sim-3', '.compaction.log.tmp-proc-1', '.compaction.pending.tmp-9', '.000003.bpi.tmp-sim-4', '.notes.tmp-1', '.x.bpi.tmp-1', '000001.bps', '.batpak.lock', '.batpak.lock.takeover-ab-0'];
    expect(leftoverTemps(names)).toEqual(['.keyset.bpk.tmp-1-a', '.index.checkpoint.tmp-sim-3', '.compaction.log.tmp-proc-1', '.compaction.pending.tmp-9', '.000003.bpi.tmp-sim-4']);
  });

  it('a writable open removes leftover temps durably before it reads; a read-only open leaves them alone', async () => {
    const sim = new SimFs(5);
    const s = await Store.open({ dir: '/db', fs: sim, payloadEncryption: {} });
    await s.append(new Coordinate('a', 's'), Note, { text: 'x' });
    await s.close();
    sim.putFile('/db/.keyset.bpk.tmp-77-1', sim.inspect('/db/keyset.bpk')!.current);
    sim.putFile('/db/.compaction.log.tmp-77-2', new Uint8Array([1]));
    const ro = await Store.openReadOnly('/db', { fs: sim, payloadEncryption: {} });
    await ro.close();
    expect(sim.listFiles().filter((f) => f.includes('.tmp-'))).toHaveLength(2);
    const w = await Store.open({ dir: '/db', fs: sim, payloadEncryption: {} });
    expect(sim.listFiles().filter((f) => f.includes('.tmp-'))).toEqual([]);
    sim.crash();
    expect(sim.listFiles().filter((f) => f.includes('.tmp-'))).toEqual([]);
    void w;
  });
});
