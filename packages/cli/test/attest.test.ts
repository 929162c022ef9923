// `batpak attest`, `batpak verify --expect` and `batpak snapshot` run as the real binary (INV-ATTEST-EXTENDS,
// INV-SNAPSHOT-ATOMIC, INV-CLI-EXIT-CODES): an attestation printed once catches a later truncation or rollback.
import { cp, readdir, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Coordinate, Store, attestationFromJSON, verifyAttestation } from '@batpak/core';
import { ed25519PublicKeyOf } from './helpers/keys.js';
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

const seed = new Uint8Array(32).fill(7);
const pkHex = Buffer.from(ed25519PublicKeyOf(seed)).toString('hex');

async function keyFile(d: string): Promise<string> {
  const f = join(d, 'key.hex');
  await writeFile(f, `${Buffer.from(seed).toString('hex')}\n`);
  return f;
}

describe('batpak attest / verify --expect (INV-ATTEST-EXTENDS)', () => {
  it('prints an attestation that verifies offline; verify --expect is exit 0 on the store, exit 1 after truncation', async () => {
    const work = await dir();
    const store = join(work, 'store');
    await makeStore(store, { events: 60, signingKey: seed, segmentMaxBytes: 2048 });
    const key = await keyFile(work);
    const a = await runCli(['attest', store, '--signing-key-file', key, '--label', 'ledger']);
    expect(a.stderr).toBe('');
    expect(a.code).toBe(0);
    const att = attestationFromJSON(a.stdout.trim());
    expect(att.eventCount).toBe(60n);
    expect(att.label).toBe('ledger');
    expect(verifyAttestation(att, [ed25519PublicKeyOf(seed)]).status).toBe('valid');
    const attFile = join(work, 'att.json');
    await writeFile(attFile, a.stdout);

    const ok = await runCli(['verify', store, '--expect', attFile, '--public-key', pkHex, '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ result: 'intact', attestation: { status: 'extends', eventCount: '60' } });
    const text = await runCli(['verify', store, '--expect', attFile, '--public-key', pkHex]);
    expect(text.stdout).toMatch(/attestation: extends — all 60 attested events/);

    // Without the public key the attestation cannot be checked: never "intact".
    const nokey = await runCli(['verify', store, '--expect', attFile]);
    expect(nokey.code).toBe(1);
    expect(nokey.stdout).toMatch(/attestation not extended: unverified: .*\(pass --public-key\)/);

    const segs = (await readdir(store)).filter((n) => n.endsWith('.bps')).sort();
    await unlink(join(store, segs[segs.length - 1]!));
    const cut = await runCli(['verify', store, '--expect', attFile, '--public-key', pkHex, '--json']);
    expect(cut.code).toBe(1);
    const report = JSON.parse(cut.stdout) as { result: string; attestation: { status: string }; problems: { kind: string; reason: string }[] };
    expect(report.result).toBe('damaged');
    expect(report.attestation.status).toBe('truncated');
    expect(report.problems.some((p) => p.kind === 'attestation' && /truncated or rolled back/.test(p.reason))).toBe(true);
  });

  it('a rollback to an older copy is exit 1', async () => {
    const work = await dir();
    const store = join(work, 'store');
    const old = join(work, 'old');
    await makeStore(store, { events: 10, signingKey: seed });
    await cp(store, old, { recursive: true });
    const s = await Store.open({ dir: store, signingKey: seed });
    for (let i = 0; i < 5; i++) await s.appendRaw(new Coordinate('acct:9', 'bank'), { category: 1, typeId: 0 }, new Uint8Array([i]));
    await s.close();
    const a = await runCli(['attest', store, '--signing-key-file', await keyFile(work)]);
    const attFile = join(work, 'att.json');
    await writeFile(attFile, a.stdout);
    await rm(store, { recursive: true });
    await cp(old, store, { recursive: true });
    const r = await runCli(['verify', store, '--expect', attFile, '--public-key', pkHex]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/DAMAGED/);
    expect(r.stdout).toMatch(/attestation not extended: truncated/);
  });

  it('bad input is exit 2 with a code: no key file, a malformed or missing attestation', async () => {
    const work = await dir();
    const store = join(work, 'store');
    await makeStore(store, { events: 3 });
    const noKey = await runCli(['attest', store]);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/ERR_USAGE/);
    const bad = join(work, 'bad.json');
    await writeFile(bad, '{"v":1}');
    const r = await runCli(['verify', store, '--expect', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/ERR_INVALID_ATTESTATION/);
    const missing = await runCli(['verify', store, '--expect', join(work, 'nope.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/ERR_NOT_FOUND/);
  });
});

describe('batpak snapshot (INV-SNAPSHOT-ATOMIC)', () => {
  it('copies the store; the copy verifies against the printed attestation, and so does the live store', async () => {
    const work = await dir();
    const store = join(work, 'store');
    const dest = join(work, 'snap');
    await makeStore(store, { events: 40, signingKey: seed, segmentMaxBytes: 2048 });
    const r = await runCli(['snapshot', store, dest, '--signing-key-file', await keyFile(work), '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { events: string; attestation: unknown };
    expect(out.events).toBe('40');
    const attFile = join(work, 'att.json');
    await writeFile(attFile, JSON.stringify(out.attestation));
    for (const d of [dest, store]) {
      const v = await runCli(['verify', d, '--expect', attFile, '--public-key', pkHex, '--json']);
      expect(v.code).toBe(0);
    }
    expect((await stat(`${dest}.snapshot-partial`).catch(() => undefined)) === undefined).toBe(true);
    const again = await runCli(['snapshot', store, dest]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/ERR_INVALID_ARGUMENT/);
  });
});
