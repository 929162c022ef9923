// Read and idle deadlines: a slowloris peer or a silent one is closed and its permit freed, so it cannot starve others.
import { afterEach, describe, expect, it } from 'vitest';
import { connect, createServer, type NetbatServer } from '../src/index.js';
import { testDispatcher } from './helpers/dispatcher.js';
import { eventually, openRaw, str } from './helpers/net.js';

let server: NetbatServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(timeouts: { readMs?: number; idleMs?: number }): Promise<{ port: number; server: NetbatServer }> {
  const s = createServer({ dispatcher: testDispatcher(), connectionLimit: { mode: 'concurrent', max: 1 }, timeouts });
  server = s;
  const { port } = await s.listen(0);
  return { port, server: s };
}

describe('timeouts', () => {
  it('closes a slowloris client that drips a line byte by byte, and frees its permit', async () => {
    const { port, server: s } = await start({ readMs: 150, idleMs: 60_000 });
    const loris = await openRaw(port);
    let closed = false;
    loris.on('close', () => (closed = true));
    loris.on('error', () => undefined);
    // Each byte arrives well inside any per-read timeout; only the whole-line deadline stops it. Bounded loop.
    const line = 'NETBAT/1 CALL system.heartbeat \n';
    for (let i = 0; i < 400 && !closed; i++) {
      if (!loris.destroyed) loris.write(line[i % (line.length - 1)]!);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(closed).toBe(true);
    await eventually(() => s.stats().permitsInUse === 0, 'permit freed');
    expect(s.stats()).toMatchObject({ timeouts: 1, servedRequests: 0 });

    // With max 1, this answers only because the permit came back.
    const c = await connect({ port });
    expect(str(await c.call('system.heartbeat'))).toBe('alive');
    await c.close();
  });

  it('closes a client that connects and says nothing', async () => {
    const { port, server: s } = await start({ idleMs: 100 });
    const silent = await openRaw(port);
    await new Promise<void>((resolve) => silent.once('close', () => resolve()));
    expect(s.stats().timeouts).toBe(1);
    await eventually(() => s.stats().permitsInUse === 0, 'permit freed');
  });

  it('closes a client idle between requests, and the client reconnects for the next call', async () => {
    const { port, server: s } = await start({ idleMs: 100 });
    const c = await connect({ port });
    expect(str(await c.call('system.heartbeat'))).toBe('alive');
    await eventually(() => s.stats().timeouts === 1, 'idle connection closed');
    // Give the server's FIN time to reach the client; a call racing it would fail with `io` (never retried:
    // the client cannot know whether the server read it).
    await new Promise((r) => setTimeout(r, 100));
    expect(str(await c.call('system.heartbeat'))).toBe('alive');
    expect(s.stats().acceptedConnections).toBe(2);
    await c.close();
  });
});
