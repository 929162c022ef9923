// Authentication and authorization (INV-NETBAT-AUTH, issue 26 item 4): anonymous clients get only the configured grants, a token
// line or a verified client certificate names a principal, every CALL and SUBSCRIBE is checked, and receipts name the caller.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate, createHash } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '@batpak/core';
import { CALLER_PRINCIPAL_KEY, decodeReceiptEnvelope } from '@batpak/syncbat';
import {
  NetbatError,
  connect,
  createServer,
  createTerminalCore,
  createTerminalSubscriptions,
  terminalClient,
  type DispatchOptions,
  type Dispatcher,
  type NetbatServer,
  type ServerOptions,
} from '../src/index.js';
import { testDispatcher } from './helpers/dispatcher.js';
import { MemorySource } from './helpers/memory-source.js';
import { exchange, str, text } from './helpers/net.js';
import { createTestPki, type TestPki } from './helpers/pki.js';

const TOKEN = 'alice-secret-token-0001';
const hex = (s: string): string => Buffer.from(s).toString('hex');
const authLine = (token: string): string => `NETBAT/1 AUTH token ${hex(token)}\n`;
const errLine = (code: string, message: string): string => `ERR ${code} ${hex(message)}\n`;

let server: NetbatServer | undefined;
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  await server?.close();
  server = undefined;
});

/** A test dispatcher that remembers the options of every dispatch. */
function recording(): Dispatcher & { readonly seen: Array<DispatchOptions | undefined> } {
  const inner = testDispatcher();
  const seen: Array<DispatchOptions | undefined> = [];
  return {
    seen,
    dispatch(name, input, opts) {
      seen.push(opts);
      return inner.dispatch(name, input, opts);
    },
  };
}

async function start(options: Partial<ServerOptions>, dispatcher: Dispatcher = testDispatcher()): Promise<{ port: number; server: NetbatServer }> {
  const s = createServer({ dispatcher, ...options });
  server = s;
  const { port } = await s.listen(0);
  return { port, server: s };
}

const AUTH: ServerOptions['auth'] = {
  anonymous: ['system.heartbeat'],
  principals: { alice: ['echo', 'subscribe:orders.*', 'vault.read'] },
  tokens: [{ principal: 'alice', token: TOKEN }],
};

