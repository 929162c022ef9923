// Scenario 6: read replicas over NATS JetStream (@batpak/natsbat's replicate) — catch-up throughput of a
// fresh replica from an exported stream, and replication lag (primary commit → replica holds it, fsynced).
// Invariant: needs nats-server and the built natsbat (packages/natsbat/dist); without either it throws and is reported null.

import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Store } from '@batpak/core';
import { freshDir, removeDir } from '../tmp.mjs';
import { latencySummary, median, spread } from '../stats.mjs';

const NATSBAT = fileURLToPath(new URL('../../../packages/natsbat/', import.meta.url));
const SEED = new Uint8Array(32).fill(5);

function natsServerBin() {
  for (const c of [process.env.NATS_SERVER_BIN, '/usr/sbin/nats-server', '/usr/local/bin/nats-server', '/usr/bin/nats-server']) {
    if (c === undefined) continue;
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // try the next place
    }
  }
  throw new Error('nats-server not found (Debian: apt-get install -y nats-server, or set NATS_SERVER_BIN)');
}

/** A throwaway JetStream server on a free port, its data in a temp dir. */
async function startServer() {
  const dir = mkdtempSync(join(tmpdir(), 'bench-nats-'));
  const child = spawn(natsServerBin(), ['-a', '127.0.0.1', '-p', '-1', '-js', '-sd', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nats-server did not start:\n${log}`)), 10_000);
    const onData = (c) => {
      log += c.toString('utf8');
      const m = /Listening for client connections on 127\.0\.0\.1:(\d+)/.exec(log);
      if (m !== null && /Server is ready/.test(log)) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
  });
  return {
    url: `nats://127.0.0.1:${port}`,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function loadNatsbat() {
  const dist = join(NATSBAT, 'dist/index.js');
  if (!existsSync(dist)) throw new Error('packages/natsbat/dist is missing: run pnpm build first');
  const natsbat = await import(pathToFileURL(dist).href);
  // The NATS client natsbat itself depends on, resolved from its package (bench does not depend on it).
  const transport = await import(pathToFileURL(createRequire(join(NATSBAT, 'package.json')).resolve('@nats-io/transport-node')).href);
  return { ...natsbat, connect: transport.connect };
}

/** A signed primary with `events` 256 B raw events in commit groups of 100. */
async function signedPrimary(dir, events) {
  const store = await Store.open({ dir, signingKey: SEED });
  const payload = new Uint8Array(256).fill(7);
  for (let done = 0; done < events; done += 100) {
    const n = Math.min(100, events - done);
    await store.appendBatch(Array.from({ length: n }, (_, i) => ({ coord: { entity: `e${(done + i) % 64}`, scope: 'bench' }, kind: { category: 1, typeId: 1 }, payload })));
  }
  return store;
}

export async function replicationScenario(cfg, log) {
  const nb = await loadNatsbat();
  const server = await startServer();
  const nc = await nb.connect({ servers: server.url });
  try {
    // Catch-up: one exported stream, a fresh replica per round replaying all of it (follow: false).
    const primaryDir = freshDir('replication-primary');
    const primary = await signedPrimary(primaryDir, cfg.replicaEvents);
    const exporter = new nb.JournalExporter({ store: primary, connection: nc, name: 'bench', batchSize: 256 });
    const t0 = performance.now();
    await exporter.run();
    const exportSeconds = (performance.now() - t0) / 1000;
    log(`  exported ${cfg.replicaEvents} signed events (groups of 100) in ${exportSeconds.toFixed(2)} s`);
    const rates = [];
    for (let round = 0; round < cfg.replicaReps; round++) {
      const dir = freshDir('replica-catch-up');
      const start = performance.now();
      const r = await nb.replicate(nc, { stream: exporter.stream, dir, publicKeys: [primary.publicKey], signal: new AbortController().signal, follow: false });
      const seconds = (performance.now() - start) / 1000;
      if (r.applied !== cfg.replicaEvents) throw new Error(`a catch-up applied ${r.applied} of ${cfg.replicaEvents} events`);
      rates.push(r.applied / seconds);
      removeDir(dir);
    }
    log(`  catch-up: ${Math.round(median(rates))} events/s (median of ${rates.length})`);

    // Lag: one append at a time (sync 'always', signed), exporter and replica following live; the lag is
    // from append's receipt to the replica's apply of that event (written and fsynced).
    const live = new AbortController();
    const following = exporter.run({ follow: true, signal: live.signal }).catch(() => undefined);
    const dir = freshDir('replica-live');
    let reached = { seq: 0n, at: 0 };
    let wake = () => undefined;
    const replicating = nb.replicate(nc, {
      stream: exporter.stream,
      dir,
      publicKeys: [primary.publicKey],
      signal: live.signal,
      onProgress: (p) => {
        reached = { seq: p.lastSequence, at: performance.now() };
        wake();
      },
    });
    const caughtUp = BigInt(cfg.replicaEvents);
    while (reached.seq < caughtUp) await new Promise((r) => (wake = r));
    const lags = [];
    const payload = new Uint8Array(256).fill(9);
    for (let i = 0; i < cfg.replicaLagSamples; i++) {
      const receipt = await primary.appendRaw({ entity: `lag${i % 8}`, scope: 'bench' }, { category: 1, typeId: 2 }, payload);
      const committed = performance.now();
      while (reached.seq < receipt.globalSequence) await new Promise((r) => (wake = r));
      lags.push(reached.at - committed);
    }
    live.abort();
    await Promise.all([following, replicating]);
    const lag = latencySummary(lags);
    log(`  lag (commit → replica applied): p50 ${lag.p50.toFixed(2)} ms, p99 ${lag.p99.toFixed(2)} ms over ${lag.n} appends`);
    await primary.close();
    removeDir(dir);
    removeDir(primaryDir);
    return { events: cfg.replicaEvents, catchUpEventsPerSecond: median(rates), catchUpSpread: spread(rates), exportSeconds, lagP50Ms: lag.p50, lagP99Ms: lag.p99, lagSamples: lag.n };
  } finally {
    await nc.close().catch(() => undefined);
    await server.stop();
  }
}
