// A TLS client given an IP address sends no SNI (DEP0123 is never emitted) yet still checks the server's
// certificate against that IP. Its own file: Node emits DEP0123 once per process, so no earlier IP connect may hide it.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, createServer, type NetbatServer } from '../src/index.js';
import { testDispatcher } from './helpers/dispatcher.js';
import { str } from './helpers/net.js';
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

async function start(): Promise<{ port: number }> {
  server = createServer({ dispatcher: testDispatcher(), tls: { cert: pki.leafCert, key: pki.leafKey } });
  return server.listen(0);
}

describe('TLS to an IP address', () => {
  it('connects to an IP address without DEP0123 (no IP in SNI) and still checks the certificate against it', async () => {
    const { port } = await start();
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    try {
      const byIp = await connect({ port, host: '127.0.0.1', tls: { ca: pki.caCert } });
      expect(str(await byIp.call('system.heartbeat'))).toBe('alive');
      await byIp.close();
      // An explicit IP servername is checked as given: the leaf has no IP:127.0.0.2.
      await expect(connect({ port, host: '127.0.0.1', tls: { ca: pki.caCert, servername: '127.0.0.2' } })).rejects.toMatchObject({ code: 'io' });
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => (w as Error & { code?: string }).code === 'DEP0123' || /servername/i.test(w.message))).toEqual([]);
  });
});
