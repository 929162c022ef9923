// `batpak verify` run as the real binary on real stores: exit codes, named problems, --json, receipts, keys, pipes (INV-CLI-EXIT-CODES).
// Guards: 0 only when intact, 1 names every problem (event id, segment, offset), 2 when the store cannot be examined.
import { randomBytes } from 'node:crypto';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Store, receiptToJSON } from '@batpak/core';
import { ed25519PublicKeyOf } from './helpers/keys.js';
import { hasEscapes, runCli } from './helpers/cli.js';
import { SEGMENT, flipByte, makeStore, offsetOf, rewritePayloadByte, tempDir } from './helpers/store.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});
async function dir(): Promise<string> {
  const t = await tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

describe('INV-CLI-EXIT-CODES batpak verify', () => {
  it('an intact store exits 0', async () => {
    const d = await dir();
    await makeStore(d, { events: 12 });
    const r = await runCli(['verify', d]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^intact: 12 events in 1 segment/);
    expect(r.stderr).toBe('');
  });

  it('one flipped byte (dd) exits 1 and prints the damaged event id, segment and offset', async () => {
    const d = await dir();
    const { receipts, marker } = await makeStore(d, { events: 12 });
    const at = await offsetOf(join(d, SEGMENT), marker(5));
    await flipByte(join(d, SEGMENT), at + 3);
    const r = await runCli(['verify', d]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(receipts[5]!.eventId);
    expect(r.stdout).toContain(`segment ${SEGMENT} offset`);
    expect(r.stdout).toMatch(/DAMAGED/);
  });

  it('a rewrite that keeps the frame CRC valid is caught by the content hash: exit 1, event id and location', async () => {
    const d = await dir();
    const { receipts, marker } = await makeStore(d, { events: 12 });
    await rewritePayloadByte(join(d, SEGMENT), await offsetOf(join(d, SEGMENT), marker(7)));
    const r = await runCli(['verify', d, '--json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as { result: string; opened: boolean; problems: { kind: string; eventId: string; file: string; offset: number }[] };
    expect(report).toMatchObject({ result: 'damaged', opened: true });
    expect(report.problems).toContainEqual(expect.objectContaining({ kind: 'content-hash-mismatch', eventId: receipts[7]!.eventId, file: SEGMENT }));
    expect(report.problems.every((p) => typeof p.offset === 'number')).toBe(true);
  });

  it('a missing directory exits 2 with one line naming ERR_NOT_FOUND, and no stack trace', async () => {
    const d = await dir();
    const r = await runCli(['verify', join(d, 'nope')]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^batpak verify: ERR_NOT_FOUND no store directory at .*nope\n$/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('INV-DIRECTORY-EVIDENCE: a deleted newest segment exits 1 naming the missing segment and the lost events', async () => {
    const d = await dir();
    await makeStore(d, { events: 300, batch: 50, segmentMaxBytes: 4096 });
    const segments = (await readdir(d)).filter((n) => n.endsWith('.bps')).sort();
    expect(segments.length).toBeGreaterThan(2);
    await rm(join(d, segments[segments.length - 1]!));
    const r = await runCli(['verify', d, '--json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as { result: string; problems: { kind: string; file: string; reason: string }[] };
    expect(report.result).toBe('damaged');
    expect(report.problems).toContainEqual(expect.objectContaining({ kind: 'directory-damage', file: segments[segments.length - 1], reason: expect.stringMatching(/^missing-segment: /) as unknown as string }));
    expect(report.problems).toContainEqual(expect.objectContaining({ kind: 'directory-damage', file: 'index.checkpoint', reason: expect.stringMatching(/^events-missing: .*up to global sequence 300/) as unknown as string }));
    const human = await runCli(['verify', d]);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/store directory damage: file index\.checkpoint — events-missing/);
  });

  it('a directory that is not a store (e.g. a parent directory) exits 2 with ERR_NOT_A_STORE, not "intact, 0 events"', async () => {
    const d = await dir();
    await makeStore(join(d, 'inner'), { events: 3 });
    const r = await runCli(['verify', d]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/ERR_NOT_A_STORE/);
    expect(r.stderr).toMatch(/is not a batpak store/);
  });

  it('--debug adds the stack trace', async () => {
    const d = await dir();
    const r = await runCli(['verify', join(d, 'nope'), '--debug']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\n\s+at /);
  });

  it('a corrupt keyset makes the store unusable: exit 2 with ERR_CORRUPT_KEYSET', async () => {
    const d = await dir();
    await makeStore(d, { events: 3, encryption: 'entity' });
    await writeFile(join(d, 'keyset.bpk'), 'not a keyset at all');
    const r = await runCli(['verify', d]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^batpak verify: ERR_CORRUPT_KEYSET /);
  });

  it('--json prints exactly one parseable report object, for intact, damaged and unusable stores', async () => {
    const d = await dir();
    await makeStore(d, { events: 5 });
    const ok = await runCli(['verify', d, '--json']);
    expect(ok.code).toBe(0);
    expect(ok.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(ok.stdout)).toMatchObject({ command: 'verify', result: 'intact', exitCode: 0, eventsChecked: 5, segments: 1, problems: [] });

    const missing = await runCli(['verify', join(d, 'missing'), '--json']);
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stdout)).toMatchObject({ result: 'error', exitCode: 2, error: { code: 'ERR_NOT_FOUND' } });
  });

  it('piped output carries no progress escape codes, even over thousands of events', async () => {
    const d = await dir();
    await makeStore(d, { events: 3000, batch: 1000 });
    for (const args of [['verify', d], ['verify', d, '--json'], ['export', d, '--jsonl']]) {
      const r = await runCli(args);
      expect(r.code).toBe(0);
      expect(hasEscapes(r.stdout)).toBe(false);
      expect(hasEscapes(r.stderr)).toBe(false);
    }
  });

  it('runs beside a live writer that holds the lock', async () => {
    const d = await dir();
    await makeStore(d, { events: 4 });
    const writer = await Store.open({ dir: d });
    try {
      const r = await runCli(['verify', d]);
      expect(r.code).toBe(0);
    } finally {
      await writer.close();
    }
  });

  it('checks signatures with --public-key and stored receipts with --receipts: all valid → 0', async () => {
    const d = await dir();
    const seed = new Uint8Array(randomBytes(32));
    const { receipts } = await makeStore(d, { events: 6, signingKey: seed, batch: 3 });
    const file = join(d, 'receipts.jsonl');
    await writeFile(file, receipts.map((r) => JSON.stringify(receiptToJSON(r))).join('\n') + '\n');
    const pub = Buffer.from(ed25519PublicKeyOf(seed)).toString('hex');
    const r = await runCli(['verify', d, '--public-key', pub, '--receipts', file, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ result: 'intact', signatureKeys: 1, receipts: { checked: 6, valid: 6, invalid: 0 } });
  });

  it('INV-REPLICA-VERIFIED: a replica directory (core Store.openReplica) verifies with the primary key → 0, with another key → 1', async () => {
    const d = await dir();
    const seed = new Uint8Array(randomBytes(32));
    const { receipts } = await makeStore(d, { events: 12, signingKey: seed, batch: 4 });
    const replicaDir = await dir();
    const primary = await Store.openReadOnly(d);
    const replica = await Store.openReplica(replicaDir, { publicKeys: [ed25519PublicKeyOf(seed)] });
    let group: Uint8Array[] = [];
    for (const r of receipts) {
      const f = await primary.replicationFrames(r.eventId);
      group.push(f.event);
      if (f.seal !== undefined) {
        await replica.apply([...group, f.seal]);
        group = [];
      }
    }
    await replica.close();
    await primary.close();
    const pub = Buffer.from(ed25519PublicKeyOf(seed)).toString('hex');
    const ok = await runCli(['verify', replicaDir, '--public-key', pub, '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ result: 'intact', signatureKeys: 1 });
    const other = Buffer.from(ed25519PublicKeyOf(new Uint8Array(32).fill(3))).toString('hex');
    expect((await runCli(['verify', replicaDir, '--public-key', other])).code).toBe(1);
  });

  it('INV-SIGNED-STORE-UNSIGNED-EVENT: an event appended without the key to a signed store → exit 1 naming it, with --public-key and without', async () => {
    const d = await dir();
    const seed = new Uint8Array(randomBytes(32));
    await makeStore(d, { events: 5, signingKey: seed });
    // A writer without the key must opt in; its event cannot be told from a forgery.
    await expect(Store.open({ dir: d })).rejects.toMatchObject({ code: 'ERR_SIGNING_KEY_REQUIRED' });
    const w = await Store.open({ dir: d, allowUnsignedAfterSigned: true });
    const forged = await w.appendRaw({ entity: 'acct:9', scope: 'cli' }, { category: 1, typeId: 1 }, new Uint8Array([1]));
    await w.close();
    const pub = Buffer.from(ed25519PublicKeyOf(seed)).toString('hex');
    const r = await runCli(['verify', d, '--public-key', pub, '--json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as { result: string; problems: { kind: string; eventId?: string }[] };
    expect(report.result).toBe('damaged');
    expect(report.problems).toEqual([expect.objectContaining({ kind: 'signature-failure', eventId: forged.eventId })]);
    expect((await runCli(['verify', d])).code).toBe(1);
  });

  it('any invalid receipt → exit 1 naming its line and event; a signed receipt without --public-key is invalid', async () => {
    const d = await dir();
    const seed = new Uint8Array(randomBytes(32));
    const { receipts } = await makeStore(d, { events: 4, signingKey: seed });
    const lines = receipts.map((r) => receiptToJSON(r) as unknown as Record<string, unknown>);
    lines[2] = { ...lines[2], contentHash: 'ab'.repeat(32) };
    const file = join(d, 'receipts.jsonl');
    await writeFile(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n{not json\n');
    const pub = Buffer.from(ed25519PublicKeyOf(seed)).toString('hex');
    const r = await runCli(['verify', d, '--public-key', pub, '--receipts', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`invalid receipt: line 3, event ${receipts[2]!.eventId}`);
    expect(r.stdout).toContain('invalid receipt: line 5 — ERR_INVALID_RECEIPT');
    expect(r.stdout).toContain('receipts: 5 checked, 3 valid, 2 invalid');

    const keyless = await runCli(['verify', d, '--receipts', file, '--json']);
    expect(keyless.code).toBe(1);
    const report = JSON.parse(keyless.stdout) as { problems: { reason: string }[] };
    expect(report.problems[0]!.reason).toContain('pass --public-key');
  });

  it('a receipts file that does not exist is unusable (2), bad arguments too', async () => {
    const d = await dir();
    await makeStore(d, { events: 1 });
    expect((await runCli(['verify', d, '--receipts', join(d, 'none.jsonl')])).code).toBe(2);
    const bad = await runCli(['verify', d, '--public-key', 'zz']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^batpak verify: ERR_USAGE --public-key must be 64 hex characters\n$/);
    const unknown = await runCli(['verify', d, '--frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/ERR_USAGE unknown option --frobnicate/);
  });
});
