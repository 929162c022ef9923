// `batpak serve` as the real binary: one listening line, a netbat client calling the reference terminals, SIGTERM drain and a clean store (INV-CLI-EXIT-CODES, INV-NETBAT-TERMINALS).
// Guards: stdout is exactly the listening line; SIGTERM exits 0 with the lock released and the chain intact.
import { afterEach, describe, expect, it } from 'vitest';
import { Store } from '@batpak/core';
import { connect, terminalClient } from '@batpak/netbat';
import { runCli, startCli, type CliChild } from './helpers/cli.js';
import { makeStore, tempDir } from './helpers/store.js';

const cleanups: Array<() => Promise<void>> = [];
const children: CliChild[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const c of cleanups.splice(0)) await c();
});
async function dir(): Promise<string> {
  const t = await tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

function serve(args: readonly string[]) {
  const s = startCli(['serve', ...args]);
  children.push(s.child);
  return s;
}

describe('INV-CLI-EXIT-CODES INV-NETBAT-TERMINALS batpak serve', () => {
  it('prints one listening line; a netbat client calls system.heartbeat and event.get; SIGTERM exits 0 and the store reopens cleanly', async () => {
    const d = await dir();
    const { receipts, marker } = await makeStore(d, { events: 3 });
    const s = serve([d, '--port', '0']);
    const line = await s.line();
    const m = /^listening 127\.0\.0\.1:(\d+)$/.exec(line);
    expect(m, line).not.toBeNull();
    const port = Number(m![1]);

    const client = await connect({ port });
    const t = terminalClient(client);
    expect(await t.call('system.heartbeat', { nonce: 'cli-serve' })).toMatchObject({ nonce: 'cli-serve' });
    const got = await t.call('event.get', { eventId: receipts[1]!.eventId });
    expect(got).toMatchObject({ eventId: receipts[1]!.eventId, sequence: 2n, entity: 'acct:1', scope: 'bank' });
    expect(new TextDecoder().decode(got.payload)).toBe(marker(1));
    const ack = await t.call('bank.commit', { entity: 'acct:9', scope: 'bank', kind: { category: 1, typeId: 0 }, payload: new TextEncoder().encode('over-the-wire') });
    expect(await t.call('receipt.verify', ack)).toMatchObject({ valid: true });
    await client.close();

    s.child.kill('SIGTERM');
    expect(await s.exited).toEqual({ code: 0, signal: null });
    expect(s.stdout()).toBe(`${line}\n`);
    expect(s.stderr()).toMatch(/SIGTERM: draining/);

    // Lock released, nothing torn: a writable open succeeds and the chain is intact.
    const store = await Store.open({ dir: d });
    try {
      expect((await store.verifyChain()).intact).toBe(true);
      expect((await store.getRaw(ack.eventId)).bytes).toEqual(new TextEncoder().encode('over-the-wire'));
    } finally {
      await store.close();
    }
    expect((await runCli(['verify', d])).code).toBe(0);
  });

  it('SIGTERM ends an open subscription and in-flight calls before the store closes', async () => {
    const d = await dir();
    await makeStore(d, { events: 2 });
    const s = serve([d, '--port', '0', '--max-connections', '4']);
    const port = Number(/:(\d+)$/.exec(await s.line())![1]);
    const client = await connect({ port });
    const sub = client.subscribe('events.1.v1', { window: 4 });
    const seen: string[] = [];
    const drained = (async () => {
      for await (const d of sub) seen.push(d.kind);
    })().catch((err: unknown) => seen.push(`thrown:${String(err)}`));
    // Wait until replay is done (two events and the watermark), then stop the server.
    while (seen.length < 3) await new Promise((r) => setTimeout(r, 10));
    const calls = Array.from({ length: 8 }, (_, i) => terminalClient(client).call('system.heartbeat', { nonce: `n${i}` }).then(() => 'ok', () => 'refused'));
    s.child.kill('SIGTERM');
    expect(await s.exited).toEqual({ code: 0, signal: null });
    await drained;
    expect(seen.slice(0, 3)).toEqual(['event', 'event', 'watermark']);
    // Every call settled (answered, or refused once the listener closed): none hangs.
    expect((await Promise.all(calls)).every((c) => c === 'ok' || c === 'refused')).toBe(true);
    await client.close();
    const store = await Store.open({ dir: d });
    await store.close();
  });

  it('INV-SIGNED-STORE-UNSIGNED-EVENT: refuses a signed store without --signing-key-file (exit 2, one line)', async () => {
    const d = await dir();
    await makeStore(d, { events: 2, signingKey: new Uint8Array(32).fill(3) });
    const r = await runCli(['serve', d, '--port', '0']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^batpak serve: ERR_SIGNING_KEY_REQUIRED /);
  });

  it('refuses a store another process holds (exit 2, one line) and bad arguments (exit 2)', async () => {
    const d = await dir();
    await makeStore(d, { events: 1 });
    const holder = await Store.open({ dir: d });
    try {
      const r = await runCli(['serve', d, '--port', '0']);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^batpak serve: ERR_STORE_LOCKED /);
    } finally {
      await holder.close();
    }
    expect((await runCli(['serve', d])).stderr).toMatch(/ERR_USAGE --port is required/);
    expect((await runCli(['serve', d, '--port', '0', '--tls-cert', 'x.pem'])).stderr).toMatch(/--tls-cert and --tls-key go together/);
    expect((await runCli(['serve', d, '--port', '99999'])).code).toBe(2);
  });
});
