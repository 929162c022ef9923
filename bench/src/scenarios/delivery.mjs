// Scenario 9: delivery (issue 18) — what store.subscribe delivers while a writer appends, its catch-up replay,
// append-receipt → subscriber latency, and store.react throughput, each beside a hand-written baseline in the same rounds.
// Invariant: every cell counts exactly the events it expects (a short count is an error, never a figure); stores are built untimed.

import { performance } from 'node:perf_hooks';
import { Coordinate, Store } from '@batpak/core';
import { BENCH_KIND, withStore } from '../batpak.mjs';
import { interleave, settle } from '../harness.mjs';
import { freshDir, removeDir } from '../tmp.mjs';
import { buildStore } from './store-build.mjs';
import { latencySummary, median } from '../stats.mjs';

const EFFECT_KIND = { category: 1, typeId: 2 };
const PAYLOAD = Buffer.alloc(256, 0x5a);
const POLL_LIMIT = 4096;

/** The hand-written follower every subscription replaces: wait for a commit, then query what came after. */
async function pollFrom(store, after, onEvent, until) {
  let pos = after;
  while (!until()) {
    await store.waitForSequence(pos);
    for await (const e of store.query({ after: pos, limit: POLL_LIMIT })) {
      pos = e.header.globalSequence;
      onEvent(e);
    }
  }
}

/** `writers` concurrent appendRaw loops (sync 'always'), `events` in all, one entity per writer. */
async function writeAll(store, writers, events) {
  const coords = Array.from({ length: writers }, (_, w) => new Coordinate(`writer-${w}`, 'bench'));
  let next = 0;
  const loop = async (w) => {
    while (next < events) {
      next++;
      await store.appendRaw(coords[w], BENCH_KIND, PAYLOAD);
    }
  };
  await Promise.all(coords.map((_, w) => loop(w)));
}

const short = (what, got, want) => new Error(`${what}: ${got} of ${want} events`);

/** Live delivery: the writer's rate, and the rate at which the follower (none, subscribe, poll) got every event. */
function liveCell(cfg, mode) {
  const n = cfg.deliveryEvents;
  return withStore(`delivery-live-${mode}`, async (store) => {
    const base = store.lastSequence;
    let received = 0;
    let tLast;
    const got = () => {
      if (++received === n) tLast = performance.now();
    };
    const stop = new AbortController();
    let follower = Promise.resolve();
    if (mode === 'subscribe') {
      follower = (async () => {
        for await (const _ of store.subscribe({ after: base, signal: stop.signal })) {
          got();
          if (received === n) stop.abort();
        }
      })();
    } else if (mode === 'poll') follower = pollFrom(store, base, got, () => received >= n);
    await settle();
    const t0 = performance.now();
    await writeAll(store, cfg.deliveryWriters, n);
    const tWritten = performance.now();
    await follower;
    if (mode !== 'writer' && received !== n) throw short(`live ${mode}`, received, n);
    return { writerRate: n / ((tWritten - t0) / 1000), deliveredRate: mode === 'writer' ? null : n / ((tLast - t0) / 1000) };
  });
}

/** Catch-up: every event of an existing log, by subscribe (until caught up) or by a plain query scan. */
async function replayCell(dir, events, mode) {
  const store = await Store.open({ dir, readOnly: true });
  try {
    await settle();
    let received = 0;
    const t0 = performance.now();
    if (mode === 'subscribe') {
      const stop = new AbortController();
      for await (const _ of store.subscribe({ signal: stop.signal, onCaughtUp: () => stop.abort() })) received++;
    } else {
      for await (const _ of store.query({})) received++;
    }
    const seconds = (performance.now() - t0) / 1000;
    if (received !== events) throw short(`replay ${mode}`, received, events);
    return { rate: events / seconds };
  } finally {
    await store.close();
  }
}

/** One append at a time; each sample is from its receipt to the follower holding the event (0 when it got it first). */
function latencyCell(cfg, mode) {
  return withStore(`delivery-latency-${mode}`, async (store) => {
    const base = store.lastSequence;
    const coord = new Coordinate('writer-0', 'bench');
    let pending;
    let received = 0;
    const got = () => {
      received++;
      pending?.(performance.now());
      pending = undefined;
    };
    const stop = new AbortController();
    const n = cfg.deliveryLatencySamples;
    const follower =
      mode === 'subscribe'
        ? (async () => {
            for await (const _ of store.subscribe({ after: base, signal: stop.signal })) got();
          })()
        : pollFrom(store, base, got, () => received >= n || stop.signal.aborted);
    const samples = [];
    let early = 0;
    await settle();
    for (let i = 0; i < n; i++) {
      const delivered = new Promise((resolve) => {
        pending = resolve;
      });
      await store.appendRaw(coord, BENCH_KIND, PAYLOAD);
      const tReceipt = performance.now();
      const tDelivered = await delivered;
      if (tDelivered < tReceipt) early++;
      samples.push(Math.max(0, tDelivered - tReceipt) * 1000);
    }
    stop.abort();
    await follower;
    if (received !== n) throw short(`latency ${mode}`, received, n);
    return { ...latencySummary(samples), beforeReceipt: early / n };
  });
}

