// `batpak inspect` and `batpak export` as the real binary: machine-readable descriptions and event dumps of real stores (INV-CLI-EXIT-CODES).
// Guards: inspect never prints a key byte; export lines are whole, in commit order, and mark shredded events.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Store, decodeCanonical } from '@batpak/core';
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

/** Every live key's bytes, read from keyset.bpk (FORMAT.md § Keyset), to prove none is ever printed. */
async function keyBytesHex(d: string): Promise<string[]> {
  const body = decodeCanonical(new Uint8Array(await readFile(join(d, 'keyset.bpk'))).subarray(12));
  if (body.t !== 'map') throw new Error('keyset body');
  const k = body.entries.find(([key]) => key.t === 'str' && key.v === 'k')![1];
  if (k.t !== 'array') throw new Error('keys');
  return k.items.map((item) => {
    if (item.t !== 'array' || item.items[2]?.t !== 'bin') throw new Error('key entry');
    return Buffer.from(item.items[2].v).toString('hex');
  });
}

describe('INV-CLI-EXIT-CODES batpak inspect', () => {
  it('--json describes segments, events, entities, kinds, last sequence and format version', async () => {
    const d = await dir();
    await makeStore(d, { events: 9 });
    const r = await runCli(['inspect', d, '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({
      command: 'inspect',
      events: '9',
      lastSequence: '9',
      entities: 3,
      formatVersions: [2],
      libraryFormatVersion: 2,
      encryption: null,
      kinds: [{ kind: '0x1000', category: 1, typeId: 0, events: 9 }],
      segments: [{ file: '000001.bps', events: 9, formatVersion: 2, damagedFrames: 0 }],
    });
    const human = await runCli(['inspect', d]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('events      9 (last sequence 9)');
  });

  it('counts the keys of an encrypted store without printing a key byte', async () => {
    const d = await dir();
    await makeStore(d, { events: 6, encryption: 'entity' });
    const store = await Store.open({ dir: d, payloadEncryption: { granularity: 'entity' } });
    await store.shredScope({ entity: 'acct:0' });
    await store.close();
    const keys = await keyBytesHex(d);
    expect(keys).toHaveLength(2);
    for (const args of [['inspect', d], ['inspect', d, '--json']]) {
      const r = await runCli(args);
      expect(r.code).toBe(0);
      for (const k of keys) expect(r.stdout).not.toContain(k);
    }
    expect(JSON.parse((await runCli(['inspect', d, '--json'])).stdout).encryption).toEqual({ granularity: 'entity', liveKeys: 2, destroyedKeys: 1 });
  });

  it('a missing directory exits 2', async () => {
    const d = await dir();
    expect((await runCli(['inspect', join(d, 'x')])).code).toBe(2);
  });
});

describe('INV-CLI-EXIT-CODES batpak export', () => {
  it('--jsonl writes one object per event in commit order with hex payloads and receipt fields', async () => {
    const d = await dir();
    const { receipts, marker } = await makeStore(d, { events: 5 });
    const r = await runCli(['export', d, '--jsonl']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.eventId)).toEqual(receipts.map((x) => x.eventId));
    expect(lines[2]).toMatchObject({
      v: 1,
      globalSequence: '3',
      entitySequence: '1',
      kind: { category: 1, typeId: 0 },
      coordinate: { entity: 'acct:2', scope: 'bank' },
      committedAt: receipts[2]!.committedAt.toString(),
      contentHash: Buffer.from(receipts[2]!.contentHash).toString('hex'),
      prevHash: '00'.repeat(32),
      raw: true,
      encrypted: false,
      shredded: false,
      payload: Buffer.from(marker(2)).toString('hex'),
    });
  });

  it('--out writes a file; without --jsonl it is a usage error', async () => {
    const d = await dir();
    await makeStore(d, { events: 3 });
    const out = join(d, 'events.jsonl');
    const r = await runCli(['export', d, '--jsonl', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect((await readFile(out, 'utf8')).trim().split('\n')).toHaveLength(3);
    const usage = await runCli(['export', d]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/ERR_USAGE choose the format: --jsonl/);
  });

  it('an encrypted store exports ciphertext as payload and, for readable raw events, the plaintext', async () => {
    const d = await dir();
    const { marker } = await makeStore(d, { events: 2, encryption: 'entity' });
    const lines = (await runCli(['export', d, '--jsonl'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as { payload: string; plaintext?: string; encrypted: boolean });
    expect(lines[0]!.encrypted).toBe(true);
    expect(lines[0]!.payload).not.toBe(Buffer.from(marker(0)).toString('hex'));
    expect(lines[0]!.plaintext).toBe(Buffer.from(marker(0)).toString('hex'));
  });
});

describe('INV-CLI-EXIT-CODES help and usage', () => {
  it('every command has --help with an example (exit 0); unknown commands exit 2', async () => {
    for (const cmd of ['verify', 'inspect', 'shred', 'compact', 'export', 'import', 'serve']) {
      const r = await runCli([cmd, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^usage: batpak ${cmd} `));
      expect(r.stdout).toMatch(/\nexamples?:\n {2}batpak /);
    }
    const top = await runCli(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain('exit codes:');
    const unknown = await runCli(['frob']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^batpak: ERR_USAGE unknown command "frob"/);
    expect((await runCli([])).code).toBe(2);
  });
});
