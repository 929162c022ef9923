// `batpak shred` as the real binary: destroys a key under the writer lock, prints the shred receipt, and refuses a locked store (INV-CLI-EXIT-CODES).
// Guards: a held lock means exit 2, one line, keyset untouched; a store without a keyset never gets one.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Coordinate, Store } from '@batpak/core';
import { runCli } from './helpers/cli.js';
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

describe('INV-CLI-EXIT-CODES batpak shred', () => {
  it('shreds an entity, prints the shred event, and leaves the chain intact', async () => {
    const d = await dir();
    const { receipts } = await makeStore(d, { events: 6, encryption: 'entity' });
    const r = await runCli(['shred', d, '--entity', 'acct:1', '--scope', 'bank']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^shredded entity "acct:1" \(scope "bank"\) \(granularity entity\)/);
    expect(r.stdout).toMatch(/shred event [0-9a-f]{32} {2}sequence 7 /);

    const store = await Store.openReadOnly(d, { payloadEncryption: { granularity: 'entity' } });
    try {
      await expect(store.get(receipts[1]!.eventId)).rejects.toMatchObject({ code: 'ERR_PAYLOAD_SHREDDED' });
      expect((await store.get(receipts[0]!.eventId)).shredded).toBe(false);
    } finally {
      await store.close();
    }
    expect((await runCli(['verify', d])).code).toBe(0);
    const exported = (await runCli(['export', d, '--jsonl'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as { eventId: string; shredded: boolean });
    expect(exported.filter((e) => e.shredded).map((e) => e.eventId)).toEqual([receipts[1]!.eventId, receipts[4]!.eventId]);
  });

  it('--json prints the shred receipt as one object; a second shred destroys nothing and says so', async () => {
    const d = await dir();
    await makeStore(d, { events: 3, encryption: 'entity' });
    const first = await runCli(['shred', d, '--entity', 'acct:0', '--json']);
    expect(first.code).toBe(0);
    const report = JSON.parse(first.stdout) as { destroyed: boolean; status: string; selector: unknown; shredEvent: { eventId: string; globalSequence: string; kind: unknown; coordinate: unknown } };
    expect(report).toMatchObject({ status: 'destroyed', keysDestroyed: 1, destroyed: true, selector: { entity: 'acct:0' }, shredEvent: { globalSequence: '4', kind: { category: 0, typeId: 0x10 } } });
    expect(report.shredEvent.eventId).toMatch(/^[0-9a-f]{32}$/);
    const again = await runCli(['shred', d, '--entity', 'acct:0', '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ status: 'already-shredded', destroyed: false, keysDestroyed: 0, shredEvent: null });
    const text = await runCli(['shred', d, '--entity', 'acct:0']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^already shredded: entity "acct:0"/);
  });

  it('INV-SHRED-RESULT: a scope that never had a key (a typo) is ERR_SHRED_SCOPE_UNKNOWN, exit 2, and writes no shred event', async () => {
    const d = await dir();
    await makeStore(d, { events: 3, encryption: 'entity' });
    const r = await runCli(['shred', d, '--entity', 'acct:O']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^batpak shred: ERR_SHRED_SCOPE_UNKNOWN no key was ever minted for entity "acct:O"/);
    const json = await runCli(['shred', d, '--entity', 'acct:O', '--json']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ command: 'shred', result: 'error', exitCode: 2, error: { code: 'ERR_SHRED_SCOPE_UNKNOWN' } });
    const e = await dir();
    await makeStore(e, { events: 2, encryption: 'event' });
    expect((await runCli(['shred', e, '--event', '0'.repeat(32)])).code).toBe(2);
    const store = await Store.openReadOnly(d, { payloadEncryption: { granularity: 'entity' } });
    try {
      expect(store.lastSequence).toBe(3n);
    } finally {
      await store.close();
    }
  });

  it('refuses with one line and exit 2 while another process holds the store, changing nothing', async () => {
    const d = await dir();
    await makeStore(d, { events: 3, encryption: 'entity' });
    const keysetBefore = await readFile(join(d, 'keyset.bpk'));
    const holder = await Store.open({ dir: d, payloadEncryption: { granularity: 'entity' } });
    try {
      const r = await runCli(['shred', d, '--entity', 'acct:2']);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.split('\n').filter((l) => l !== '')).toHaveLength(1);
      expect(r.stderr).toMatch(/^batpak shred: ERR_STORE_LOCKED .*another process holds the writer lock/);
      expect(await readFile(join(d, 'keyset.bpk'))).toEqual(keysetBefore);
    } finally {
      await holder.close();
    }
  });

  it('INV-SHRED-RESULT: events written before encryption was enabled make the shred ERR_SHRED_INCOMPLETE, exit 2', async () => {
    const d = await dir();
    await makeStore(d, { events: 3 });
    const enc = await Store.open({ dir: d, payloadEncryption: { granularity: 'entity' } });
    await enc.appendRaw(new Coordinate('acct:1', 'bank'), { category: 1, typeId: 0 }, new Uint8Array([1]));
    await enc.close();
    const r = await runCli(['shred', d, '--entity', 'acct:1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^batpak shred: ERR_SHRED_INCOMPLETE destroyed 1 key\(s\) of entity "acct:1" \(shred event [0-9a-f]{32}\), but 1 event\(s\) of entity "acct:1" are stored in plaintext/);
    const only = await runCli(['shred', d, '--entity', 'acct:2', '--json']);
    expect(only.code).toBe(2);
    expect(JSON.parse(only.stdout)).toMatchObject({ error: { code: 'ERR_SHRED_INCOMPLETE' } });
  });

  it('a store without payload encryption has nothing to shred: exit 2, and no keyset is created', async () => {
    const d = await dir();
    await makeStore(d, { events: 2 });
    const r = await runCli(['shred', d, '--entity', 'acct:0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^batpak shred: ERR_ENCRYPTION_NOT_CONFIGURED /);
    await expect(stat(join(d, 'keyset.bpk'))).rejects.toThrow();
  });

  it('a selector that does not match the granularity, or none at all, is refused with exit 2', async () => {
    const d = await dir();
    await makeStore(d, { events: 2, encryption: 'entity' });
    const mismatch = await runCli(['shred', d, '--kind', '1:0']);
    expect(mismatch.code).toBe(2);
    expect(mismatch.stderr).toMatch(/ERR_SHRED_SELECTOR_MISMATCH/);
    const none = await runCli(['shred', d]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/ERR_USAGE name exactly one scope/);
    expect((await runCli(['shred', join(d, 'missing'), '--entity', 'a'])).code).toBe(2);
  });

  it('--kind and --event select type and event scopes', async () => {
    const t = await dir();
    await makeStore(t, { events: 2, encryption: 'type' });
    expect(JSON.parse((await runCli(['shred', t, '--kind', '0x1:0', '--json'])).stdout)).toMatchObject({ destroyed: true, granularity: 'type' });
    const e = await dir();
    const { receipts } = await makeStore(e, { events: 2, encryption: 'event' });
    expect(JSON.parse((await runCli(['shred', e, '--event', receipts[0]!.eventId.toUpperCase(), '--json'])).stdout)).toMatchObject({ destroyed: true, granularity: 'event' });
  });
});
