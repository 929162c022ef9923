// Opt-in server TLS: a real round trip against a CA-signed leaf, cleartext and untrusted clients refused and counted,
// and certificate/key problems refused at startup with typed errors.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NetbatError, connect, createServer, type NetbatServer, type ServerOptions } from '../src/index.js';
import { testDispatcher } from './helpers/dispatcher.js';
import { eventually, exchange, openRaw, str, text, waitForClose } from './helpers/net.js';
import { createTestPki, type TestPki } from './helpers/pki.js';

let pki: TestPki;
let server: NetbatServer | undefined;

beforeAll(() => {
  pki = createTestPki();
});

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(options: Partial<ServerOptions> = {}): Promise<{ port: number; server: NetbatServer }> {
  const s = createServer({ dispatcher: testDispatcher(), tls: { cert: pki.leafCert, key: pki.leafKey }, ...options });
  server = s;
  const { port } = await s.listen(0);
  return { port, server: s };
}

function tlsError(options: ServerOptions['tls']): NetbatError {
  try {
    createServer({ dispatcher: testDispatcher(), ...(options === undefined ? {} : { tls: options }) });
  } catch (err) {
    if (err instanceof NetbatError) return err;
    throw err;
  }
  throw new Error('expected a tls_config error');
}

describe('TLS', () => {
  it('round-trips calls over TLS with a client that trusts the CA (not the leaf)', async () => {
    const { port, server: s } = await start();
    const c = await connect({ port, tls: { ca: pki.caCert, servername: 'localhost' } });
    expect(str(await c.call('system.heartbeat'))).toBe('alive');
    expect(await c.call('echo', text('over tls'))).toEqual(text('over tls'));
    await c.close();
    // By IP too: the leaf carries IP:127.0.0.1.
    const byIp = await connect({ port, host: '127.0.0.1', tls: { ca: pki.caCert } });
    expect(str(await byIp.call('system.heartbeat'))).toBe('alive');
    await byIp.close();
    expect(s.stats()).toMatchObject({ servedRequests: 3, tlsHandshakeFailures: 0 });
  });

  it('answers raw goldens byte for byte inside TLS', async () => {
    const { port } = await start();
    expect(str(await exchange(port, text('NETBAT/1 CALL ping 6869\n'), { tls: { ca: pki.caCert } }))).toBe('OK 6869\n');
  });

  it('drops and counts a cleartext client, and keeps serving TLS clients', async () => {
    const { port, server: s } = await start();
    const out = await exchange(port, text('NETBAT/1 CALL system.heartbeat \n'));
    expect(str(out)).not.toContain('OK');
    await eventually(() => s.stats().tlsHandshakeFailures === 1, 'cleartext handshake counted');
    // A connect-and-close and a garbage ClientHello are counted the same way.
    const silent = await openRaw(port);
    silent.end();
    await waitForClose(silent);
    await exchange(port, new Uint8Array([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]));
    await eventually(() => s.stats().tlsHandshakeFailures === 3, 'all three counted');
    await eventually(() => s.stats().permitsInUse === 0, 'permits released');
    const c = await connect({ port, tls: { ca: pki.caCert, servername: 'localhost' } });
    expect(str(await c.call('system.heartbeat'))).toBe('alive');
    await c.close();
  });

  it('lets a client that does not trust the CA refuse the server', async () => {
    const { port, server: s } = await start();
    await expect(connect({ port, tls: { ca: pki.otherCaCert, servername: 'localhost' } })).rejects.toMatchObject({ code: 'io' });
    await expect(connect({ port, tls: { ca: pki.caCert, servername: 'not-the-server' } })).rejects.toMatchObject({ code: 'io' });
    await eventually(() => s.stats().tlsHandshakeFailures === 2, 'refused handshakes counted');
  });

  it('times out a handshake that never starts, freeing the permit', async () => {
    const { port, server: s } = await start({ connectionLimit: { mode: 'concurrent', max: 1 }, timeouts: { readMs: 100 } });
    const idle = await openRaw(port);
    await waitForClose(idle);
    expect(s.stats()).toMatchObject({ tlsHandshakeFailures: 1, timeouts: 1 });
    const c = await connect({ port, tls: { ca: pki.caCert, servername: 'localhost' } });
    expect(str(await c.call('system.heartbeat'))).toBe('alive');
    await c.close();
  });

  it('refuses unusable certificates and keys at startup with tls_config', () => {
    const cases: Array<[ServerOptions['tls'], string]> = [
      [{ cert: 'not pem', key: pki.leafKey }, 'cert is not a PEM certificate'],
      [{ cert: pki.leafCert, key: 'not pem' }, 'key is not a PEM private key'],
      [{ cert: pki.leafCert, key: pki.strayKey }, 'key does not match the leaf certificate'],
      [{ cert: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', key: pki.leafKey }, 'cert does not parse'],
      [{ cert: pki.leafCert, key: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' }, 'key does not parse'],
      [{ cert: 42 as unknown as string, key: pki.leafKey }, 'cert must be PEM text'],
    ];
    for (const [options, mention] of cases) {
      const err = tlsError(options);
      expect(err.code).toBe('tls_config');
      expect(err.message).toContain(mention);
    }
    // Bytes work as well as strings.
    const ok = createServer({ dispatcher: testDispatcher(), tls: { cert: Buffer.from(pki.leafCert), key: new TextEncoder().encode(pki.leafKey) } });
    expect(ok.stats().acceptedConnections).toBe(0);
  });
});

describe('TLS: required client certificates', () => {
  const mtlsAuth = { anonymous: ['system.heartbeat'], principals: { reporter: ['echo'] }, certificates: [{ principal: 'reporter', subject: 'CN=reporter, O=batpak' }] };

  it('with rejectUnauthorized a client must present a certificate of the CA (full mTLS)', async () => {
    const { port, server: s } = await start({ tls: { cert: pki.leafCert, key: pki.leafKey, clientCa: pki.caCert, rejectUnauthorized: true }, auth: mtlsAuth });
    const reporter = await connect({ port, tls: { ca: pki.caCert, servername: 'localhost', ...pki.reporter } });
    expect(str(await reporter.call('echo', text('mutual')))).toBe('mutual');
    await reporter.close();
    // No certificate: refused at the handshake (in TLS 1.3 the client may only see it on its first call).
    const anonymous = connect({ port, tls: { ca: pki.caCert, servername: 'localhost' } }).then((c) => c.call('system.heartbeat').finally(() => c.close()));
    await expect(anonymous).rejects.toMatchObject({ code: 'io' });
    const rogue = connect({ port, tls: { ca: pki.caCert, servername: 'localhost', ...pki.rogue } }).then((c) => c.call('system.heartbeat').finally(() => c.close()));
    await expect(rogue).rejects.toMatchObject({ code: 'io' });
    await eventually(() => s.stats().tlsHandshakeFailures === 2, 'both refusals counted');
    expect(s.stats().servedRequests).toBe(1);
  });

  it('refuses rejectUnauthorized without clientCa, or not a boolean, with tls_config', () => {
    const missing = tlsError({ cert: pki.leafCert, key: pki.leafKey, rejectUnauthorized: true });
    expect(missing.code).toBe('tls_config');
    expect(missing.message).toContain('rejectUnauthorized needs clientCa');
    const wrongType = tlsError({ cert: pki.leafCert, key: pki.leafKey, rejectUnauthorized: 'yes' as unknown as boolean });
    expect(wrongType.message).toContain('rejectUnauthorized must be a boolean');
  });

});
