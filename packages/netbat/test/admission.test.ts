// Connection limits on loopback: the concurrent permit pool (wait, never refuse), release on every exit path,
// lifetime and unlimited modes, and descriptors back to baseline afterwards.
import { afterEach, describe, expect, it } from 'vitest';
import { NetbatError, connect, createServer, type NetbatClient, type NetbatServer, type ServerOptions } from '../src/index.js';
import { testDispatcher, type TestDispatcher } from './helpers/dispatcher.js';
import { eventually, openFds, openRaw, str, text, waitForClose } from './helpers/net.js';

let server: NetbatServer | undefined;

async function start(options: Partial<ServerOptions>): Promise<{ port: number; dispatcher: TestDispatcher; server: NetbatServer }> {
  const dispatcher = testDispatcher();
  const s = createServer({ dispatcher, ...options });
  server = s;
  const { port } = await s.listen(0);
  return { port, dispatcher, server: s };
}

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setTimeout(r, 20));
  return done;
}

describe('INV-NETBAT-PERMIT-RELEASE: concurrent connection limit', () => {
  it('with max 4, 50 parallel clients all complete, never more than 4 served at once, and descriptors return to baseline', async () => {
    const baseline = openFds();
    const { port, dispatcher, server: s } = await start({ connectionLimit: { mode: 'concurrent', max: 4 } });

    const results = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const c = await connect({ port });
        try {
          const out: string[] = [];
          for (let k = 0; k < 3; k++) out.push(str(await c.call('tick', text(`${i}:${k}`))));
          return out;
        } finally {
          await c.close();
        }
      }),
    );

    results.forEach((out, i) => expect(out).toEqual([`${i}:0`, `${i}:1`, `${i}:2`]));
    expect(dispatcher.peakRunning).toBeLessThanOrEqual(4);
    expect(s.stats().peakPermitsInUse).toBe(4);
    expect(s.stats()).toMatchObject({ acceptedConnections: 50, servedRequests: 150, failedRequests: 0, handlerFaults: 0 });
    await eventually(() => s.stats().permitsInUse === 0 && s.stats().permitsWaiting === 0, 'pool drained');

    await s.close();
    server = undefined;
    await eventually(() => openFds() <= baseline, `fds back to baseline ${baseline} (now ${openFds()})`);
  });

  it('holds the 5th connection paused until a permit frees, then serves it', async () => {
    const { port, dispatcher, server: s } = await start({ connectionLimit: { mode: 'concurrent', max: 4 } });
    const holders: NetbatClient[] = [];
    const held: Array<Promise<Uint8Array>> = [];
    for (let i = 0; i < 4; i++) {
      const c = await connect({ port });
      holders.push(c);
      held.push(c.call('hold', text(`h${i}`)));
    }
    await eventually(() => dispatcher.running === 4, 'four handlers running');

    // The 5th is accepted (connect succeeds) but waits: it is not refused.
    const fifth = await connect({ port });
    const fifthCall = fifth.call('system.heartbeat');
    await eventually(() => s.stats().permitsWaiting === 1, 'fifth waiting for a permit');
    expect(s.stats().permitsInUse).toBe(4);
    expect(await settled(fifthCall)).toBe(false);
    expect(dispatcher.running).toBe(4);

    // One holder finishes and leaves: its permit passes to the 5th.
    dispatcher.releaseHeld();
    expect(str(await held[0]!)).toBe('h0');
    await holders[0]!.close();
    expect(str(await fifthCall)).toBe('alive');
    expect(s.stats().peakPermitsInUse).toBe(4);

    await Promise.all(held);
    await Promise.all([...holders, fifth].map((c) => c.close()));
    await eventually(() => s.stats().permitsInUse === 0, 'all permits back');
  });

  it('releases the permit of a connection whose dispatcher throws or rejects', async () => {
    const { port, server: s } = await start({ connectionLimit: { mode: 'concurrent', max: 1 } });
    for (const op of ['fault.throw', 'fault.reject', 'fault.sync']) {
      const c = await connect({ port });
      await expect(c.call(op)).rejects.toBeInstanceOf(NetbatError);
      await c.close();
      await eventually(() => s.stats().permitsInUse === 0, `permit released after ${op}`);
    }
    // With max 1, this only answers if every permit above came back.
    const c = await connect({ port });
    expect(str(await c.call('system.heartbeat'))).toBe('alive');
    await c.close();
    expect(s.stats().handlerFaults).toBe(3);
  });

  it('passes the permit on when the holder resets mid-dispatch', async () => {
    const { port, dispatcher, server: s } = await start({ connectionLimit: { mode: 'concurrent', max: 1 } });
    const first = await openRaw(port);
    first.write('NETBAT/1 CALL hold \n');
    await eventually(() => dispatcher.running === 1, 'first holds the only permit');
    const second = await connect({ port });
    const waiting = second.call('system.heartbeat');
    await eventually(() => s.stats().permitsWaiting === 1, 'second waiting');
    // The holder vanishes mid-dispatch; once its handler returns, the answer cannot be written and the permit moves on.
    first.resetAndDestroy();
    dispatcher.releaseHeld();
    expect(str(await waiting)).toBe('alive');
    await second.close();
    await eventually(() => s.stats().permitsInUse === 0, 'all permits back');
  });

  it('drops connections still waiting for a permit when the server closes', async () => {
    const { port, dispatcher, server: s } = await start({ connectionLimit: { mode: 'concurrent', max: 1 } });
    const first = await connect({ port });
    const hold = first.call('hold');
    await eventually(() => dispatcher.running === 1, 'holding');
    const waiters = await Promise.all([openRaw(port), openRaw(port)]);
    await eventually(() => s.stats().permitsWaiting === 2, 'two waiting');
    const closing = s.close();
    await Promise.all(waiters.map(waitForClose));
    dispatcher.releaseHeld();
    expect(str(await hold)).toBe('');
    await closing;
    server = undefined;
    expect(s.stats()).toMatchObject({ permitsInUse: 0, permitsWaiting: 0 });
    await first.close();
  });
});

describe('lifetime and unlimited limits', () => {
  it('lifetime(n) serves n connections, then stops accepting', async () => {
    const { port, server: s } = await start({ connectionLimit: { mode: 'lifetime', max: 3 } });
    for (let i = 0; i < 3; i++) {
      const c = await connect({ port });
      expect(str(await c.call('system.heartbeat'))).toBe('alive');
      await c.close();
    }
    let refused: unknown;
    try {
      const late = await connect({ port });
      await late.call('system.heartbeat');
      await late.close();
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(NetbatError);
    expect((refused as NetbatError).code).toBe('io');
    expect(s.stats()).toMatchObject({ acceptedConnections: 3, servedRequests: 3 });
  });

  it('unlimited serves every connection at once', async () => {
    const { port, dispatcher, server: s } = await start({ connectionLimit: { mode: 'unlimited' } });
    const clients = await Promise.all(Array.from({ length: 20 }, () => connect({ port })));
    const calls = clients.map((c, i) => c.call('hold', text(String(i))));
    await eventually(() => dispatcher.running === 20, 'twenty handlers at once');
    expect(s.stats().permitsWaiting).toBe(0);
    dispatcher.releaseHeld();
    expect((await Promise.all(calls)).map(str)).toEqual(clients.map((_, i) => String(i)));
    await Promise.all(clients.map((c) => c.close()));
  });
});
