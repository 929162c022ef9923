// A/B driver for the server's per-request path: one built copy of netbat (its dist directory) serving 64 in-process
// line clients over loopback, as bench scenario 6 does, printing requests/s and process CPU µs per request.
// Invariant: listen, connect and warm-up are outside the timed part; the client is the bench's (one request in flight
// per connection, one write per request).
//
// Compare builds interleaved on a shared machine (A, B, A, B …) and read CPU µs/request before requests/s:
//   mkdir -p node_modules/.ab && cp -r dist node_modules/.ab/base   # before a change (deps resolve from there)
//   node scripts/serve-ab.mjs $PWD/node_modules/.ab/base,$PWD/dist heartbeat 2000 [rounds]
// MODE: null (a dispatcher answering a fixed output at once: netbat's own cost) | heartbeat (system.heartbeat, receipts 'none') | heartbeat-receipts | persist (the bench's bench.persist: one
// 200 B append, receipt banked) | bare (a bare `net` server answering a fixed line: the floor).
// Instructions per request: valgrind --tool=callgrind with REQUESTS=n and 4n (WARM=n requests first, default 2000),
// difference / 3n (WRITERS=1 is steadier: one request in flight, no group timing). SHM=1 puts the store on /dev/shm.
import { mkdtempSync, rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Coordinate, Store } from '@batpak/core';
import * as syncbat from '@batpak/syncbat';
// The bench's own peers (repository-relative: this script runs from a checkout, like the bench).
import { LineClient, bareLineServer } from '../../../bench/src/line-peers.mjs';
import { PERSIST, PERSIST_INPUT, persistCore } from '../../../bench/src/persist-op.mjs';

const [dists, mode = 'heartbeat', msArg = '2000', roundsArg = '1'] = process.argv.slice(2);
if (dists === undefined) throw new Error('usage: node scripts/serve-ab.mjs DIST[,DIST…] [MODE] [MS] [ROUNDS]');
const ms = Number(msArg);
const rounds = Number(roundsArg);
const requests = Number(process.env.REQUESTS ?? 0);
const warm = Number(process.env.WARM ?? 2000);
const WRITERS = Number(process.env.WRITERS ?? 64);


async function setup(dist) {
  const nb = await import(`${dist}/index.js`);
  let store;
  let dir;
  const heartbeatLine = `NETBAT/1 CALL system.heartbeat ${nb.encodeHex(nb.TERMINAL_CODECS['system.heartbeat'].request.encode({ nonce: 'bench-nonce' }))}\n`;
  if (mode === 'bare') return { ...(await bareLineServer()), line: heartbeatLine, done: async () => undefined };
  dir = mkdtempSync(process.env.SHM ? '/dev/shm/serve-ab-' : `${process.env.TMPDIR ?? '/tmp'}/serve-ab-`);
  store = await Store.open({ dir });
  let core;
  let line = heartbeatLine;
  if (mode === 'null') {
    // netbat's own cost: a dispatcher that answers at once with a fixed output (one promise per request).
    const result = { outcome: 'ok', output: new Uint8Array(16).fill(7) };
    core = { dispatch: async () => result };
  } else if (mode === 'heartbeat') core = nb.createTerminalCore({ store, receipts: 'none' });
  else if (mode === 'heartbeat-receipts') core = nb.createTerminalCore({ store });
  else if (mode === 'persist') {
    core = persistCore(syncbat, Coordinate, store);
    line = `NETBAT/1 CALL ${PERSIST} ${nb.encodeHex(PERSIST_INPUT)}\n`;
  } else throw new Error(`unknown mode ${mode}`);
  const server = nb.createServer({ core, connectionLimit: { mode: 'concurrent', max: 256 }, fairness: { maxConnectionsPerClient: 256 } });
  const { port } = await server.listen(0, '127.0.0.1');
  return {
    port,
    line,
    close: () => server.close(),
    done: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function drive(clients, line, more) {
  let n = 0;
  await Promise.all(
    clients.map(async (c) => {
      while (more()) {
        await c.request(line);
        n++;
      }
    }),
  );
  return n;
}

async function cell(dist) {
  const s = await setup(dist);
  const clients = [];
  for (let w = 0; w < WRITERS; w++) clients.push(await LineClient.open(s.port));
  let warmed = 0;
  await drive(clients, s.line, () => warmed++ < warm);
  let issued = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const deadline = t0 + ms;
  const n = await drive(clients, s.line, requests > 0 ? () => issued++ < requests : () => performance.now() < deadline);
  const cpu = process.cpuUsage(c0);
  const seconds = (performance.now() - t0) / 1000;
  for (const c of clients) c.close();
  await s.close();
  await s.done();
  return { n, rate: n / seconds, cpuUs: (cpu.user + cpu.system) / n };
}

const list = dists.split(',');
const results = list.map(() => []);
for (let r = 0; r < rounds; r++) {
  for (let i = 0; i < list.length; i++) {
    const res = await cell(list[i]);
    results[i].push(res);
    console.log(`round ${r} ${list[i].split('/').slice(-2).join('/')} ${mode}: ${Math.round(res.rate)} req/s, ${res.cpuUs.toFixed(1)} µs CPU/req (${res.n})`);
  }
}
if (rounds > 1) {
  const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  for (let i = 0; i < list.length; i++) {
    console.log(`median ${list[i].split('/').slice(-2).join('/')}: ${Math.round(med(results[i].map((x) => x.rate)))} req/s, ${med(results[i].map((x) => x.cpuUs)).toFixed(1)} µs CPU/req`);
  }
}
