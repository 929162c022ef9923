// Scenario 6 (issue 25): syncbat and netbat against the store they sit on — persist dispatches with receipts banked
// in the store vs core appendRaw, over loopback vs core appends, and system.heartbeat vs a bare `net` line server.
// Invariant: every pair of a ratio runs interleaved in the same rounds, with the same payload, writers and time box.

import { Coordinate } from '@batpak/core';
import * as syncbat from '@batpak/syncbat';
import { TERMINAL_CODECS, createServer, createTerminalCore, encodeHex } from '@batpak/netbat';
import { driveWriters, interleave } from '../harness.mjs';
import { median, spread } from '../stats.mjs';
import { withStore } from '../batpak.mjs';
import { LineClient, bareLineServer } from '../line-peers.mjs';
import { PERSIST, PERSIST_INPUT, PERSIST_KIND, PERSIST_PAYLOAD, persistCore as persistCoreOf } from '../persist-op.mjs';

/** The issue's persist operation (one 200 B append through the Ctx) over `store`. */
const persistCore = (store) => persistCoreOf(syncbat, Coordinate, store);

async function inProcessCell(label, writers, ms, makeAppend) {
  return withStore(label, async (store) => driveWriters({ append: makeAppend(store) }, writers, ms));
}

/** A listener on an ephemeral loopback port and `writers` line clients; all torn down with the cell. */
async function networkCell(writers, ms, listen, line) {
  const { port, close } = await listen();
  const clients = [];
  try {
    for (let w = 0; w < writers; w++) clients.push(await LineClient.open(port));
    return await driveWriters({ append: (w) => clients[w].request(line) }, writers, ms);
  } finally {
    for (const c of clients) c.close();
    await close();
  }
}

function netbatListener(core) {
  return async () => {
    const server = createServer({ core, connectionLimit: { mode: 'concurrent', max: 256 }, fairness: { maxConnectionsPerClient: 256 } });
    const { port } = await server.listen(0, '127.0.0.1');
    return { port, close: () => server.close() };
  };
}


const persistLine = `NETBAT/1 CALL ${PERSIST} ${encodeHex(PERSIST_INPUT)}\n`;
const heartbeatLine = `NETBAT/1 CALL system.heartbeat ${encodeHex(TERMINAL_CODECS['system.heartbeat'].request.encode({ nonce: 'bench-nonce' }))}\n`;

export const SYNCBAT_RATIOS = {
  persist64_vs_append64: ['syncbat-persist/64', 'core-append/64', 0.8],
  persist1_vs_append1: ['syncbat-persist/1', 'core-append/1', 0.9],
  netbatPersist64_vs_append64: ['netbat-persist/64', 'core-append/64', 0.6],
  heartbeatReceipts_vs_bareNet: ['heartbeat-receipts/64', 'bare-net/64', 0.5],
  heartbeatNoReceipts_vs_bareNet: ['heartbeat-no-receipts/64', 'bare-net/64', 0.8],
};

export async function syncbatScenario(cfg, log) {
  const append = (store) => {
    const coords = Array.from({ length: 64 }, (_, i) => new Coordinate(`writer-${i}`, 'bench'));
    return (w) => store.appendRaw(coords[w], PERSIST_KIND, PERSIST_PAYLOAD);
  };
  const dispatch = (store) => {
    const core = persistCore(store);
    return () => core.dispatch(PERSIST, PERSIST_INPUT);
  };
  const cells = [
    { key: 'core-append/64', run: (ms) => inProcessCell('sb-append-64', 64, ms, append) },
    { key: 'syncbat-persist/64', run: (ms) => inProcessCell('sb-persist-64', 64, ms, dispatch) },
    { key: 'core-append/1', run: (ms) => inProcessCell('sb-append-1', 1, ms, append) },
    { key: 'syncbat-persist/1', run: (ms) => inProcessCell('sb-persist-1', 1, ms, dispatch) },
    { key: 'netbat-persist/64', run: (ms) => withStore('sb-net-persist', (store) => networkCell(64, ms, netbatListener(persistCore(store)), persistLine)) },
    { key: 'bare-net/64', run: (ms) => networkCell(64, ms, bareLineServer, heartbeatLine) },
    {
      key: 'heartbeat-receipts/64',
      run: (ms) => withStore('sb-hb-receipts', (store) => networkCell(64, ms, netbatListener(createTerminalCore({ store })), heartbeatLine)),
    },
    {
      key: 'heartbeat-no-receipts/64',
      run: (ms) => withStore('sb-hb-none', (store) => networkCell(64, ms, netbatListener(createTerminalCore({ store, receipts: 'none' })), heartbeatLine)),
    },
  ].map((c) => ({ key: c.key, run: (round) => c.run(round < 0 ? cfg.appendWarmupMs : cfg.appendMs) }));

  log(`  ${cells.length} cells × ${cfg.reps} rounds of ${cfg.appendMs} ms (+1 warm-up round of ${cfg.appendWarmupMs} ms)`);
  const results = await interleave(cells, {
    reps: cfg.reps,
    onResult: (cell, r, round) => {
      if (r.error !== undefined) log(`    ${cell.key} round ${round}: ERROR ${r.error}`);
    },
  });
  const rates = {};
  for (const [key, runs] of results) {
    const ok = runs.filter((r) => r.error === undefined).map((r) => r.rate);
    rates[key] = ok.length === 0 ? null : { median: median(ok), spread: spread(ok) };
    log(`  ${key.padEnd(26)} ${rates[key] === null ? 'null' : `${Math.round(rates[key].median).toLocaleString('en-US')} /s`}`);
  }
  const ratios = {};
  for (const [name, [num, den, target]] of Object.entries(SYNCBAT_RATIOS)) {
    const value = rates[num] === null || rates[den] === null ? null : rates[num].median / rates[den].median;
    ratios[name] = { value, target, met: value === null ? null : value >= target };
    log(`  ${name.padEnd(32)} ${value === null ? 'null' : value.toFixed(2)} (target ≥ ${target})${value !== null && value < target ? '  ✗' : ''}`);
  }
  return { rates, ratios };
}
