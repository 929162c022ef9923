// Turns scenario outputs into bench/results.json (the shape issues 10, 19 and 20 fix) and a printed table with the targets.
// Invariant: results.json has { machine, figures[{name,value,unit}], ratios{…}, verifyChainMBps, verifyChainMBps256,
// coldOpen1MSeconds, scale[…] }; every ratio is computed from cells of the same run; missing means null.

import { ratio } from './stats.mjs';
import { rateOf } from './scenarios/appends.mjs';

/** Targets of issue 10 (first three), tightened or added by issue 20; the scale ones are issue 19's, at 10M events. */
export const TARGETS = {
  appends64_vs_sqlite_full: { op: '>=', value: 2, text: '≥ 2× better-sqlite3 WAL+FULL' },
  appends64_vs_hypercore: { op: '>=', value: 1, text: '≥ hypercore (which does not fsync)' },
  appends64_vs_lmdb: { op: '>=', value: 1.3, text: '≥ 1.3× lmdb put + await flushed, 64 writers' },
  appends64_vs_fsync_ceiling: { op: '>=', value: 0.5, text: '≥ 0.5 of the raw group-commit ceiling, 64 writers' },
  appends1_vs_fsync: { op: '>=', value: 0.8, text: '≥ 0.8 of raw writeSync + fdatasyncSync per event, 1 writer' },
  batch100_vs_sqlite_batch100: { op: '>=', value: 0.5, text: '≥ 0.5 of better-sqlite3 100 INSERTs/txn' },
  signed_vs_unsigned: { op: '>=', value: 0.9, text: '≥ 0.9 (64 writers)' },
  encrypted_vs_plain: { op: '>=', value: 0.8, text: '≥ 0.8 (64 writers)' },
  verifyChainMBps: { op: '>=', value: 400, text: '≥ 400 MB/s of payload, 1 KiB events' },
  verifyChainMBps256: { op: '>=', value: 250, text: '≥ 250 MB/s of payload, 256 B events' },
  coldOpen1MSeconds: { op: '<', value: 2, text: '< 2 s' },
  scaleOpenSeconds: { op: '<', value: 1, text: '< 1 s at 10M events' },
  scaleRssMiB: { op: '<', value: 256, text: '< 256 MiB at 10M events' },
  scaleIndexBytesPerEvent: { op: '<=', value: 16, text: '≤ 16 B per event (at every size)' },
  scaleGetP99Us: { op: '<', value: 1000, text: '< 1 ms at 10M events, cold process' },
};

/** The events at which issue 19's open, RSS and get targets are set; smaller stores show the curve, not a verdict. */
export const SCALE_TARGET_EVENTS = 10_000_000;

