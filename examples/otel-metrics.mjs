// Exporting batpak's telemetry as OpenTelemetry-style metrics, with no dependency in @batpak/core: a
// subscriber on the batpak:* diagnostics channels feeds instruments, and stats().commits is read as gauges.
// Run (after `npx -y pnpm@10 run build`): node examples/otel-metrics.mjs
//
// The `meter` below has the shape of @opentelemetry/api's Meter (createCounter / createHistogram /
// createObservableGauge). In a service, pass `metrics.getMeter('batpak')` from @opentelemetry/api instead
// of the tiny in-memory one, and the same code exports through your OTLP pipeline.
import { tracingChannel } from 'node:diagnostics_channel';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Coordinate, defineEvent, DIAGNOSTICS_CHANNELS, Store } from '@batpak/core';

/** Wires batpak's channels into `meter`; returns a function that unsubscribes. */
export function instrumentBatpak(meter) {
  const appends = meter.createCounter('batpak.append.events', { description: 'events appended', unit: '{event}' });
  const appendErrors = meter.createCounter('batpak.append.errors', { description: 'appends that failed', unit: '{call}' });
  const groupSize = meter.createHistogram('batpak.commit.group_size', { description: 'events per commit group', unit: '{event}' });
  const commitTime = meter.createHistogram('batpak.commit.duration', { description: 'write and fsync time of a commit group', unit: 'ms' });
  const queueWait = meter.createHistogram('batpak.commit.queue_wait', { description: 'time the oldest append of a group waited', unit: 'ms' });
  const opTime = meter.createHistogram('batpak.operation.duration', { description: 'compact, shred and verifyChain', unit: 'ms' });

  const subscriptions = [];
  const subscribe = (name, handlers) => {
    const ch = tracingChannel(name);
    ch.subscribe(handlers);
    subscriptions.push(() => ch.unsubscribe(handlers));
  };
  // A trace's context is the same object at start and asyncEnd: remember when it started.
  const started = new WeakMap();
  const noop = () => {};

  subscribe(DIAGNOSTICS_CHANNELS.append, {
    start: noop,
    end: noop,
    asyncStart: noop,
    asyncEnd: (ctx) => {
      if (ctx.error === undefined) appends.add(ctx.events.length, { 'batpak.operation': ctx.operation });
    },
    error: (ctx) => appendErrors.add(1, { 'batpak.operation': ctx.operation, 'error.type': ctx.error?.code ?? 'unknown' }),
  });
  subscribe(DIAGNOSTICS_CHANNELS.commit, {
    start: noop,
    end: noop,
    asyncStart: noop,
    asyncEnd: (ctx) => {
      if (ctx.events === 0) return;
      groupSize.record(ctx.events);
      queueWait.record(ctx.queueWaitMs);
      commitTime.record(ctx.writeMs, { 'batpak.phase': 'write' });
      commitTime.record(ctx.fsyncMs, { 'batpak.phase': 'fsync' });
    },
    error: noop,
  });
  for (const [name, operation] of [
    [DIAGNOSTICS_CHANNELS.compact, 'compact'],
    [DIAGNOSTICS_CHANNELS.shred, 'shred'],
    [DIAGNOSTICS_CHANNELS.verify, 'verify'],
  ]) {
    subscribe(name, {
      start: (ctx) => started.set(ctx, performance.now()),
      end: noop,
      asyncStart: noop,
      asyncEnd: (ctx) => opTime.record(performance.now() - started.get(ctx), { 'batpak.operation': operation, 'error.type': ctx.error?.code }),
      error: noop,
    });
  }
  return () => subscriptions.forEach((off) => off());
}

/** stats().commits as observable gauges: the store's own p50/p99 since open. */
export function observeCommitStats(meter, store) {
  const gauge = meter.createObservableGauge('batpak.commit.p99', { description: 'p99 since open (stats().commits)', unit: 'ms' });
  gauge.addCallback((result) => {
    const c = store.stats().commits;
    if (c === undefined) return;
    result.observe(c.writeMs.p99, { 'batpak.phase': 'write' });
    result.observe(c.fsyncMs.p99, { 'batpak.phase': 'fsync' });
    result.observe(c.queueWaitMs.p99, { 'batpak.phase': 'queue_wait' });
  });
}

/** A minimal in-memory meter with @opentelemetry/api's shape, for this demo only. */
function memoryMeter() {
  const points = new Map();
  const key = (name, attrs) => `${name}${JSON.stringify(attrs ?? {})}`;
  const push = (name, value, attrs) => {
    const k = key(name, attrs);
    const p = points.get(k) ?? { name, attributes: attrs ?? {}, count: 0, sum: 0 };
    p.count++;
    p.sum += value;
    points.set(k, p);
  };
  const gauges = [];
  return {
    createCounter: (name) => ({ add: (v, attrs) => push(name, v, attrs) }),
    createHistogram: (name) => ({ record: (v, attrs) => push(name, v, attrs) }),
    createObservableGauge: (name) => ({ addCallback: (cb) => gauges.push({ name, cb }) }),
    collect() {
      const observed = [];
      for (const g of gauges) g.cb({ observe: (value, attributes) => observed.push({ name: g.name, attributes, value }) });
      return { sums: [...points.values()], gauges: observed };
    },
  };
}

const Note = defineEvent({ category: 0x1, typeId: 1, name: 'Note' });
const dir = await mkdtemp(join(tmpdir(), 'batpak-otel-'));
const meter = memoryMeter();
const stop = instrumentBatpak(meter);
const store = await Store.open({ dir, payloadEncryption: { granularity: 'entity' } });
observeCommitStats(meter, store);
try {
  const alice = new Coordinate('user:alice', 'notes');
  await Promise.all(Array.from({ length: 20 }, (_, i) => store.append(alice, Note, { text: `note ${i}` })));
  await store.appendBatch([{ coord: alice, kind: { category: 0x1, typeId: 2 }, payload: new Uint8Array([1, 2, 3]) }]);
  await store.verifyChain();
  await store.shredScope({ entity: alice });
  const { sums, gauges } = meter.collect();
  for (const p of sums) console.log(`${p.name} ${JSON.stringify(p.attributes)} count=${p.count} sum=${Number(p.sum.toFixed(3))}`);
  for (const g of gauges) console.log(`${g.name} ${JSON.stringify(g.attributes)} ${g.value}`);
  const events = sums.filter((p) => p.name === 'batpak.append.events').reduce((n, p) => n + p.sum, 0);
  if (events !== 21) throw new Error(`expected 21 appended events in the metrics, got ${events}`);
} finally {
  stop();
  await store.close();
  await rm(dir, { recursive: true, force: true });
}
