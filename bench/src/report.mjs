// Turns scenario outputs into bench/results.json (the shape issue 10 fixes) and a printed table with the targets.
// Invariant: results.json has exactly { machine, figures[{name,value,unit}], ratios{5 keys}, verifyChainMBps, coldOpen1MSeconds }; missing means null.

import { ratio } from './stats.mjs';
import { rateOf } from './scenarios/appends.mjs';

export const TARGETS = {
  appends64_vs_sqlite_full: { op: '>=', value: 2, text: '≥ 2× better-sqlite3 WAL+FULL' },
  appends64_vs_hypercore: { op: '>=', value: 1, text: '≥ hypercore (which does not fsync)' },
  appends64_vs_fsync_ceiling: { op: '>=', value: 1 / 3, text: 'within 3× of the raw group-commit ceiling (≥ 0.33)' },
  signed_vs_unsigned: { op: '>=', value: 0.66, text: '≥ 0.66' },
  encrypted_vs_plain: { op: 'info', value: null, text: 'no target' },
  verifyChainMBps: { op: '>=', value: 300, text: '≥ 300 MB/s of payload, 1 KiB events' },
  coldOpen1MSeconds: { op: '<', value: 2, text: '< 2 s' },
};

export function verdict(key, value) {
  const t = TARGETS[key];
  if (t.op === 'info') return '';
  if (value === null || value === undefined) return 'n/a';
  return (t.op === '>=' ? value >= t.value : value < t.value) ? 'met' : 'MISSED';
}

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export function buildResults({ machine, appends, probes, big, verify, reads, compaction, replication, projections, delivery }) {
  const figures = [];
  const add = (name, value, unit) => figures.push({ name, value: num(value), unit });

  for (const r of appends) add(`appends ${r.id} ×${r.writers}`, r.rate, 'events/s');
  for (const r of appends) if (r.fsyncsPerEvent !== undefined) add(`fsyncs per event (counted in-process) ${r.id} ×${r.writers}`, r.fsyncsPerEvent, 'fsyncs/event');
  for (const r of appends) {
    if (r.groupTiming === undefined || r.writers !== 64) continue;
    // Where a commit group's time goes at 64 writers: the part outside writev/fdatasync is CPU on the JS thread.
    add(`commit group cycle ${r.id} ×64`, r.groupTiming.cycleMicros, 'µs/group');
    add(`commit group awaiting writev ${r.id} ×64`, r.groupTiming.writeMicros, 'µs/group');
    add(`commit group awaiting fdatasync ${r.id} ×64`, r.groupTiming.fsyncMicros, 'µs/group');
  }
  for (const p of probes) {
    add(`sync calls per event (strace) ${p.id} ×${p.writers}`, p.syncsPerEvent, 'syscalls/event');
    add(`write calls per event (strace) ${p.id} ×${p.writers}`, p.writesPerEvent, 'syscalls/event');
    if (p.wakeupsPerEvent !== undefined) add(`event-loop wakeups per event (strace, eventfd) ${p.id} ×${p.writers}`, p.wakeupsPerEvent, 'syscalls/event');
  }
  if (big !== undefined) {
    add(`store build: appendBatch(4096) sync 'none', ${big.events} × ${big.payloadBytes} B`, big.events / big.appendSeconds, 'events/s');
    add('store build: final sync()', big.syncSeconds, 's');
    add('store size on disk', big.diskBytes / 1e6, 'MB');
  }
  if (verify !== undefined) {
    add('verifyChain payload throughput (1 KiB events)', verify.verifyPayloadMBps, 'MB/s');
    add('verifyChain on-disk throughput', verify.verifyDiskMBps, 'MB/s');
    add('verifyChain events', verify.verifyEventsPerSecond, 'events/s');
    add('cold open, fresh process (Store.open until ready)', verify.coldOpenSeconds, 's');
    add('open, warm process', verify.warmOpenSeconds, 's');
    add('RSS after open (fresh process)', verify.openRssMiB, 'MiB');
    add('ArrayBuffer memory held after open (fresh process)', verify.openArrayBuffersMiB, 'MiB');
  }
  if (reads !== undefined) {
    add('get latency p50', reads.getP50Micros, 'µs');
    add('get latency p99', reads.getP99Micros, 'µs');
    add('get throughput, 1 in flight', reads.getPerSecond, 'gets/s');
    add('get throughput, 64 in flight', reads.getConcurrentPerSecond, 'gets/s');
    add(`query({ entity }) latency p50 (${Math.round(reads.eventsPerQuery ?? 0)} events)`, reads.queryP50Ms, 'ms');
    add('query({ entity }) latency p99', reads.queryP99Ms, 'ms');
    add('query({ entity }) events read', reads.queryEventsPerSecond, 'events/s');
    add('query scan in commit order', reads.scanEventsPerSecond, 'events/s');
    add('query scan in commit order, payload', reads.scanPayloadMBps, 'MB/s');
  }
  if (compaction !== undefined) {
    add('compaction merge, sealed segments read', compaction.merge.inputMBps, 'MB/s');
    add('compaction merge', compaction.merge.eventsPerSecond, 'events/s');
    add('compaction retention (drop half), sealed segments read', compaction.retention.inputMBps, 'MB/s');
    add('compaction retention (drop half)', compaction.retention.eventsPerSecond, 'events/s');
  }
  if (replication !== undefined) {
    add('replica catch-up over JetStream (signed, groups of 100)', replication.catchUpEventsPerSecond, 'events/s');
    add('replication lag p50 (commit → replica applied)', replication.lagP50Ms, 'ms');
    add('replication lag p99', replication.lagP99Ms, 'ms');
  }
  if (projections !== undefined) {
    const n = projections.events;
    add(`project() of a ${n}-event entity, cold (nothing cached) p50`, projections.cold.p50Micros, 'µs');
    add(`project() of a ${n}-event entity, cold p99`, projections.cold.p99Micros, 'µs');
    add(`project() of a ${n}-event entity, cold from its snapshot p50`, projections.snapshot.p50Micros, 'µs');
    add(`project() of a ${n}-event entity, cached p50`, projections.cached.p50Micros, 'µs');
    add(`project() of a ${n}-event entity, cached p99`, projections.cached.p99Micros, 'µs');
    add(`hand fold over query({ entity }) of ${n} events p50`, projections.hand.p50Micros, 'µs');
    add('project() cold vs hand fold (time ratio)', ratio(projections.cold.p50Micros, projections.hand.p50Micros), '×');
  }
  if (delivery !== undefined) {
    const { live, replay, latency, reactions } = delivery;
    const w = `${delivery.writers} writers, sync 'always'`;
    add(`appendRaw alone (${w})`, live.writerAlone, 'events/s');
    add(`subscribe: events delivered while appending (${w})`, live.subscribe, 'events/s');
    add('appendRaw beside a subscriber', live.writerWithSubscribe, 'events/s');
    add(`poll loop (waitForSequence + query({ after })): events delivered while appending`, live.poll, 'events/s');
    add('subscribe delivered vs appendRaw alone', ratio(live.subscribe, live.writerAlone), '×');
    add('subscribe delivered vs poll loop', ratio(live.subscribe, live.poll), '×');
    add('appendRaw beside a subscriber vs alone', ratio(live.writerWithSubscribe, live.writerAlone), '×');
    add(`subscribe catch-up of ${delivery.replayEvents} events`, replay.subscribe, 'events/s');
    add('query() scan of the same log', replay.query, 'events/s');
    add('subscribe catch-up vs query() scan', ratio(replay.subscribe, replay.query), '×');
    add('receipt → subscriber latency p50 (1 writer)', latency.subscribe.p50Micros, 'µs');
    add('receipt → subscriber latency p99', latency.subscribe.p99Micros, 'µs');
    add('receipt → poll loop latency p50', latency.poll.p50Micros, 'µs');
    add('receipt → poll loop latency p99', latency.poll.p99Micros, 'µs');
    add(`react, one tx.append per source (${delivery.reactionEvents} sources)`, reactions.react, 'events/s');
    add('subscribe + appendRaw per source (no position kept)', reactions.subscribeAppend, 'events/s');
    add('consumer + appendRaw + ack per source (at-least-once)', reactions.consumerAck, 'events/s');
    add('react vs subscribe + appendRaw', ratio(reactions.react, reactions.subscribeAppend), '×');
    add('react vs consumer + appendRaw + ack', ratio(reactions.react, reactions.consumerAck), '×');
  }

  const b64 = rateOf(appends, 'batpak-unsigned', 64);
  const ratios = {
    appends64_vs_sqlite_full: num(ratio(b64, rateOf(appends, 'sqlite-full', 64))),
    appends64_vs_hypercore: num(ratio(b64, rateOf(appends, 'hypercore', 64))),
    appends64_vs_fsync_ceiling: num(ratio(b64, rateOf(appends, 'raw-group-commit', 64))),
    signed_vs_unsigned: num(ratio(rateOf(appends, 'batpak-signed', 64), b64)),
    encrypted_vs_plain: num(ratio(rateOf(appends, 'batpak-encrypted', 64), b64)),
  };
  return {
    machine,
    figures,
    ratios,
    verifyChainMBps: num(verify?.verifyPayloadMBps),
    coldOpen1MSeconds: num(verify?.coldOpenSeconds),
  };
}