describe('INV-NETBAT-AUTH: authentication and grants', () => {
  it('an anonymous client gets only the anonymous grants; the dispatcher never sees a refused call', async () => {
    const d = recording();
    const { port, server: s } = await start({ auth: AUTH }, d);
    const out = str(await exchange(port, text('NETBAT/1 CALL system.heartbeat \nNETBAT/1 CALL echo 01\n')));
    expect(out).toBe(`OK ${hex('alive')}\n${errLine('unauthorized', 'unauthorized: anonymous is not granted `echo`')}`);
    expect(d.seen).toEqual([{ signal: expect.any(AbortSignal), caller: { principal: 'anonymous', capabilities: ['system.heartbeat'] } }]);
    expect(s.stats()).toMatchObject({ servedRequests: 1, failedRequests: 1, unauthorized: 1 });
  });

  it('with auth and no anonymous grants, an unauthenticated client can do nothing at all', async () => {
    const { port } = await start({ auth: { principals: { alice: ['*'] }, tokens: [{ principal: 'alice', token: TOKEN }] } });
    expect(str(await exchange(port, text('NETBAT/1 CALL system.heartbeat \n')))).toMatch(/^ERR unauthorized /);
  });

  it('a token line names the principal: OK <hex principal>, then its grants apply and the dispatcher gets the caller', async () => {
    const d = recording();
    const { port } = await start({ auth: AUTH }, d);
    const out = str(await exchange(port, text(`${authLine(TOKEN)}NETBAT/1 CALL echo 6869\nNETBAT/1 CALL ping 00\n`)));
    expect(out).toBe(`OK ${hex('alice')}\nOK 6869\n${errLine('unauthorized', 'unauthorized: alice is not granted `ping`')}`);
    expect(d.seen.map((o) => o?.caller)).toEqual([{ principal: 'alice', capabilities: ['echo', 'subscribe:orders.*', 'vault.read'] }]);

    // The netbat client sends the line on every connection it opens.
    const c = await connect({ port, auth: { token: TOKEN } });
    cleanups.push(() => c.close());
    expect(str(await c.call('echo', text('via client')))).toBe('via client');
  });

  it('a wrong token, a malformed AUTH line or a late AUTH is unauthorized and closes the connection', async () => {
    const { port, server: s } = await start({ auth: AUTH });
    expect(str(await exchange(port, text(`${authLine('not-the-token-at-all')}NETBAT/1 CALL system.heartbeat \n`)))).toBe(
      errLine('unauthorized', 'unauthorized: invalid token'),
    );
    expect(str(await exchange(port, text('NETBAT/1 AUTH password 00\n')))).toBe(errLine('unauthorized', 'unauthorized: expected `NETBAT/1 AUTH token <hex>`'));
    expect(str(await exchange(port, text(`NETBAT/1 CALL system.heartbeat \n${authLine(TOKEN)}`)))).toBe(
      `OK ${hex('alive')}\n${errLine('unauthorized', 'unauthorized: AUTH must be the first line of an unauthenticated connection')}`,
    );
    expect(s.stats().unauthorized).toBe(3);
    await expect(connect({ port, auth: { token: 'not-the-token-at-all' } })).rejects.toMatchObject({ code: 'unauthorized' });
  });

  it('without auth the wire is unchanged: an AUTH line is an unsupported verb and nothing is checked', async () => {
    const d = recording();
    const { port } = await start({}, d);
    expect(str(await exchange(port, text(`${authLine(TOKEN)}NETBAT/1 CALL echo 01\n`)))).toBe(
      `${errLine('malformed_request', 'malformed request: unsupported verb')}OK 01\n`,
    );
    expect(d.seen.map((o) => o?.caller)).toEqual([undefined]);
  });

  it('SUBSCRIBE needs a subscribe: grant; the source gets the caller', async () => {
    const source = new MemorySource().define('orders.open.v1', ['a']).define('payments.v1', ['b']);
    const opened: unknown[] = [];
    const spy = { open: (req: Parameters<MemorySource['open']>[0]) => (opened.push(req.caller), source.open(req)) };
    const { port } = await start({ auth: AUTH, subscriptions: { source: spy } });
    const anon = await connect({ port });
    const alice = await connect({ port, auth: { token: TOKEN } });
    cleanups.push(() => anon.close(), () => alice.close());
    const first = async (c: typeof anon, id: string) => {
      for await (const d of c.subscribe(id)) return d;
      return undefined;
    };
    expect(await first(anon, 'orders.open.v1')).toMatchObject({ kind: 'error', code: 'unauthorized' });
    expect(await first(alice, 'payments.v1')).toMatchObject({ kind: 'error', code: 'unauthorized' });
    expect(await first(alice, 'orders.open.v1')).toMatchObject({ kind: 'event' });
    expect(opened).toEqual([{ principal: 'alice', capabilities: ['echo', 'subscribe:orders.*', 'vault.read'] }]);
  });

  it('refuses unusable auth configuration with invalid_option', () => {
    const bad: Array<ServerOptions['auth']> = [
      { tokens: [{ principal: 'ghost', token: TOKEN }] },
      { principals: { alice: [] }, tokens: [{ principal: 'alice', token: 'short' }] },
      { principals: { alice: [] }, tokens: [{ principal: 'alice', token: TOKEN }, { principal: 'alice', token: TOKEN }] },
      { principals: { anonymous: ['*'] } },
      { principals: { alice: ['has space'] } },
      { principals: { alice: [] }, certificates: [{ principal: 'alice' }] },
      { principals: { alice: [] }, certificates: [{ principal: 'alice', spkiSha256: 'abc' }] },
    ];
    for (const auth of bad) {
      expect(() => createServer({ dispatcher: testDispatcher(), ...(auth === undefined ? {} : { auth }) }), JSON.stringify(auth)).toThrow(NetbatError);
    }
  });
});

