// SimFs fault injection: every planted kind fires on exactly the call it names and is logged.
// Invariant checked: planted-fault-actually-fires, for every op and every kind that applies to it.

import { describe, expect, it } from 'vitest';
import { isBatpakError } from '../src/errors.js';
import { FAULT_KINDS_BY_OP, FS_OPS, SimFs, type FsOp } from '../src/entry/testing.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (u: Uint8Array): string => new TextDecoder().decode(u);
const DATA = enc('0123456789abcdef');

async function caught(p: Promise<unknown>): Promise<{ code?: string; message?: string } | undefined> {
  try {
    await p;
  } catch (err) {
    return err as { code?: string; message?: string };
  }
  return undefined;
}

/** A SimFs with /d/f holding DATA durably, plus one write handle on it. */
async function setup(seed = 5) {
  const fs = new SimFs(seed);
  await fs.mkdir('/d', { recursive: true });
  fs.putFile('/d/f', DATA);
  const file = await fs.open('/d/f', { write: true });
  return { fs, file };
}

type Setup = Awaited<ReturnType<typeof setup>>;

/** One call of each op, against the setup above. */
const CALLS: { readonly [O in FsOp]: (s: Setup) => Promise<unknown> } = {
  open: ({ fs }) => fs.open('/d/f'),
  readAt: ({ file }) => file.readAt(0, 4),
  append: ({ file }) => file.append([enc('xyz')]),
  writeAt: ({ file }) => file.writeAt(2, enc('xyz')),
  fsync: ({ file }) => file.fsync(),
  truncate: ({ file }) => file.truncate(3),
  size: ({ file }) => file.size(),
  stat: ({ fs }) => fs.stat('/d/f'),
  readdir: ({ fs }) => fs.readdir('/d'),
  mkdir: ({ fs }) => fs.mkdir('/d/sub'),
  rename: ({ fs }) => fs.rename('/d/f', '/d/g'),
  remove: ({ fs }) => fs.remove('/d/f'),
  syncDir: ({ fs }) => fs.syncDir('/d'),
  writeFileAtomic: ({ fs }) => fs.writeFileAtomic('/d/f', enc('replaced')),
  lock: ({ fs }) => fs.lock('/d/.lock'),
};

