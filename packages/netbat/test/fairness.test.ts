// Fair slots (INV-NETBAT-FAIR-SLOTS): idle holders, slow heartbeaters and quiet subscribers cannot keep a waiting client out,
// and one address or principal cannot take more than its share of connections. Timeouts are small; bounds are generous.
import { connect as netConnect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, createServer, type NetbatClient, type NetbatServer, type ServerOptions, type SubscriptionDelivery } from '../src/index.js';
import { testDispatcher } from './helpers/dispatcher.js';
import { MemorySource } from './helpers/memory-source.js';
import { eventually, openRaw, str, text } from './helpers/net.js';

let server: NetbatServer | undefined;
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  await server?.close();
  server = undefined;
});

async function start(options: Partial<ServerOptions>): Promise<{ port: number; server: NetbatServer }> {
  const s = createServer({
    dispatcher: testDispatcher(),
    connectionLimit: { mode: 'concurrent', max: 4 },
    // The idle timeout is far away: only the fairness policy can free a slot within the test.
    timeouts: { idleMs: 60_000 },
    ...options,
  });
  server = s;
  const { port } = await s.listen(0);
  return { port, server: s };
}

/** Resolves with the call's answer, or 'starved' when it has none after `ms` (generous: the policy acts in tens of ms). */
async function answeredWithin(call: Promise<Uint8Array>, ms: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const starved = new Promise<string>((resolve) => (timer = setTimeout(() => resolve('starved'), ms)));
  try {
    return await Promise.race([call.then(str), starved]);
  } finally {
    clearTimeout(timer);
  }
}

function rawFrom(port: number, localAddress: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ port, host: '127.0.0.1', localAddress });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

function firstLine(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    socket.on('data', (chunk: Buffer) => {
      got += chunk.toString('utf8');
      if (got.includes('\n')) resolve(got.slice(0, got.indexOf('\n') + 1));
    });
    socket.on('close', () => resolve(got));
  });
}