export function verdict(key, value) {
  const t = TARGETS[key];
  if (value === null || value === undefined) return 'n/a';
  const met = t.op === '>=' ? value >= t.value : t.op === '<=' ? value <= t.value : value < t.value;
  return met ? 'met' : 'MISSED';
}

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export function buildResults({ machine, appends, probes, big, verify, verify256, big256, scale, reads, compaction, replication, projections, delivery }) {
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
  if (big256 !== undefined) add(`store build: appendBatch(4096) sync 'none', ${big256.events} × 256 B`, big256.events / big256.appendSeconds, 'events/s');
  if (verify256 !== undefined) {
    add('verifyChain payload throughput (256 B events)', verify256.verifyPayloadMBps, 'MB/s');
    add('verifyChain on-disk throughput (256 B events)', verify256.verifyDiskMBps, 'MB/s');
    add('verifyChain events (256 B events)', verify256.verifyEventsPerSecond, 'events/s');
  }
  const scaleRows = (scale?.rows ?? []).filter((r) => r.skipped === undefined && r.failed === undefined);
  for (const r of scaleRows) {
    const at = `(${r.events.toLocaleString('en-US')} events)`;
    add(`scale ${at}: build rate of the step that grew the store to this size, appendBatch(4096) sync 'none'`, r.buildEventsPerSecond, 'events/s');
    add(`scale ${at}: open, fresh process`, r.openSeconds, 's');
    add(`scale ${at}: RSS after open`, r.rssMiB, 'MiB');
    add(`scale ${at}: JS heap used after open`, r.heapUsedMiB, 'MiB');
    add(`scale ${at}: ArrayBuffers after open`, r.arrayBuffersMiB, 'MiB');
    add(`scale ${at}: resident bytes per event, (RSS − an empty store's) / events`, r.indexBytesPerEvent, 'B/event');
    add(`scale ${at}: get p50, cold process`, r.getP50Us, 'µs');
    add(`scale ${at}: get p99, cold process`, r.getP99Us, 'µs');
    add(`scale ${at}: query({ entity, after, limit: 100 }) p50`, r.queryP50Ms, 'ms');
    add(`scale ${at}: query({ entity, after, limit: 100 }) p99`, r.queryP99Ms, 'ms');
    add(`scale ${at}: commit-order scan`, r.scanEventsPerSecond, 'events/s');
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
    appends64_vs_lmdb: num(ratio(b64, rateOf(appends, 'lmdb', 64))),
    appends64_vs_fsync_ceiling: num(ratio(b64, rateOf(appends, 'raw-group-commit', 64))),
    appends1_vs_fsync: num(ratio(rateOf(appends, 'batpak-unsigned', 1), rateOf(appends, 'raw-fsync', 1))),
    batch100_vs_sqlite_batch100: num(ratio(rateOf(appends, 'batpak-unsigned-batch100', 1), rateOf(appends, 'sqlite-full-batch100', 1))),
    signed_vs_unsigned: num(ratio(rateOf(appends, 'batpak-signed', 64), b64)),
    encrypted_vs_plain: num(ratio(rateOf(appends, 'batpak-encrypted', 64), b64)),
  };
  return {
    machine,
    figures,
    ratios,
    verifyChainMBps: num(verify?.verifyPayloadMBps),
    verifyChainMBps256: num(verify256?.verifyPayloadMBps),
    coldOpen1MSeconds: num(verify?.coldOpenSeconds),
    // Issue 19's growth curve, a row per size that ran (a skipped or failed size is in results-detail.json with its reason).
    scale: scaleRows.map((r) => ({ events: r.events, openSeconds: num(r.openSeconds), rssMiB: num(r.rssMiB), indexBytesPerEvent: num(r.indexBytesPerEvent), getP99Us: num(r.getP99Us) })),
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
  for (const k of ['verifyChainMBps', 'verifyChainMBps256']) out(`| ${k} | ${fmt(results[k], 'MB/s')} | ${TARGETS[k].text} | ${verdict(k, results[k])} |`);
  out(`| coldOpen1MSeconds | ${fmt(results.coldOpen1MSeconds, 's')} | ${TARGETS.coldOpen1MSeconds.text} | ${verdict('coldOpen1MSeconds', results.coldOpen1MSeconds)} |`);
  out('');
  if (results.scale.length > 0) printScale(results.scale, out);
}

/** Issue 19's curve: a row per size, the verdicts of the 10M targets on the 10M row (bytes/event on every row). */
function printScale(rows, out) {
  const at10M = (r, key, v) => (r.events === SCALE_TARGET_EVENTS ? ` ${verdict(key, v)}` : '');
  out(`| scale: events | open, fresh process (s) | RSS after open (MiB) | resident B/event | get p99, cold (µs) |`);
  out('| ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    out(
      `| ${r.events.toLocaleString('en-US')} | ${fmt(r.openSeconds, 's')}${at10M(r, 'scaleOpenSeconds', r.openSeconds)} | ${fmt(r.rssMiB, 'MiB')}${at10M(r, 'scaleRssMiB', r.rssMiB)} | ` +
        `${fmt(r.indexBytesPerEvent, 'B')} ${verdict('scaleIndexBytesPerEvent', r.indexBytesPerEvent)} | ${fmt(r.getP99Us, 'µs')}${at10M(r, 'scaleGetP99Us', r.getP99Us)} |`,
    );
  }
  const t = (k) => `${k} ${TARGETS[k].text}`;
  out(`targets (issue 19): ${['scaleOpenSeconds', 'scaleRssMiB', 'scaleIndexBytesPerEvent', 'scaleGetP99Us'].map(t).join('; ')}`);
  if (!rows.some((r) => r.events === SCALE_TARGET_EVENTS)) out(`(no ${SCALE_TARGET_EVENTS.toLocaleString('en-US')}-event row in this run: the open, RSS and get targets have no verdict)`);
  out('');
}
