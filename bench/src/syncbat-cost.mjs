// One process, one cell of the syncbat scenario (bench/src/scenarios/syncbat.mjs): 64 (or 1) persist dispatches or core
// appendRaw calls, or one network cell (loopback line clients against a bare `net` server or a netbat server), printing
// rate and CPU µs per call (user and system). Invariant: the timed window starts after warm-up calls (200 in process,
// 400 over the network).
//
// For instructions per call that do not move with the machine's load, run it under callgrind with V8's deterministic
// mode (two runs of one build differ by a few instructions in all), at two counts, and take the slope; every cell with a
// store (heartbeat-receipts and netbat-persist too) can run on SimFs (no disk, and under valgrind far faster than one):
//   BATPAK_BENCH_SIMFS=1 valgrind --tool=callgrind node --predictable bench/src/syncbat-cost.mjs <repo> 64 N:2000
//   valgrind --tool=callgrind node --predictable bench/src/syncbat-cost.mjs <repo> 64 N:1000 heartbeat
// Take both counts at N:2000 or more (e.g. 2000 and 4000): the persist cell is still warming up (JIT) well past its
// 200 warm-up calls — ~890k instructions per dispatch from 1 to 1,000, ~550k from 1,000 to 2,000, ~295k from 2,000
// to 4,000 — so a slope from N:1000 mixes warm-up into steady state. A SimFs store is no longer closed at the end:
// close() seals an active segment of 1 MiB or more (an index file built, O(events)), which put 48.5M instructions
// into the count at 3,000 persist dispatches (one writer) and 74M at 6,000, so the slope carried ~8.5k per dispatch
// of it (208.6k -> 200.1k). A/B differences of two builds at the same counts were sound either way. Counts at N:1000 repeat within ~0.2M; at
// N:4000 within ~1M, with an occasional +12M outlier (group sizes follow wall-clock timing): run each twice. The network
// cells' slopes also carry TurboFan compile and major-GC work that moves with valgrind's timing (from N:1000 to N:3000,
// 30k of bare-net's 62.8k per request was compiler); compare them without those (callgrind_annotate by function).
// Besides rate and CPU it prints loopBusy (event-loop utilization over the timed window: under 1, the process waited on
// I/O) and, with a store, the window's commit groups: groups, callsPerGroup, and the store's write/fsync p50.
// Usage: node bench/src/syncbat-cost.mjs <repo root with built packages> <writers> <ms | N:calls> [mode]
// Modes: persist (default), append, bare-net, heartbeat, heartbeat-receipts, netbat-persist, and netbat-echo (netbat
// serving a dispatcher that answers fixed bytes without syncbat: netbat's own share of a request).

import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { bareLineServer } from './line-peers.mjs';
import { PERSIST, PERSIST_INPUT, PERSIST_KIND, PERSIST_PAYLOAD, persistCore as persistCoreOf } from './persist-op.mjs';

const [rootArg = '.', writersArg = '64', spec = '3000', mode = 'persist'] = process.argv.slice(2);
const MODES = ['persist', 'append', 'bare-net', 'heartbeat', 'heartbeat-receipts', 'netbat-persist', 'netbat-echo'];
if (!MODES.includes(mode)) throw new Error(`unknown mode ${mode}: one of ${MODES.join(', ')}`);
const root = resolve(rootArg);
const { Store, Coordinate } = await import(join(root, 'packages/core/dist/index.js'));
const syncbat = await import(join(root, 'packages/syncbat/dist/index.js'));

const networked = mode.includes('net') || mode.startsWith('heartbeat');

const dir = mkdtempSync(join(tmpdir(), 'syncbat-cost-'));
let fs;
// SimFs (no disk) for every mode with a store, the network ones included: the store's writes then cost no I/O wait.
const usesStore = mode !== 'bare-net' && mode !== 'netbat-echo';
if (process.env.BATPAK_BENCH_SIMFS === '1' && usesStore) fs = new (await import(join(root, 'packages/core/dist/testing.js'))).SimFs({ seed: 1 });
const store = usesStore ? await Store.open(fs === undefined ? { dir } : { dir: '/sim/store', fs }) : undefined;

const persistCore = () => persistCoreOf(syncbat, Coordinate, store);

/** One socket speaking request/response lines (the scenario's light client). */
async function lineClient(port) {
  const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
  socket.setEncoding('latin1');
  await new Promise((res, rej) => socket.once('connect', res).once('error', rej));
  let buffer = '';
  const waiting = [];
  // A connection that closes under a waiting request fails the run instead of hanging it.
  socket.on('close', () => {
    for (const w of waiting.splice(0)) w.reject(new Error('connection closed with a request in flight'));
  });
  socket.on('data', (chunk) => {
    buffer += chunk;
    let nl;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      const w = waiting.shift();
      if (line.startsWith('OK')) w?.resolve(line);
      else w?.reject(new Error(`server answered ${line.slice(0, 120)}`));
    }
  });
  return {
    request: (line) => new Promise((resolve, reject) => { waiting.push({ resolve, reject }); socket.write(line); }),
    close: () => socket.destroy(),
  };
}

