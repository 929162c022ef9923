// Request serving end to end over loopback: client calls, runtime errors, contained faults, framing on persistent connections.
import { afterEach, describe, expect, it } from 'vitest';
import { NetbatError, connect, createServer, type NetbatClient, type NetbatServer, type ServerOptions } from '../src/index.js';
import { testDispatcher, type TestDispatcher } from './helpers/dispatcher.js';
import { eventually, exchange, openRaw, str, text, waitForClose } from './helpers/net.js';

let server: NetbatServer | undefined;
let clients: NetbatClient[] = [];

async function start(options: Partial<ServerOptions> = {}): Promise<{ port: number; dispatcher: TestDispatcher }> {
  const dispatcher = testDispatcher();
  server = createServer({ dispatcher, ...options });
  const { port } = await server.listen(0);
  return { port, dispatcher };
}

async function client(port: number): Promise<NetbatClient> {
  const c = await connect({ port });
  clients.push(c);
  return c;
}

async function rejection(p: Promise<unknown>): Promise<NetbatError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof NetbatError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  clients = [];
  await server?.close();
  server = undefined;
});

describe('server: requests', () => {
  it('answers calls on one reused connection', async () => {
    const { port } = await start();
    const c = await client(port);
    expect(str(await c.call('system.heartbeat'))).toBe('alive');
    for (let i = 0; i < 20; i++) expect(await c.call('echo', text(`n${i}`))).toEqual(text(`n${i}`));
    expect(await c.call('fit')).toEqual(new Uint8Array(32 * 1024).fill(0xab));
    expect(server!.stats()).toMatchObject({ acceptedConnections: 1, servedRequests: 22, failedRequests: 0 });
  });

  it('accepts `core` as the api.md spelling of dispatcher', async () => {
    server = createServer({ core: testDispatcher() });
    const { port } = await server.listen(0);
    expect(str(await (await client(port)).call('system.heartbeat'))).toBe('alive');
  });

  it('rejects calls with a NetbatError carrying the runtime ERR code, and keeps serving', async () => {
    const { port } = await start();
    const c = await client(port);
    const cases: Array<[string, string, string]> = [
      ['nope', 'unknown_operation', 'runtime error: unknown operation `nope`'],
      ['fail.missing', 'missing_handler', 'runtime error: operation `fail.missing` has no handler'],
      ['fail.handler', 'handler', 'runtime error: handler `fail.handler` failed with invalid_input: bad payload'],
      ['fail.sink', 'receipt_sink', 'runtime error: receipt sink failed'],
      ['fail.denied', 'runtime', 'runtime error: operation `fail.denied` denied with capability.denied: no grant'],
      ['big', 'output_too_large', 'output exceeded 32768 bytes'],
    ];
    for (const [op, code, message] of cases) {
      const err = await rejection(c.call(op));
      expect([err.code, err.message]).toEqual([code, message]);
    }
    expect(str(await c.call('system.heartbeat'))).toBe('alive');
    expect(server!.stats()).toMatchObject({ servedRequests: 1, failedRequests: 6, handlerFaults: 0 });
  });

  it('contains and counts handler faults (throw, reject, synchronous throw, non-bytes output)', async () => {
    const { port } = await start();
    const c = await client(port);
    for (const op of ['fault.throw', 'fault.reject', 'fault.sync', 'fault.value']) {
      const err = await rejection(c.call(op));
      expect(err.code).toBe('runtime');
      expect(err.message).toContain(`handler fault in \`${op}\``);
      // The internal message stays on the server.
      expect(err.message).not.toContain('boom');
    }
    expect(str(await c.call('system.heartbeat'))).toBe('alive');
    expect(server!.stats()).toMatchObject({ handlerFaults: 4, failedRequests: 4, servedRequests: 1 });
  });

  it('validates operation names on the client before sending', async () => {
    const { port, dispatcher } = await start();
    const c = await client(port);
    const err = await rejection(c.call('bad name\nNETBAT/1 CALL fault.throw '));
    expect(err.code).toBe('malformed_request');
    expect((await rejection(c.call('a..b'))).message).toBe('malformed request: operation dot segments must be non-empty');
    expect((await rejection(c.call('x'.repeat(129)))).code).toBe('operation_name_too_long');
    expect(dispatcher.calls).toBe(0);
  });

  it('answers pipelined requests in order on one connection', async () => {
    const { port } = await start();
    const lines = ['NETBAT/1 CALL echo 01', 'garbage', 'NETBAT/1 CALL tick 02', 'NETBAT/1 CALL nope ', 'NETBAT/1 CALL echo 03'];
    const out = str(await exchange(port, text(lines.join('\n') + '\n')));
    const answers = out.split('\n').filter((l) => l !== '');
    expect(answers).toHaveLength(5);
    expect(answers[0]).toBe('OK 01');
    expect(answers[1]).toMatch(/^ERR malformed_request /);
    expect(answers[2]).toBe('OK 02');
    expect(answers[3]).toMatch(/^ERR unknown_operation /);
    expect(answers[4]).toBe('OK 03');
  });

  it('answers every pipelined request with its own bytes while a slow reader keeps the answers queued', async () => {
    const { port } = await start();
    const raw = await openRaw(port);
    // Answers of one size, each different, more of them than the kernel's socket buffers hold: answers then queue in
    // the server's stream (a partial or waiting write holds the bytes it was given), and none may be written over by
    // a later answer of that size.
    const n = 10_000;
    const answer = (i: number): string => Buffer.alloc(2_000, i % 251).fill(i >>> 8, 0, 1).toString('hex');
    const chunks: Buffer[] = [];
    let got = 0;
    raw.on('data', (c: Buffer) => {
      chunks.push(c);
      got += c.length;
    });
    raw.pause();
    raw.write(Array.from({ length: n }, (_, i) => `NETBAT/1 CALL echo ${answer(i)}\n`).join(''));
    // Reads in short bursts with pauses between, so the server's writes keep meeting a full buffer, then draining.
    while (got < n * (answer(0).length + 4)) {
      await new Promise((r) => setTimeout(r, 20));
      raw.resume();
      await new Promise((r) => setImmediate(r));
      raw.pause();
    }
    raw.destroy();
    const lines = Buffer.concat(chunks).toString('latin1').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(n);
    expect(lines.findIndex((line, i) => line !== `OK ${answer(i)}`)).toBe(-1);
  });

  it("answers the legacy prefix-less frame `CALL ping …` with Rust's ERR line, byte for byte (issue 24)", async () => {
    const { port, dispatcher } = await start();
    const out = str(await exchange(port, text('CALL ping 00\n')));
    expect(out).toBe(`ERR malformed_request ${Buffer.from('malformed request: missing NETBAT/1 protocol prefix').toString('hex')}\n`);
    expect(dispatcher.calls).toBe(0);
  });

  it('never executes an unterminated request followed by FIN (issue 26 item 7): answers malformed_request, dispatches nothing', async () => {
    const { port, dispatcher } = await start();
    // A complete request first, then one cut short by the half-close: only the first runs.
    const out = str(await exchange(port, text('NETBAT/1 CALL echo 01\nNETBAT/1 CALL echo 6f6b')));
    expect(out).toBe(`OK 01\nERR malformed_request ${Buffer.from('malformed request: line ended without a newline').toString('hex')}\n`);
    expect(dispatcher.calls).toBe(1);
    expect(str(await exchange(port, text('NETBAT/2 SUBSCRIBE events.1.v1 - 4')))).toMatch(/^ERR malformed_request /);
    expect(server!.stats()).toMatchObject({ servedRequests: 1, failedRequests: 2, servedSubscriptions: 0 });
  });

  it('answers line_too_long then closes, because the rest of the line has no frame boundary', async () => {
    const { port } = await start({ limits: { maxLineBytes: 64 } });
    const out = str(await exchange(port, text(`NETBAT/1 CALL echo ${'00'.repeat(40)}\nNETBAT/1 CALL echo 01\n`), { halfClose: false }));
    expect(out).toBe(`ERR line_too_long ${Buffer.from('request line exceeded 64 bytes').toString('hex')}\n`);
    await eventually(() => server!.stats().permitsInUse === 0, 'permit released');
  });

  it('closes a connection after maxRequestsPerConnection, and the client reconnects', async () => {
    const { port } = await start({ maxRequestsPerConnection: 1 });
    const c = await client(port);
    for (let i = 0; i < 3; i++) {
      expect(str(await c.call('system.heartbeat'))).toBe('alive');
      await eventually(() => server!.stats().permitsInUse === 0, 'connection closed after one request');
    }
    expect(server!.stats().acceptedConnections).toBe(3);
  });

  it('survives connect-and-close and resets without counting a request', async () => {
    const { port } = await start();
    for (let i = 0; i < 10; i++) {
      const raw = await openRaw(port);
      if (i % 2 === 0) raw.end();
      else raw.resetAndDestroy();
      await waitForClose(raw);
    }
    await eventually(() => server!.stats().permitsInUse === 0, 'all released');
    expect(server!.stats()).toMatchObject({ servedRequests: 0, failedRequests: 0, acceptedConnections: 10 });
    expect(str(await (await client(port)).call('system.heartbeat'))).toBe('alive');
  });

  it('aborts the dispatch signal when the client goes away', async () => {
    const { port, dispatcher } = await start();
    const raw = await openRaw(port);
    raw.write('NETBAT/1 CALL wait.abort \n');
    await eventually(() => dispatcher.running === 1, 'handler running');
    // A reset, not a FIN: a half-closed client may still be waiting for its answer.
    raw.resetAndDestroy();
    await eventually(() => dispatcher.running === 0, 'handler saw abort');
    await eventually(() => server!.stats().permitsInUse === 0, 'permit released');
  });

  it('stops reading a pipelining client that never reads its answers, and closes it at the write deadline', async () => {
    const { port, dispatcher } = await start({ timeouts: { writeMs: 300 } });
    const raw = await openRaw(port);
    raw.on('error', () => undefined);
    // 2,000 requests for 64 KiB answer lines (128 MB in all), sent at once; this client never reads.
    raw.write('NETBAT/1 CALL fit \n'.repeat(2_000));
    await eventually(() => server!.stats().timeouts === 1, 'closed after the write deadline');
    // Once an answer stops draining the server reads no further line: what it holds is bounded by the socket buffers,
    // not by what the client sent, and the requests behind it are never dispatched.
    expect(dispatcher.calls).toBeLessThan(1_000);
    raw.destroy();
    await eventually(() => server!.stats().permitsInUse === 0, 'permit released');
  });

  it('refuses bad options with typed errors', () => {
    const d = testDispatcher();
    const bad: Array<[Partial<ServerOptions>, string]> = [
      [{}, 'dispatcher'],
      [{ dispatcher: d, core: testDispatcher() }, 'either'],
      [{ dispatcher: d, connectionLimit: { mode: 'concurrent', max: 0 } }, 'connectionLimit.max'],
      [{ dispatcher: d, connectionLimit: { mode: 'lifetime', max: 1.5 } }, 'connectionLimit.max'],
      [{ dispatcher: d, connectionLimit: { mode: 'bogus' } } as unknown as ServerOptions, 'mode'],
      [{ dispatcher: d, limits: { maxLineBytes: -1 } }, 'limits.maxLineBytes'],
      [{ dispatcher: d, timeouts: { readMs: 0 } }, 'timeouts.readMs'],
      [{ dispatcher: d, subscriptionDispatch: 'parallel' as 'concurrent' }, 'subscriptionDispatch'],
      [{ dispatcher: d, maxRequestsPerConnection: 0 }, 'maxRequestsPerConnection'],
    ];
    for (const [options, mention] of bad) {
      let caught: unknown;
      try {
        createServer(options as ServerOptions);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(NetbatError);
      expect((caught as NetbatError).code).toBe('invalid_option');
      expect((caught as NetbatError).message).toContain(mention);
    }
  });

  it('fails connect() with an io error when nothing listens', async () => {
    const { port } = await start();
    await server!.close();
    server = undefined;
    const err = await rejection(connect({ port }));
    expect(err.code).toBe('io');
  });

  it('close() ends idle connections and resolves', async () => {
    const { port } = await start();
    const c = await client(port);
    expect(str(await c.call('system.heartbeat'))).toBe('alive');
    await server!.close();
    expect(server!.stats().permitsInUse).toBe(0);
    expect((await rejection(c.call('system.heartbeat'))).code).toBe('io');
  });
});
