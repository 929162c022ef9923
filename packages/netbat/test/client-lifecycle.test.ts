// `client.call` honours an AbortSignal (typed `aborted`, slot freed, no listener left behind), and the
// server and client close through `Symbol.asyncDispose` so `await using` works.
import { describe, expect, it } from 'vitest';
import { NetbatError, connect, createServer, isNetbatError } from '../src/index.js';
import { testDispatcher } from './helpers/dispatcher.js';
import { eventually, str, text } from './helpers/net.js';

async function started(dispatcher = testDispatcher()) {
  const server = createServer({ dispatcher });
  const { port } = await server.listen(0);
  return { server, port, dispatcher };
}

/** Counts 'abort' listeners on a signal by wrapping add/remove (Node has no public getter for EventTarget). */
function listenerCount(signal: AbortSignal): () => number {
  let live = 0;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  const seen = new Set<unknown>();
  signal.addEventListener = ((...args: Parameters<typeof add>) => {
    if (args[0] === 'abort' && !seen.has(args[1])) {
      seen.add(args[1]);
      live++;
    }
    add(...args);
  }) as typeof signal.addEventListener;
  signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
    if (args[0] === 'abort' && seen.delete(args[1])) live--;
    remove(...args);
  }) as typeof signal.removeEventListener;
  return () => live;
}

describe('client.call with a signal', () => {
  it('rejects at once with aborted when the signal already fired, sending nothing', async () => {
    const { server, port, dispatcher } = await started();
    const client = await connect({ port });
    const reason = new Error('user gave up');
    const err = await client.call('echo', text('x'), { signal: AbortSignal.abort(reason) }).catch((e: unknown) => e);
    expect(isNetbatError(err, 'aborted')).toBe(true);
    expect((err as NetbatError).message).toBe('call echo was aborted');
    expect((err as NetbatError).cause).toBe(reason);
    expect(dispatcher.calls).toBe(0);
    await client[Symbol.asyncDispose]();
    await server[Symbol.asyncDispose]();
  });

  it('aborts an in-flight call, and the next call answers correctly on a fresh connection', async () => {
    const { server, port, dispatcher } = await started();
    const client = await connect({ port });
    const controller = new AbortController();
    const pending = client.call('hold', text('late'), { signal: controller.signal });
    await eventually(() => dispatcher.running === 1, 'hold is running');
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'aborted' });
    dispatcher.releaseHeld();
    // The held answer ('late') must not be paired with this call.
    expect(str(await client.call('echo', text('fresh')))).toBe('fresh');
    await client.close();
    await server.close();
  });

  it('frees the slot of a queued call: it is never sent and later calls run', async () => {
    const { server, port, dispatcher } = await started();
    const client = await connect({ port });
    const first = client.call('hold', text('1'));
    await eventually(() => dispatcher.running === 1, 'first call running');
    const controller = new AbortController();
    const queued = client.call('echo', text('2'), { signal: controller.signal });
    const after = client.call('echo', text('3'));
    controller.abort();
    await expect(queued).rejects.toMatchObject({ code: 'aborted' });
    dispatcher.releaseHeld();
    expect(str(await first)).toBe('1');
    expect(str(await after)).toBe('3');
    expect(dispatcher.calls).toBe(2);
    await client.close();
    await server.close();
  });

  it('leaves no abort listener on a long-lived signal shared by many calls', async () => {
    const { server, port } = await started();
    const client = await connect({ port });
    const controller = new AbortController();
    const live = listenerCount(controller.signal);
    for (let i = 0; i < 20; i++) await client.call('ping', text(String(i)), { signal: controller.signal });
    expect(live()).toBe(0);
    await client.close();
    await server.close();
  });
});

describe('Symbol.asyncDispose', () => {
  it('closes server and client like close() (the `await using` protocol)', async () => {
    const { server, port } = await started();
    const client = await connect({ port });
    expect(str(await client.call('system.heartbeat'))).toBe('alive');
    // What `await using` compiles to: dispose in reverse order at scope exit.
    await client[Symbol.asyncDispose]();
    await expect(client.call('ping')).rejects.toMatchObject({ code: 'io' });
    await server[Symbol.asyncDispose]();
    await expect(server.listen(0)).rejects.toMatchObject({ code: 'invalid_option' });
    await expect(connect({ port, timeouts: { connectMs: 2_000 } })).rejects.toMatchObject({ code: 'io' });
  });
});