describe('INV-NETBAT-AUTH: client certificates (mTLS)', () => {
  let pki: TestPki;
  beforeAll(() => {
    pki = createTestPki();
  });

  function mtls(certificates: NonNullable<ServerOptions['auth']>['certificates']): Partial<ServerOptions> {
    return {
      tls: { cert: pki.leafCert, key: pki.leafKey, clientCa: pki.caCert },
      auth: { anonymous: ['system.heartbeat'], principals: { reporter: ['echo'] }, ...(certificates === undefined ? {} : { certificates }) },
    };
  }

  it('a certificate matching a subject rule is that principal; no certificate is anonymous', async () => {
    const d = recording();
    const { port } = await start(mtls([{ principal: 'reporter', subject: 'CN=reporter, O=batpak' }]), d);
    const withCert = await connect({ port, tls: { ca: pki.caCert, servername: 'localhost', ...pki.reporter } });
    const without = await connect({ port, tls: { ca: pki.caCert, servername: 'localhost' } });
    cleanups.push(() => withCert.close(), () => without.close());
    expect(str(await withCert.call('echo', text('hi')))).toBe('hi');
    await expect(without.call('echo', text('hi'))).rejects.toMatchObject({ code: 'unauthorized' });
    expect(str(await without.call('system.heartbeat'))).toBe('alive');
    expect(d.seen.map((o) => o?.caller?.principal)).toEqual(['reporter', 'anonymous']);
  });

  it('a certificate matching an SPKI fingerprint rule is that principal; a verified but unmapped one is spki-sha256:<hex> with anonymous grants', async () => {
    const spki = (pem: string): string => createHash('sha256').update(new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
    const d = recording();
    const { port } = await start(mtls([{ principal: 'reporter', spkiSha256: spki(pki.reporter.cert) }]), d);
    const reporter = await connect({ port, tls: { ca: pki.caCert, servername: 'localhost', ...pki.reporter } });
    const stranger = await connect({ port, tls: { ca: pki.caCert, servername: 'localhost', ...pki.stranger } });
    cleanups.push(() => reporter.close(), () => stranger.close());
    expect(str(await reporter.call('echo', text('x')))).toBe('x');
    await expect(stranger.call('echo', text('x'))).rejects.toMatchObject({ code: 'unauthorized' });
    expect(str(await stranger.call('system.heartbeat'))).toBe('alive');
    expect(d.seen.map((o) => o?.caller?.principal)).toEqual(['reporter', `spki-sha256:${spki(pki.stranger.cert)}`]);
  });

  it('a certificate from another CA fails the handshake and is counted', async () => {
    const { port, server: s } = await start(mtls([{ principal: 'reporter', subject: 'CN=rogue' }]));
    const rogue = connect({ port, tls: { ca: pki.caCert, servername: 'localhost', ...pki.rogue } }).then((c) => c.call('system.heartbeat').finally(() => c.close()));
    await expect(rogue).rejects.toMatchObject({ code: 'io' });
    expect(s.stats().tlsHandshakeFailures).toBe(1);
  });

  it('tls.clientCa without auth is refused (certificates would map to nothing)', () => {
    expect(() => createServer({ dispatcher: testDispatcher(), tls: { cert: pki.leafCert, key: pki.leafKey, clientCa: pki.caCert } })).toThrow(/clientCa needs auth/);
  });
});

describe('INV-NETBAT-AUTH: the reference terminals behind auth (issue 26 item 4)', () => {
  async function rig(storeOptions: Partial<Parameters<typeof Store.open>[0]> = {}, grants: readonly string[] = ['bank.commit', 'event.get']) {
    const dir = await mkdtemp(join(tmpdir(), 'netbat-auth-'));
    const store = await Store.open({ dir, ...storeOptions });
    const s = createServer({
      core: createTerminalCore({ store }),
      subscriptions: { source: createTerminalSubscriptions(store) },
      auth: { anonymous: ['system.heartbeat'], principals: { writer: grants }, tokens: [{ principal: 'writer', token: TOKEN }] },
    });
    const { port } = await s.listen(0);
    cleanups.push(async () => {
      await s.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    });
    return { port, store };
  }
  const commitReq = (entity: string) => ({ entity, scope: 'bank', kind: { category: 1, typeId: 0 }, payload: text('secret') });

  it('an unauthenticated client can neither append nor read nor subscribe; the writer can, and its receipt names it', async () => {
    const { port, store } = await rig();
    const anon = terminalClient(await connect({ port }));
    const writer = terminalClient(await connect({ port, auth: { token: TOKEN } }));
    await expect(anon.call('bank.commit', commitReq('acct:1'))).rejects.toMatchObject({ code: 'unauthorized' });
    const ack = await writer.call('bank.commit', commitReq('acct:1'));
    await expect(anon.call('event.get', { eventId: ack.eventId })).rejects.toMatchObject({ code: 'unauthorized' });
    await expect(anon.call('receipt.verify', ack)).rejects.toMatchObject({ code: 'unauthorized' });
    expect(str((await writer.call('event.get', { eventId: ack.eventId })).payload)).toBe('secret');

    const receipts: string[] = [];
    for await (const e of store.query({ entity: 'netbat:receipts' })) {
      const env = decodeReceiptEnvelope((await store.getRaw(e.header.eventId)).bytes);
      receipts.push(`${env.descriptorName}:${new TextDecoder().decode(env.signedExtensions.get(CALLER_PRINCIPAL_KEY))}`);
    }
    expect(receipts).toEqual(['bank.commit:writer', 'event.get:writer']);
  });

  it('bank.commit refuses the receipt entity: a client cannot write into the receipt stream', async () => {
    const { port } = await rig();
    const writer = terminalClient(await connect({ port, auth: { token: TOKEN } }));
    await expect(writer.call('bank.commit', commitReq('netbat:receipts'))).rejects.toMatchObject({ code: 'handler', message: expect.stringMatching(/holds the server's receipts/) });
  });

  it('on an encrypted store event.get needs the explicit payload.decrypt grant', async () => {
    const plain = await rig({ payloadEncryption: { granularity: 'entity' } });
    const w = terminalClient(await connect({ port: plain.port, auth: { token: TOKEN } }));
    const ack = await w.call('bank.commit', commitReq('acct:2'));
    await expect(w.call('event.get', { eventId: ack.eventId })).rejects.toMatchObject({ code: 'runtime', message: expect.stringMatching(/capability.denied.*payload\.decrypt/) });

    const granted = await rig({ payloadEncryption: { granularity: 'entity' } }, ['bank.commit', 'event.get', 'payload.decrypt']);
    const g = terminalClient(await connect({ port: granted.port, auth: { token: TOKEN } }));
    const ack2 = await g.call('bank.commit', commitReq('acct:3'));
    expect(str((await g.call('event.get', { eventId: ack2.eventId })).payload)).toBe('secret');
  });
});