function fmt(v, unit) {
  if (v === null || v === undefined) return 'null';
  if (unit === 'events/s' || unit === 'gets/s') return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(3);
}

/** The printed table: append rows with spread and durability, then every other figure, then ratios vs targets. */
export function printTable(results, appends, out = console.log) {
  out('');
  out(`== @batpak/bench (${results.machine.mode}) on ${results.machine.cpus}× ${results.machine.cpu}, Node ${results.machine.node}, ${results.machine.platform}`);
  out('');
  out('| contender | writers | events/s (median) | min–max | fsyncs/event | durable when resolved? |');
  out('| --- | ---: | ---: | --- | ---: | --- |');
  for (const r of appends) {
    const sp = r.spread === null ? '' : `${fmt(r.spread.min, 'events/s')}–${fmt(r.spread.max, 'events/s')}`;
    const fs = r.fsyncsPerEvent === undefined ? '' : r.fsyncsPerEvent.toFixed(3);
    out(`| ${r.label} | ${r.writers} | ${r.unavailable ? `null (${r.unavailable})` : fmt(r.rate, 'events/s')} | ${sp} | ${fs} | ${r.durable} |`);
  }
  out('');
  out('| figure | value | unit |');
  out('| --- | ---: | --- |');
  for (const f of results.figures) if (!f.name.startsWith('appends ')) out(`| ${f.name} | ${fmt(f.value, f.unit)} | ${f.unit} |`);
  out('');
  out('| ratio / headline | value | target | verdict |');
  out('| --- | ---: | --- | --- |');
  for (const [k, v] of Object.entries(results.ratios)) out(`| ${k} | ${v === null ? 'null' : v.toFixed(2)} | ${TARGETS[k].text} | ${verdict(k, v)} |`);
  out(`| verifyChainMBps | ${fmt(results.verifyChainMBps, 'MB/s')} | ${TARGETS.verifyChainMBps.text} | ${verdict('verifyChainMBps', results.verifyChainMBps)} |`);
  out(`| coldOpen1MSeconds | ${fmt(results.coldOpen1MSeconds, 's')} | ${TARGETS.coldOpen1MSeconds.text} | ${verdict('coldOpen1MSeconds', results.coldOpen1MSeconds)} |`);
  out('');
}