/** Reaction throughput: `events` source events, each answered by one effect event, by react or by hand. */
function reactionCell(cfg, mode) {
  const n = cfg.reactionEvents;
  return withStore(`delivery-react-${mode}`, async (store) => {
    const source = new Coordinate('orders', 'bench');
    const target = new Coordinate('invoices', 'bench');
    for (let i = 0; i < n; i += 500) await store.appendBatch(Array.from({ length: Math.min(500, n - i) }, () => ({ coord: source, kind: BENCH_KIND, payload: PAYLOAD })));
    const base = store.lastSequence;
    const stop = new AbortController();
    let handled = 0;
    await settle();
    const t0 = performance.now();
    if (mode === 'react') {
      // Each source commits its effect and the reaction's cursor record together: 2 events per source.
      const running = store.react(
        'bench',
        { kinds: [BENCH_KIND] },
        (_e, tx) => {
          handled++;
          tx.appendRaw(target, EFFECT_KIND, PAYLOAD);
        },
        { signal: stop.signal },
      );
      let last = base;
      while (last < base + 2n * BigInt(n)) last = await Promise.race([store.waitForSequence(last), running.then(() => base + 2n * BigInt(n))]);
      const seconds = (performance.now() - t0) / 1000;
      stop.abort();
      await running;
      if (handled !== n || store.lastSequence !== base + 2n * BigInt(n)) throw short('react', handled, n);
      return { rate: n / seconds };
    }
    if (mode === 'subscribe-append') {
      // At-most/at-least-once by hand: no position is kept, so a restart would not know where it was.
      for await (const e of store.subscribe({ kinds: [BENCH_KIND], signal: stop.signal })) {
        await store.appendRaw(target, EFFECT_KIND, PAYLOAD, { causationId: e.header.eventId });
        if (++handled === n) stop.abort();
      }
    } else {
      // At-least-once by hand: a durable consumer, the effect appended, then the delivery acknowledged.
      const consumer = await store.consumer('bench', { kinds: [BENCH_KIND] });
      for await (const { event, ack } of consumer.deliveries({ signal: stop.signal })) {
        await store.appendRaw(target, EFFECT_KIND, PAYLOAD, { causationId: event.header.eventId });
        await ack();
        if (++handled === n) stop.abort();
      }
      await consumer.close();
    }
    const seconds = (performance.now() - t0) / 1000;
    if (handled !== n) throw short(mode, handled, n);
    return { rate: n / seconds };
  });
}

export async function deliveryScenario(cfg, log) {
  const pick = (results, key, field) => median(results.get(key).filter((r) => r.error === undefined).map((r) => r[field]));
  const report = (c, r, text) => log(r.error !== undefined ? `    ${c.key}: ERROR ${r.error}` : `    ${c.key}: ${text(r)}`);
  const rate = (v) => (v === null ? '—' : `${Math.round(v).toLocaleString('en-US')}/s`);

  log(`  live: ${cfg.deliveryEvents} events from ${cfg.deliveryWriters} writers (sync 'always')`);
  const live = await interleave(
    ['writer', 'subscribe', 'poll'].map((mode) => ({ key: mode, run: () => liveCell(cfg, mode) })),
    { reps: cfg.reps, onResult: (c, r) => report(c, r, (x) => `writer ${rate(x.writerRate)}, delivered ${rate(x.deliveredRate)}`) },
  );

  const replayDir = freshDir('delivery-replay');
  log(`  replay: a log of ${cfg.replayEvents} × 256 B events`);
  await buildStore(replayDir, { events: cfg.replayEvents, payloadBytes: 256, entities: 100 });
  const replay = await interleave(
    ['subscribe', 'query'].map((mode) => ({ key: mode, run: () => replayCell(replayDir, cfg.replayEvents, mode) })),
    { reps: cfg.reps, onResult: (c, r) => report(c, r, (x) => rate(x.rate)) },
  );
  removeDir(replayDir);

  log(`  latency: ${cfg.deliveryLatencySamples} single appends, receipt → follower`);
  const latency = await interleave(
    ['subscribe', 'poll'].map((mode) => ({ key: mode, run: () => latencyCell(cfg, mode) })),
    { reps: cfg.reps, onResult: (c, r) => report(c, r, (x) => `p50 ${x.p50.toFixed(0)} µs, p99 ${x.p99.toFixed(0)} µs, ${(x.beforeReceipt * 100).toFixed(0)}% before the receipt`) },
  );

  log(`  reactions: ${cfg.reactionEvents} source events, one effect each`);
  const reactions = await interleave(
    ['react', 'subscribe-append', 'consumer-ack'].map((mode) => ({ key: mode, run: () => reactionCell(cfg, mode) })),
    { reps: cfg.reps, onResult: (c, r) => report(c, r, (x) => rate(x.rate)) },
  );

  return {
    events: cfg.deliveryEvents,
    writers: cfg.deliveryWriters,
    live: {
      writerAlone: pick(live, 'writer', 'writerRate'),
      writerWithSubscribe: pick(live, 'subscribe', 'writerRate'),
      subscribe: pick(live, 'subscribe', 'deliveredRate'),
      writerWithPoll: pick(live, 'poll', 'writerRate'),
      poll: pick(live, 'poll', 'deliveredRate'),
    },
    replayEvents: cfg.replayEvents,
    replay: { subscribe: pick(replay, 'subscribe', 'rate'), query: pick(replay, 'query', 'rate') },
    latency: {
      subscribe: { p50Micros: pick(latency, 'subscribe', 'p50'), p99Micros: pick(latency, 'subscribe', 'p99'), beforeReceipt: pick(latency, 'subscribe', 'beforeReceipt') },
      poll: { p50Micros: pick(latency, 'poll', 'p50'), p99Micros: pick(latency, 'poll', 'p99'), beforeReceipt: pick(latency, 'poll', 'beforeReceipt') },
    },
    reactionEvents: cfg.reactionEvents,
    reactions: { react: pick(reactions, 'react', 'rate'), subscribeAppend: pick(reactions, 'subscribe-append', 'rate'), consumerAck: pick(reactions, 'consumer-ack', 'rate') },
  };
}