describe('planted-fault-actually-fires', () => {
  for (const op of FS_OPS) {
    for (const kind of ['EIO', 'ENOSPC'] as const) {
      it(`${op} ${kind}: throws, logs, changes nothing`, async () => {
        const s = await setup();
        const before = { files: [...s.fs.snapshot()], dir: await s.fs.readdir('/d') };
        s.fs.failOn(op, 1, kind);
        const err = await caught(CALLS[op](s));
        expect(err?.code).toBe(kind);
        expect(s.fs.faults()).toEqual([
          expect.objectContaining({ seq: 1, op, kind, call: s.fs.stats().calls[op], source: 'planted', epoch: 0 }),
        ]);
        expect(s.fs.pendingFaults()).toBe(0);
        expect([...s.fs.snapshot()]).toEqual(before.files);
        expect(await s.fs.readdir('/d')).toEqual(before.dir);
        // The fault was for one call only: the next one goes through.
        await CALLS[op](s);
      });
    }
  }

  for (const op of ['append', 'writeAt'] as const) {
    it(`${op} short-write: a strict prefix lands, then EIO`, async () => {
      const s = await setup();
      await s.file.truncate(0);
      s.fs.failOn(op, 1, 'short-write');
      const data = enc('ABCDEFGHIJKLMNOPQRSTUVWXYZ');
      const err = await caught(op === 'append' ? s.file.append([data.subarray(0, 10), data.subarray(10)]) : s.file.writeAt(0, data));
      expect(err?.code).toBe('EIO');
      const fault = s.fs.faults()[0];
      expect(fault).toMatchObject({ op, kind: 'short-write' });
      const kept = fault?.bytes ?? -1;
      expect(kept).toBeGreaterThanOrEqual(0);
      expect(kept).toBeLessThan(data.length);
      expect(dec(s.fs.inspect('/d/f')?.current ?? new Uint8Array())).toBe(dec(data.subarray(0, kept)));
    });

    it(`${op} bit-flip: succeeds, stores exactly one flipped bit`, async () => {
      const s = await setup();
      s.fs.failOn(op, 1, 'bit-flip');
      const data = enc('the quick brown fox');
      const at = op === 'append' ? DATA.length : 0;
      await (op === 'append' ? s.file.append([data]) : s.file.writeAt(0, data));
      const fault = s.fs.faults()[0];
      expect(fault).toMatchObject({ op, kind: 'bit-flip' });
      const stored = (s.fs.inspect('/d/f')?.current ?? new Uint8Array()).subarray(at, at + data.length);
      const offset = (fault?.offset ?? -1) - at;
      const bit = fault?.bit ?? -1;
      const expected = data.slice();
      expected[offset] = (expected[offset] ?? 0) ^ (1 << bit);
      expect([...stored]).toEqual([...expected]);
      expect(stored).not.toEqual(data);
    });
  }

  it('readAt short-read: returns a strict prefix, file unchanged', async () => {
    const s = await setup();
    s.fs.failOn('readAt', 1, 'short-read');
    const got = await s.file.readAt(2, 10);
    expect(got.length).toBeLessThan(10);
    expect(dec(got)).toBe(dec(DATA.subarray(2, 2 + got.length)));
    expect(s.fs.faults()[0]).toMatchObject({ kind: 'short-read', bytes: got.length });
    expect(dec(await s.file.readAt(2, 10))).toBe(dec(DATA.subarray(2, 12)));
  });

  it('readAt bit-flip: one bit of the returned copy, file unchanged', async () => {
    const s = await setup();
    s.fs.failOn('readAt', 1, 'bit-flip');
    const got = await s.file.readAt(0, DATA.length);
    const diff = [...got].map((b, i) => b ^ (DATA[i] ?? 0));
    expect(diff.filter((d) => d !== 0)).toHaveLength(1);
    const fault = s.fs.faults()[0];
    expect(diff[fault?.offset ?? -1]).toBe(1 << (fault?.bit ?? -1));
    expect([...(await s.file.readAt(0, DATA.length))]).toEqual([...DATA]);
  });

  it('fsync-lie: fsync reports success, the data is lost at crash', async () => {
    const s = await setup();
    await s.file.append([enc('+acked')]);
    s.fs.failOn('fsync', 1, 'fsync-lie');
    await s.file.fsync();
    expect(s.fs.faults()).toEqual([expect.objectContaining({ op: 'fsync', kind: 'fsync-lie', path: '/d/f' })]);
    expect(dec(s.fs.inspect('/d/f')?.durable ?? new Uint8Array())).toBe(dec(DATA));
    s.fs.crash({ tear: false });
    expect(dec(s.fs.inspect('/d/f')?.current ?? new Uint8Array())).toBe(dec(DATA));
  });

  it('syncDir fsync-lie: the names are lost at crash', async () => {
    const s = await setup();
    await s.fs.writeFileAtomic('/d/new', enc('n'));
    await s.fs.rename('/d/new', '/d/renamed');
    s.fs.failOn('syncDir', 1, 'fsync-lie');
    await s.fs.syncDir('/d');
    s.fs.crash();
    expect(await s.fs.readdir('/d')).toEqual(['f', 'new']);
  });

  it('nth counts that op’s calls from now', async () => {
    const s = await setup();
    await s.file.append([enc('1')]);
    s.fs.failOn('append', 3, 'EIO');
    await s.file.append([enc('2')]);
    await s.file.readAt(0, 1); // other ops do not count
    await s.file.append([enc('3')]);
    expect((await caught(s.file.append([enc('4')])))?.code).toBe('EIO');
    await s.file.append([enc('5')]);
    expect(dec(s.fs.inspect('/d/f')?.current ?? new Uint8Array()).slice(DATA.length)).toBe('1235');
    expect(s.fs.faults()[0]).toMatchObject({ call: 4 });
  });

  it('faults inside writeFileAtomic hit its primitive steps and clean up the temp file', async () => {
    const s = await setup();
    s.fs.failOn('rename', 1, 'ENOSPC');
    expect((await caught(s.fs.writeFileAtomic('/d/f', enc('new'))))?.code).toBe('ENOSPC');
    expect(await s.fs.readdir('/d')).toEqual(['f']);
    expect(dec(s.fs.inspect('/d/f')?.current ?? new Uint8Array())).toBe(dec(DATA));
  });

  it('rejects plans that cannot fire', () => {
    const fs = new SimFs(1);
    const bad = [
      () => fs.failOn('open', 1, 'short-read' as never),
      () => fs.failOn('fsync', 1, 'bit-flip' as never),
      () => fs.failOn('append', 0, 'EIO'),
      () => fs.failOn('append', 1.5, 'EIO'),
      () => fs.failOn('nope' as FsOp, 1, 'EIO'),
      () => fs.setFaultRate({ probability: 2, kinds: ['EIO'] }),
    ];
    for (const f of bad) {
      let err: unknown;
      try {
        f();
      } catch (e) {
        err = e;
      }
      expect(isBatpakError(err, 'ERR_INVALID_ARGUMENT')).toBe(true);
    }
  });

  it('every op has an entry in the kind table', () => {
    for (const op of FS_OPS) expect(FAULT_KINDS_BY_OP[op]).toContain('EIO');
  });
});

describe('random faults', () => {
  it('fire only on the listed ops and kinds, at about the rate', async () => {
    const s = await setup(11);
    s.fs.setFaultRate({ probability: 0.25, kinds: ['EIO', 'fsync-lie', 'short-read'], ops: ['fsync', 'size'] });
    let failed = 0;
    for (let i = 0; i < 400; i++) {
      await s.file.readAt(0, 4);
      if ((await caught(s.file.size())) !== undefined) failed++;
      await s.file.fsync().catch(() => undefined);
    }
    const log = s.fs.faults();
    expect(log.every((f) => f.source === 'random' && (f.op === 'fsync' || f.op === 'size'))).toBe(true);
    expect(log.filter((f) => f.op === 'size').every((f) => f.kind === 'EIO')).toBe(true);
    expect(log.some((f) => f.kind === 'fsync-lie')).toBe(true);
    expect(failed).toBeGreaterThan(50);
    expect(failed).toBeLessThan(150);
    s.fs.clearFaults();
    const n = log.length;
    for (let i = 0; i < 50; i++) await s.file.fsync();
    expect(s.fs.faults()).toHaveLength(n);
  });

  it('stats count calls, bytes and faults', async () => {
    const s = await setup();
    s.fs.failOn('readAt', 1, 'EIO');
    await caught(s.file.readAt(0, 4));
    await s.file.readAt(0, 4);
    await s.file.append([enc('xy')]);
    expect(s.fs.stats()).toMatchObject({
      calls: expect.objectContaining({ open: 1, readAt: 2, append: 1 }),
      crashes: 0,
      faultsInjected: 1,
      bytesRead: 4,
      bytesWritten: 2,
      openHandles: 1,
      locksHeld: 0,
    });
  });
});
