// `batpak compact --strategy merge` as the real binary: merges sealed segments under the writer lock; chain and receipts still verify (INV-CLI-EXIT-CODES).
// Guards: exit 0 only for performed/skipped; a locked store or a predicate strategy is refused (2) with nothing changed.
import { randomBytes } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Store, receiptToJSON } from '@batpak/core';
import { runCli } from './helpers/cli.js';
import { ed25519PublicKeyOf } from './helpers/keys.js';
import { makeStore, tempDir } from './helpers/store.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});
async function dir(): Promise<string> {
  const t = await tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}
const segments = async (d: string) => (await readdir(d)).filter((n) => n.endsWith('.bps')).length;

describe('INV-CLI-EXIT-CODES batpak compact', () => {
  it('merges the sealed segments; verify stays intact and every old receipt still verifies', async () => {
    const d = await dir();
    const seed = new Uint8Array(randomBytes(32));
    const { receipts } = await makeStore(d, { events: 60, signingKey: seed, segmentMaxBytes: 1024 });
    const before = await segments(d);
    expect(before).toBeGreaterThan(3);
    // A signed store takes a writer with its key (INV-SIGNED-STORE-UNSIGNED-EVENT): without it, refused.
    expect((await runCli(['compact', d, '--strategy', 'merge'])).stderr).toMatch(/ERR_SIGNING_KEY_REQUIRED/);
    const keyFile = join(await dir(), 'seed.hex');
    await writeFile(keyFile, Buffer.from(seed).toString('hex'));
    const r = await runCli(['compact', d, '--strategy', 'merge', '--json', '--signing-key-file', keyFile]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { outcome: string; segmentsRemoved: number; eventsDropped: number; segmentsBefore: number; segmentsAfter: number };
    expect(report).toMatchObject({ outcome: 'performed', eventsDropped: 0, segmentsBefore: before });
    expect(report.segmentsRemoved).toBeGreaterThan(0);
    expect(report.segmentsAfter).toBe(await segments(d));
    expect(report.segmentsAfter).toBeLessThan(before);

    const file = join(d, 'receipts.jsonl');
    await writeFile(file, receipts.map((x) => JSON.stringify(receiptToJSON(x))).join('\n'));
    const pub = Buffer.from(ed25519PublicKeyOf(seed)).toString('hex');
    const v = await runCli(['verify', d, '--public-key', pub, '--receipts', file, '--json']);
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ result: 'intact', eventsChecked: 60, receipts: { valid: 60, invalid: 0 } });
  });

  it('nothing to merge is skipped (exit 0); human output says so', async () => {
    const d = await dir();
    await makeStore(d, { events: 3 });
    const r = await runCli(['compact', d, '--strategy', 'merge']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^skipped: nothing to merge/);
  });

  it('refuses a locked store, a missing strategy and the predicate strategies with exit 2', async () => {
    const d = await dir();
    await makeStore(d, { events: 20, segmentMaxBytes: 1024 });
    const holder = await Store.open({ dir: d });
    try {
      const locked = await runCli(['compact', d, '--strategy', 'merge']);
      expect(locked.code).toBe(2);
      expect(locked.stderr).toMatch(/^batpak compact: ERR_STORE_LOCKED /);
    } finally {
      await holder.close();
    }
    expect((await runCli(['compact', d])).stderr).toMatch(/ERR_USAGE --strategy is required/);
    expect((await runCli(['compact', d, '--strategy', 'retention'])).stderr).toMatch(/only merge runs from the command line/);
    expect((await runCli(['compact', join(d, 'missing'), '--strategy', 'merge'])).code).toBe(2);
  });
});
