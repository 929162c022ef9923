// FsOpenOptions.syncAppends: a handle whose appends are durable by themselves (O_DSYNC on RealFs), so the segment
// writer needs no fsync per commit group. SimFs models it as a write then an fsync, each a point a crash can hit.

import { constants, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RealFs } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';

/** The open flags (fdinfo) of this process's descriptors on `path`: Linux only, empty elsewhere. */
function openFlags(path: string): number[] {
  if (!existsSync('/proc/self/fdinfo')) return [];
  const out: number[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) !== path) continue;
      const m = /^flags:\s*([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
      if (m !== null) out.push(parseInt(m[1]!, 8));
    } catch {
      // A descriptor closed meanwhile.
    }
  }
  return out;
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (u: Uint8Array): string => new TextDecoder().decode(u);

async function contents(fs: SimFs, path: string): Promise<string> {
  const f = await fs.open(path);
  try {
    return dec(await f.readAt(0, await f.size()));
  } finally {
    await f.close();
  }
}

describe('syncAppends (INV-DURABLE-ACK)', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('SimFs: an append through a syncAppends handle survives a crash with no fsync; a plain one does not', async () => {
    for (const syncAppends of [true, false]) {
      const sim = new SimFs(3);
      const f = await sim.open('/f', { create: true, exclusive: true });
      await f.append([enc('A')]);
      await f.fsync();
      await f.close();
      await sim.syncDir('/');
      const g = await sim.open('/f', { write: true, syncAppends });
      expect(g.appendsDurable).toBe(syncAppends);
      await g.append([enc('B')]);
      sim.crash({ tear: false });
      expect(await contents(sim, '/f')).toBe(syncAppends ? 'AB' : 'A');
    }
  });

  it('SimFs: an fsync fault during a durable append fails the append (a lie makes nothing durable)', async () => {
    const sim = new SimFs(4);
    const f = await sim.open('/f', { create: true, exclusive: true, syncAppends: true });
    sim.failOn('fsync', 1, 'EIO');
    await expect(f.append([enc('X')])).rejects.toMatchObject({ code: 'EIO' });
    sim.failOn('fsync', 1, 'fsync-lie');
    await f.append([enc('Y')]);
    sim.crash({ tear: false });
    expect((await sim.stat('/f'))?.size ?? 0).toBe(0);
  });

  it('RealFs: syncAppends opens the append descriptor O_DSYNC and says so; reads and positioned writes are unchanged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'batpak-dsync-'));
    dirs.push(dir);
    const fs = new RealFs();
    const path = join(dir, 'f');
    const f = await fs.open(path, { create: true, exclusive: true, syncAppends: true });
    expect(f.appendsDurable).toBe(true);
    if (existsSync('/proc/self/fdinfo')) {
      // Two descriptors: positioned I/O (no O_DSYNC) and appends (O_APPEND | O_DSYNC).
      const flags = openFlags(path);
      expect(flags.filter((x) => (x & constants.O_APPEND) !== 0 && (x & constants.O_DSYNC) === constants.O_DSYNC)).toHaveLength(1);
    }
    await f.append([enc('ab'), enc('cd')]);
    await f.writeAt(0, enc('X'));
    expect(dec(await f.readAt(0, 4))).toBe('Xbcd');
    await f.close();
    const plain = await fs.open(path, { write: true });
    expect(plain.appendsDurable).toBe(false);
    expect(openFlags(path).some((x) => (x & constants.O_DSYNC) === constants.O_DSYNC)).toBe(false);
    await plain.close();
    const ro = await fs.open(path);
    expect(ro.appendsDurable).toBe(false);
    await ro.close();
  });
});
