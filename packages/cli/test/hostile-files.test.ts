// Hostile files and typed errors at the CLI (issue 17 items 8 and 9; INV-HOSTILE-FILES, INV-TYPED-ERRORS): a
// FIFO or symlink loop where a store file belongs is refused at once (exit 2, ERR_NOT_REGULAR_FILE), never
// read blocking; an errno is printed as a documented code, never bare (`ENOENT ENOENT: …`).
import { execFileSync } from 'node:child_process';
import { mkdir, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { codeOf, messageOf } from '../src/exit.js';
import { runCli } from './helpers/cli.js';
import { makeStore, tempDir } from './helpers/store.js';

const linux = process.platform === 'linux';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function storeDir(options: Parameters<typeof makeStore>[1] = {}): Promise<string> {
  const t = await tempDir();
  cleanups.push(t.cleanup);
  const dir = join(t.dir, 'store');
  await mkdir(dir);
  await makeStore(dir, options);
  return dir;
}

/** One line `batpak <cmd>: <CODE> …` on stderr, exit 2, and quickly (the old CLI hung on a FIFO until killed). */
async function expectRefusal(args: string[], code: string): Promise<string> {
  const r = await runCli(args, { timeoutMs: 15_000 });
  expect(r.signal, `batpak ${args.join(' ')} hung`).toBeNull();
  expect(r.stderr).toMatch(new RegExp(`^batpak \\w+: ${code} `));
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.code).toBe(2);
  return r.stderr;
}

describe.runIf(linux)('INV-HOSTILE-FILES: the CLI refuses files that are not regular files', () => {
  it('a FIFO named like the newest segment: verify, inspect, export and compact exit 2 with ERR_NOT_REGULAR_FILE', async () => {
    const dir = await storeDir();
    execFileSync('mkfifo', [join(dir, '000009.bps')]);
    await expectRefusal(['verify', dir], 'ERR_NOT_REGULAR_FILE');
    await expectRefusal(['inspect', dir], 'ERR_NOT_REGULAR_FILE');
    await expectRefusal(['export', dir, '--jsonl'], 'ERR_NOT_REGULAR_FILE');
    await expectRefusal(['compact', dir, '--strategy', 'merge'], 'ERR_NOT_REGULAR_FILE');
  }, 90_000);

  it('a FIFO as a Rust batpak segment: verify and inspect exit 2 with ERR_NOT_REGULAR_FILE', async () => {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    execFileSync('mkfifo', [join(t.dir, '000001.fbat')]);
    await expectRefusal(['verify', t.dir], 'ERR_NOT_REGULAR_FILE');
    await expectRefusal(['inspect', t.dir], 'ERR_NOT_REGULAR_FILE');
  }, 30_000);

  it('a FIFO as keyset.bpk: verify exits 2 with ERR_NOT_REGULAR_FILE', async () => {
    const dir = await storeDir({ encryption: 'entity' });
    await rm(join(dir, 'keyset.bpk'));
    execFileSync('mkfifo', [join(dir, 'keyset.bpk')]);
    await expectRefusal(['verify', dir], 'ERR_NOT_REGULAR_FILE');
  }, 30_000);

  it('shred beside a keyset that is a symlink loop says so, not ERR_ENCRYPTION_NOT_CONFIGURED', async () => {
    const dir = await storeDir({ encryption: 'entity' });
    await rm(join(dir, 'keyset.bpk'));
    await symlink('keyset.bpk', join(dir, 'keyset.bpk'));
    await expectRefusal(['shred', dir, '--entity', 'acct:1'], 'ERR_NOT_REGULAR_FILE');
  }, 30_000);
});

describe('INV-TYPED-ERRORS: the CLI never prints a bare errno', () => {
  it('export --out into a missing directory prints ERR_NOT_FOUND with the errno at the end', async () => {
    const dir = await storeDir();
    const stderr = await expectRefusal(['export', dir, '--jsonl', '--out', join(dir, 'no', 'such', 'out.jsonl')], 'ERR_NOT_FOUND');
    expect(stderr).not.toMatch(/: E[A-Z]+ /);
    expect(stderr).toContain('(ENOENT)');
  }, 30_000);

  it('maps each errno to its documented code', () => {
    const e = (code: string) => Object.assign(new Error(`${code}: something, open '/x'`), { code });
    expect(codeOf(e('ENOENT'))).toBe('ERR_NOT_FOUND');
    expect(codeOf(e('EACCES'))).toBe('ERR_PERMISSION_DENIED');
    expect(codeOf(e('EPERM'))).toBe('ERR_PERMISSION_DENIED');
    expect(codeOf(e('ELOOP'))).toBe('ERR_NOT_REGULAR_FILE');
    expect(codeOf(e('ENOSPC'))).toBe('ERR_NO_SPACE');
    expect(codeOf(e('EIO'))).toBe('ERR_IO');
    expect(codeOf(Object.assign(new Error('x'), { code: 'timeout' }))).toBe('timeout');
    expect(messageOf(e('EACCES'))).toBe("something, open '/x' (EACCES)");
  });
});

describe('INV-READER-CONSISTENT: batpak verify beside a busy writer', () => {
  it('exits 0 every time while a writer in another process appends and compacts', async () => {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    const dir = join(t.dir, 'busy');
    const { Coordinate, Store } = await import('@batpak/core');
    const writer = await Store.open({ dir, segmentMaxBytes: 500 });
    let n = 0;
    const more = async (k: number) => {
      for (let i = 0; i < k; i++, n++) await writer.appendRaw(new Coordinate(`acct:${n % 3}`, 'bank'), { category: 1, typeId: 0 }, new TextEncoder().encode(`payload-${n}-${'p'.repeat(30)}`));
    };
    await more(30);
    let stop = false;
    let compactions = 0;
    const churn = (async () => {
      while (!stop) {
        await more(6);
        if ((await writer.compact({ strategy: 'merge' })).outcome === 'performed') compactions++;
      }
    })();
    const results: { code: number | null; stderr: string; stdout: string }[] = [];
    try {
      for (let i = 0; i < 8; i++) results.push(await runCli(['verify', dir, '--json'], { timeoutMs: 30_000 }));
    } finally {
      stop = true;
      await churn;
      await writer.close();
    }
    expect(results.filter((r) => r.code !== 0).map((r) => `${r.code} ${r.stderr}${r.stdout}`)).toEqual([]);
    expect(compactions).toBeGreaterThan(2);
  }, 120_000);
});