describe('INV-NETBAT-FAIR-SLOTS: fair slots', () => {
  it('issue 26 item 6: four slow heartbeaters on a pool of four do not keep a fifth client from an answer', async () => {
    const { port, server: s } = await start({ fairness: { reclaimIdleMs: 50 } });
    let stop = false;
    const beaters: NetbatClient[] = [];
    for (let i = 0; i < 4; i++) beaters.push(await connect({ port }));
    const loops = beaters.map(async (c) => {
      while (!stop) {
        // A reclaimed connection may race a heartbeat (io error); a slow client just tries again later.
        await c.call('system.heartbeat').catch(() => undefined);
        await new Promise((r) => setTimeout(r, 300));
      }
    });
    cleanups.push(async () => {
      stop = true;
      await Promise.all(loops);
      await Promise.all(beaters.map((c) => c.close()));
    });
    await eventually(() => s.stats().servedRequests >= 4, 'every heartbeater served once');
    const fifth = await connect({ port });
    cleanups.push(() => fifth.close());
    expect(await answeredWithin(fifth.call('echo', text('me too')), 5_000)).toBe('me too');
    expect(s.stats().reclaimedConnections).toBeGreaterThanOrEqual(1);
  });

  it('issue 17 item 11: silent holders give their permit to a waiting client (oldest first, one per waiter)', async () => {
    const { port, server: s } = await start({ fairness: { reclaimIdleMs: 50 } });
    const holders = await Promise.all(Array.from({ length: 4 }, () => openRaw(port)));
    cleanups.push(() => holders.forEach((h) => h.destroy()));
    await eventually(() => s.stats().permitsInUse === 4, 'four holders admitted');
    const waiting = await connect({ port });
    cleanups.push(() => waiting.close());
    expect(await answeredWithin(waiting.call('system.heartbeat'), 5_000)).toBe('alive');
    // Exactly one holder made room: there was one waiter.
    expect(s.stats().reclaimedConnections).toBe(1);
  });

  it('issue 17 item 11: quiet subscribers are ended with a resumable server.reclaimed when a client waits', async () => {
    const source = new MemorySource().define('quiet.v1', ['a']);
    const { port, server: s } = await start({ fairness: { reclaimIdleMs: 50 }, subscriptions: { source } });
    const clients = await Promise.all(Array.from({ length: 4 }, () => connect({ port })));
    cleanups.push(() => Promise.all(clients.map((c) => c.close())));
    const seen: SubscriptionDelivery[][] = clients.map(() => []);
    const drains = clients.map(async (c, i) => {
      for await (const d of c.subscribe('quiet.v1', { window: 4 })) seen[i]!.push(d);
    });
    await eventually(() => seen.every((s) => s.some((d) => d.kind === 'watermark')), 'four subscribers caught up');
    const waiting = await connect({ port });
    cleanups.push(() => waiting.close());
    expect(await answeredWithin(waiting.call('system.heartbeat'), 5_000)).toBe('alive');
    const ended = seen.flat().filter((d) => d.kind === 'end');
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ kind: 'end', reason: 'server.reclaimed' });
    expect(s.stats().reclaimedConnections).toBe(1);
    await Promise.race([Promise.any(drains), new Promise((r) => setTimeout(r, 2_000))]);
  });

  it('a client that keeps busy keeps its slot: nothing is reclaimed while nobody waits', async () => {
    const { port, server: s } = await start({ fairness: { reclaimIdleMs: 20 } });
    const c = await connect({ port });
    cleanups.push(() => c.close());
    expect(str(await c.call('system.heartbeat'))).toBe('alive');
    await new Promise((r) => setTimeout(r, 100));
    expect(str(await c.call('system.heartbeat'))).toBe('alive');
    expect(s.stats()).toMatchObject({ reclaimedConnections: 0, acceptedConnections: 1 });
  });

  it('one address holds at most maxConnectionsPerClient connections; more are closed at once and counted', async () => {
    const { port, server: s } = await start({ connectionLimit: { mode: 'concurrent', max: 8 }, fairness: { maxConnectionsPerClient: 2 } });
    const a = await rawFrom(port, '127.0.0.2');
    const b = await rawFrom(port, '127.0.0.2');
    const c = await rawFrom(port, '127.0.0.2');
    cleanups.push(() => [a, b, c].forEach((x) => x.destroy()));
    c.on('error', () => undefined);
    await new Promise<void>((resolve) => {
      const bound = setTimeout(resolve, 5_000); // bounded: a server without the cap would keep it open
      c.once('close', () => (clearTimeout(bound), resolve()));
    });
    expect(s.stats().refusedConnections).toBe(1);
    // Another address is unaffected.
    const other = await rawFrom(port, '127.0.0.3');
    cleanups.push(() => other.destroy());
    other.write('NETBAT/1 CALL system.heartbeat \n');
    expect(await firstLine(other)).toBe(`OK ${Buffer.from('alive').toString('hex')}\n`);
    a.write('NETBAT/1 CALL system.heartbeat \n');
    expect(await firstLine(a)).toBe(`OK ${Buffer.from('alive').toString('hex')}\n`);
  });

  it('one principal holds at most maxConnectionsPerClient connections, from any address: too_many_connections', async () => {
    const token = 'alice-token-0123456789';
    const { port, server: s } = await start({
      fairness: { maxConnectionsPerClient: 1 },
      auth: { principals: { alice: ['*'] }, tokens: [{ principal: 'alice', token }] },
    });
    const auth = `NETBAT/1 AUTH token ${Buffer.from(token).toString('hex')}\n`;
    const first = await rawFrom(port, '127.0.0.2');
    const second = await rawFrom(port, '127.0.0.3');
    cleanups.push(() => [first, second].forEach((x) => x.destroy()));
    first.write(auth);
    expect(await firstLine(first)).toBe(`OK ${Buffer.from('alice').toString('hex')}\n`);
    second.write(auth);
    expect(await firstLine(second)).toBe(`ERR too_many_connections ${Buffer.from('too many connections: at most 1 per client').toString('hex')}\n`);
    expect(s.stats().refusedConnections).toBe(1);
  });

  it('a connection serves one subscription at most: a second SUBSCRIBE on it ends the session', async () => {
    const source = new MemorySource().define('quiet.v1', ['a']);
    const { port } = await start({ subscriptions: { source } });
    const raw = await openRaw(port);
    cleanups.push(() => raw.destroy());
    let got = '';
    raw.on('data', (chunk: Buffer) => (got += chunk.toString('utf8')));
    raw.write('NETBAT/2 SUBSCRIBE quiet.v1 - 4\n');
    await eventually(() => got.includes('SUB_WATERMARK'), 'session caught up');
    raw.write('NETBAT/2 SUBSCRIBE quiet.v1 - 4\n');
    await eventually(() => got.includes('SUB_ERR quiet.v1 malformed_stream_frame'), 'second SUBSCRIBE refused');
    expect(source.opens).toBe(1);
  });

  it('refuses bad fairness options with invalid_option', () => {
    expect(() => createServer({ dispatcher: testDispatcher(), fairness: { reclaimIdleMs: 0 } })).toThrow(/reclaimIdleMs/);
    expect(() => createServer({ dispatcher: testDispatcher(), fairness: { maxConnectionsPerClient: 1.5 } })).toThrow(/maxConnectionsPerClient/);
  });
});
