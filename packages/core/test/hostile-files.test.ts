// Hostile and leftover files on a real filesystem (issue 17 items 1, 3, 8): FIFOs and symlink loops are
// refused with a typed error and never opened blocking (INV-HOSTILE-FILES); secret-bearing files are 0600
// whatever the umask (INV-PRIVATE-FILES); a killed writer's keyset temp is gone before a shred returns (INV-TEMP-CLEANUP).
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatpakError, Coordinate, defineEvent, RealFs, Store } from '../src/index.js';
import { decodeKeyset } from '../src/keyset/file.js';

const Note = defineEvent<{ text: string }>({ category: 3, typeId: 1, name: 'Note' });
const linux = process.platform === 'linux';
let work: string;
let n = 0;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'batpak-hostile-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const freshDir = async (): Promise<string> => {
  const dir = join(work, `d${++n}`);
  await mkdir(dir);
  return dir;
};

/** Fails fast instead of hanging the worker: the old code blocked forever in open() on a FIFO. */
async function refusal(p: Promise<unknown>, ms = 3000): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve('hang'), ms);
  });
  try {
    return await Promise.race([p.then(() => 'opened', (err: unknown) => err), hang]);
  } finally {
    clearTimeout(timer);
  }
}

function expectCode(err: unknown, code: string): void {
  expect(err).toBeInstanceOf(BatpakError);
  expect((err as BatpakError).code).toBe(code);
}

describe.runIf(linux)('INV-HOSTILE-FILES: files that are not regular files', () => {
  it('a FIFO named 000001.bps: Store.open and openReadOnly refuse with ERR_NOT_REGULAR_FILE, no hang', async () => {
    const dir = await freshDir();
    execFileSync('mkfifo', [join(dir, '000001.bps')]);
    expectCode(await refusal(Store.openReadOnly(dir)), 'ERR_NOT_REGULAR_FILE');
    expectCode(await refusal(Store.open({ dir })), 'ERR_NOT_REGULAR_FILE');
  });

  it('a FIFO as keyset.bpk or as the lock file is refused the same way', async () => {
    const dir = await freshDir();
    const s = await Store.open({ dir, payloadEncryption: {} });
    await s.append(new Coordinate('a', 's'), Note, { text: 'x' });
    await s.close();
    await rm(join(dir, 'keyset.bpk'));
    execFileSync('mkfifo', [join(dir, 'keyset.bpk')]);
    expectCode(await refusal(Store.openReadOnly(dir, { payloadEncryption: {} })), 'ERR_NOT_REGULAR_FILE');
    const other = await freshDir();
    execFileSync('mkfifo', [join(other, '.batpak.lock')]);
    expectCode(await refusal(Store.open({ dir: other })), 'ERR_NOT_REGULAR_FILE');
  });

  it('a symlink loop named as a segment is ERR_NOT_REGULAR_FILE', async () => {
    const dir = await freshDir();
    await symlink('000001.bps', join(dir, '000001.bps'));
    expectCode(await refusal(Store.openReadOnly(dir)), 'ERR_NOT_REGULAR_FILE');
    expectCode(await refusal(Store.open({ dir })), 'ERR_NOT_REGULAR_FILE');
  });

  it('RealFs.open of a FIFO fails at once with errno ENOTREG, for reading and for writing', async () => {
    const dir = await freshDir();
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const fs = new RealFs();
    expect(await refusal(fs.open(fifo))).toMatchObject({ code: 'ENOTREG' });
    expect(await refusal(fs.open(fifo, { write: true }))).toMatchObject({ code: expect.stringMatching(/^(ENOTREG|ENXIO)$/) });
    expect(await refusal(fs.open(dir))).toMatchObject({ code: 'EISDIR' });
  });

  it('a device or a socket named as a segment is ERR_NOT_REGULAR_FILE', async () => {
    expect(await refusal(new RealFs().open('/dev/null'))).toMatchObject({ code: 'ENOTREG' });
    const dir = await freshDir();
    await symlink('/dev/zero', join(dir, '000001.bps'));
    expectCode(await refusal(Store.openReadOnly(dir)), 'ERR_NOT_REGULAR_FILE');
    const other = await freshDir();
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(other, '000001.bps'), resolve));
    try {
      expectCode(await refusal(Store.openReadOnly(other)), 'ERR_NOT_REGULAR_FILE');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('INV-PRIVATE-FILES: secret-bearing files are 0600 regardless of umask', () => {
  it('keyset.bpk, the checkpoint and writeFileAtomic temps are created 0600 under umask 000', async () => {
    const dir = await freshDir();
    const old = process.umask(0);
    try {
      const s = await Store.open({ dir, payloadEncryption: {} });
      await s.append(new Coordinate('a', 's'), Note, { text: 'secret' });
      await s.close();
      await new RealFs().writeFileAtomic(join(dir, 'other.bin'), new Uint8Array([1, 2, 3]));
    } finally {
      process.umask(old);
    }
    for (const name of ['keyset.bpk', 'index.checkpoint', 'other.bin']) {
      expect(((await stat(join(dir, name))).mode & 0o777).toString(8), name).toBe('600');
    }
  });
});

describe('INV-TEMP-CLEANUP: a killed writer\'s keyset temp cannot outlive a shred', () => {
  it('a .keyset.bpk.tmp-* left by a kill is removed at open: after shredScope no file in the directory holds the key', async () => {
    const dir = await freshDir();
    const coord = new Coordinate('customer:7', 'eu');
    let s = await Store.open({ dir, payloadEncryption: {} });
    const receipt = await s.append(coord, Note, { text: 'erase me' });
    await s.close();
    const image = new Uint8Array(await readFile(join(dir, 'keyset.bpk')));
    const key = decodeKeyset(image, 'entity', 'keyset.bpk').keys[0]!.key;
    // What a process killed between the temp's fsync and its rename leaves: a whole image under the temp name.
    await copyFile(join(dir, 'keyset.bpk'), join(dir, '.keyset.bpk.tmp-4242-0123456789ab'));
    // Other store files' temps are debris too; a user's unrelated dot-file is not touched.
    await writeFile(join(dir, '.index.checkpoint.tmp-4242-aa'), 'x');
    await writeFile(join(dir, '.notes.tmp-1'), 'mine');
    s = await Store.open({ dir, payloadEncryption: {} });
    expect((await s.shredScope({ entity: coord })).status).toBe('destroyed');
    await expect(s.get(receipt.eventId)).rejects.toMatchObject({ code: 'ERR_PAYLOAD_SHREDDED' });
    await s.close();
    const names = await readdir(dir);
    expect(names.filter((x) => x.includes('.tmp-'))).toEqual(['.notes.tmp-1']);
    for (const name of names) {
      const bytes = await readFile(join(dir, name));
      expect(bytes.indexOf(Buffer.from(key)), `${name} still holds the destroyed key`).toBe(-1);
    }
  });
});