/** A listener for the network modes: a bare line server answering one fixed line, or netbat over a syncbat Core. */
async function listen() {
  if (mode === 'bare-net') return bareLineServer();
  const { createServer, createTerminalCore } = await import(join(root, 'packages/netbat/dist/index.js'));
  const echo = { outcome: 'completed', output: new Uint8Array(41).fill(7) };
  const core =
    mode === 'netbat-echo' ? { dispatch: async () => echo } : mode === 'netbat-persist' ? persistCore() : createTerminalCore({ store, ...(mode === 'heartbeat' ? { receipts: 'none' } : {}) });
  // Long idle and read deadlines: under valgrind, connecting 64 clients can take longer than the 30 s idle default, and a
  // connection the server closes for idling would leave its client waiting (a hung run, not a slow one).
  const server = createServer({
    core,
    connectionLimit: { mode: 'concurrent', max: 256 },
    fairness: { maxConnectionsPerClient: 256 },
    timeouts: { idleMs: 3_600_000, readMs: 3_600_000 },
  });
  const { port } = await server.listen(0, '127.0.0.1');
  return { port, close: () => server.close() };
}

const writers = Number(writersArg);
let call;
let teardown = async () => undefined;
let warmup = 200;
if (networked) {
  const { TERMINAL_CODECS, encodeHex } = await import(join(root, 'packages/netbat/dist/index.js'));
  const line =
    mode === 'netbat-persist'
      ? `NETBAT/1 CALL ${PERSIST} ${encodeHex(PERSIST_INPUT)}\n`
      : `NETBAT/1 CALL system.heartbeat ${encodeHex(TERMINAL_CODECS['system.heartbeat'].request.encode({ nonce: 'bench-nonce' }))}\n`;
  const server = await listen();
  const clients = [];
  for (let w = 0; w < writers; w++) clients.push(await lineClient(server.port));
  call = (w) => clients[w % writers].request(line);
  warmup = 400;
  teardown = async () => {
    for (const c of clients) c.close();
    await server.close();
  };
} else if (mode === 'append') {
  const coords = Array.from({ length: 64 }, (_, i) => new Coordinate(`writer-${i}`, 'bench'));
  call = (w) => store.appendRaw(coords[w % 64], PERSIST_KIND, PERSIST_PAYLOAD);
} else {
  const core = persistCore();
  call = () => core.dispatch(PERSIST, PERSIST_INPUT);
}

const total = spec.startsWith('N:') ? Number(spec.slice(2)) : Infinity;
for (let i = 0; i < warmup; i++) await call(i % writers);
let calls = 0;
const deadline = performance.now() + (total === Infinity ? Number(spec) : 1e12);
const groups0 = store?.stats().commits?.groups ?? 0;
const elu0 = performance.eventLoopUtilization();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const loop = async (w) => {
  while (performance.now() < deadline && calls < total) {
    calls++;
    await call(w);
  }
};
await Promise.all(Array.from({ length: writers }, (_, w) => loop(w)));
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const loopBusy = +performance.eventLoopUtilization(elu0).utilization.toFixed(2);
const per = (micros) => +(micros / calls).toFixed(1);
// With a store: the commit groups of the timed window, so a cell whose loop idles (loopBusy well under 1) shows whether
// its calls shared fsyncs. Write and fsync times are the store's p50 since open (warm-up included).
const commits = store?.stats().commits;
const grouping =
  commits === undefined || commits.groups === groups0
    ? {}
    : { groups: commits.groups - groups0, callsPerGroup: +(calls / Math.max(1, commits.groups - groups0)).toFixed(1), writeMsP50: commits.writeMs.p50, fsyncMsP50: commits.fsyncMs.p50 };
console.log(
  JSON.stringify({ mode, writers, calls, rate: Math.round(calls / seconds), cpuMicrosPerCall: per(cpu.user + cpu.system), userMicros: per(cpu.user), systemMicros: per(cpu.system), loopBusy, ...grouping }),
);
await teardown();
// A SimFs store lives in memory and dies with the process: it is not closed, because close() seals an active segment
// of 1 MiB or more (its index file encoded, O(events)), a one-off cost that would land in the instruction totals the
// slope divides by calls — and only at counts whose store is large enough to seal.
if (fs === undefined) await store?.close();
rmSync(dir, { recursive: true, force: true });
