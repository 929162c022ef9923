// Fuzz a live server with thousands of random and mutated frames: no crash, every answer well-formed,
// every permit back, and `system.heartbeat` still answered afterwards.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, createServer, type NetbatServer } from '../src/index.js';
import { testDispatcher } from './helpers/dispatcher.js';
import { MemorySource } from './helpers/memory-source.js';
import { eventually, exchange, loadGoldens, str } from './helpers/net.js';

const CASES = 3000;
const PARALLEL = 32;
const SEED = Number(process.env.NETBAT_FUZZ_SEED ?? Date.now() % 2 ** 31);

const enc = (s: string): number[] => [...new TextEncoder().encode(s)];
const goldens = loadGoldens().map((g) => [...Buffer.from(g.hex, 'hex')]);
const seeds = [
  ...goldens,
  enc('NETBAT/1 CALL system.heartbeat \n'),
  enc('NETBAT/1 CALL echo 00ff\r\n'),
  enc('NETBAT/2 SUBSCRIBE orders.open.v1 - 4\nNETBAT/2 SUB_ACK orders.open.v1 1 0000000000000001\n'),
  enc('NETBAT/2 SUBSCRIBE orders.open.v1 0000000000000001 2\nNETBAT/2 SUB_CANCEL orders.open.v1 client.cancel\n'),
];
const special = fc.constantFrom(0x00, 0x0a, 0x0d, 0x20, 0x2d, 0x2e, 0x7f, 0x80, 0xc3, 0xff, 0x30, 0x61, 0x41);
const byte = fc.oneof(fc.integer({ min: 0, max: 255 }), special);

type Mutation = (input: number[]) => number[];
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.nat(), byte).map(([at, b]): Mutation => (xs) => xs.map((x, i) => (i === at % Math.max(1, xs.length) ? b : x))),
  fc.tuple(fc.nat(), byte).map(([at, b]): Mutation => (xs) => [...xs.slice(0, at % (xs.length + 1)), b, ...xs.slice(at % (xs.length + 1))]),
  fc.nat().map((at): Mutation => (xs) => xs.filter((_, i) => i !== at % Math.max(1, xs.length))),
  fc.nat().map((at): Mutation => (xs) => xs.slice(0, at % (xs.length + 1))),
  fc.tuple(fc.nat(), fc.nat({ max: 40 })).map(([at, len]): Mutation => (xs) => {
    const from = at % (xs.length + 1);
    return [...xs.slice(0, from), ...xs.slice(from, from + len), ...xs.slice(from)];
  }),
  fc.integer({ min: 1, max: 70_000 }).map((len): Mutation => (xs) => [...xs, ...new Array<number>(len).fill(0x61)]),
);

const mutated = fc
  .tuple(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 4 }))
  .map(([seed, ms]) => ms.reduce((xs, m) => m(xs), seed));
const random = fc.array(byte, { maxLength: 300 });
const shaped = fc
  .tuple(
    fc.constantFrom('NETBAT/1 CALL ', 'NETBAT/2 SUBSCRIBE ', 'NETBAT/2 SUB_ACK ', 'NETBAT/1 ', 'NETBAT/2 ', ''),
    fc.string({ maxLength: 40 }),
    fc.constantFrom(' ', '  ', ''),
    fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEFxyz- '), maxLength: 80 }),
    fc.constantFrom('\n', '\r\n', '', '\n\n'),
  )
  .map((parts) => enc(parts.join('')));
const frames = fc.array(fc.oneof(mutated, random, shaped), { minLength: 1, maxLength: 3 }).map((chunks) => new Uint8Array(chunks.flat()));

/** Every line a server may send: OK, ERR, or a NETBAT/2 frame. */
const ANSWER = /^(OK [0-9a-f]*|ERR [a-z_]+ [0-9a-f]*|NETBAT\/2 SUB_(EVENT|WATERMARK|ERR|END) [ -~]+)$/;

describe('INV-NETBAT-NEVER-CRASH: fuzz: live server', () => {
  let server: NetbatServer;
  let port: number;
  beforeAll(async () => {
    const source = new MemorySource().define('orders.open.v1', ['a', 'b', 'c']);
    server = createServer({
      dispatcher: testDispatcher(),
      subscriptions: { source, ackTimeoutMs: 20 },
      connectionLimit: { mode: 'concurrent', max: 16 },
      timeouts: { readMs: 2_000, idleMs: 2_000, writeMs: 2_000 },
    });
    ({ port } = await server.listen(0));
  });
  afterAll(() => server.close());

  it(`survives ${CASES} random and mutated frames and still answers system.heartbeat`, async () => {
    const cases = fc.sample(frames, { numRuns: CASES, seed: SEED });
    const malformedAnswers: string[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < cases.length) {
        const input = cases[next++]!;
        const output = str(await exchange(port, input));
        if (output.length > 0 && !output.endsWith('\n')) malformedAnswers.push(`unterminated: ${JSON.stringify(output.slice(-80))}`);
        for (const line of output.split('\n').slice(0, -1)) {
          if (!ANSWER.test(line)) malformedAnswers.push(line.slice(0, 120));
        }
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    const s = server.stats();
    console.log(
      `netbat fuzz: ${cases.length} cases against a live server (seed ${SEED}, NETBAT_FUZZ_SEED to replay): ` +
        `${s.servedRequests} OK, ${s.failedRequests} ERR, ${s.servedSubscriptions} subscriptions opened, ` +
        `${s.failedSubscriptions} refused, ${s.timeouts} timeouts, ${s.handlerFaults} handler faults`,
    );

    expect(malformedAnswers).toEqual([]);
    await eventually(() => server.stats().permitsInUse === 0 && server.stats().permitsWaiting === 0, 'every permit back');
    const stats = server.stats();
    expect(stats.acceptedConnections).toBe(CASES);
    expect(stats.servedRequests + stats.failedRequests).toBeGreaterThan(CASES / 2);

    const c = await connect({ port });
    expect(str(await c.call('system.heartbeat'))).toBe('alive');
    await c.close();
    // 3,000 connections of CPU-bound work: ~10 s on a quiet 2-core machine, past the 60 s default at load 13.
  }, 240_000);
});
