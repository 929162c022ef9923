// Compaction crash oracle (INV-COMPACT-SWAP): faults or a crash at any step of a compaction's swap,
// with appends and verifyChain alongside; after reopen the store holds the old segment set or the new
// one — never both, never neither — and no event the compaction meant to keep is lost.

import { BatpakError, Coordinate, defineEvent, Store, type AppendReceipt, type CompactOptions, type StoreOptions } from '../../src/index.js';
import { KillableFs, SeededRng, SimFs, type FaultKind, type FsOp } from '../../src/entry/testing.js';
import { scanSegment } from '../../src/segment/scan.js';

const Item = defineEvent<{ n: number }>({ category: 7, typeId: 1, name: 'Item' });

export interface CompactionOracleResult {
  readonly seed: number;
  readonly outcome: string;
  readonly crashed: boolean;
  readonly fault: string;
  readonly state: 'old' | 'new' | 'no-drops';
}

function fail(seed: number, message: string): never {
  throw new Error(`compaction oracle failed for seed ${seed}: ${message}\n  replay: BATPAK_COMPACT_SIM_SEED=${seed} npx vitest run packages/core/test/compaction.sim.test.ts`);
}

export async function runCompactionOracle(seed: number): Promise<CompactionOracleResult> {
  const rng = new SeededRng(seed, 0xc0a7);
  const sim = new SimFs(seed);
  let clock = 1_700_000_000_000;
  const opts: StoreOptions = {
    dir: '/db',
    segmentMaxBytes: 300 + rng.below(900),
    now: () => (clock += 1),
    ...(rng.chance(0.4) ? { signingKey: new Uint8Array(32).fill(9) } : {}),
    ...(rng.chance(0.3) ? { payloadEncryption: {} } : {}),
  };
  let proc = new KillableFs(sim);
  const store = await Store.open({ ...opts, fs: proc });
  const acked: AppendReceipt[] = [];
  const count = 20 + rng.below(40);
  for (let i = 0; i < count; i++) acked.push(await store.append(new Coordinate(`e${rng.below(3)}`, 's'), Item, { n: i }));

  // Events of segments sealed when compact() is called are certainly compacted; later ones may be (a segment that rotates
  // out while the compaction waits for its lock is a source too). Find where the active segment starts.
  const segs = sim.listFiles().filter((f) => f.endsWith('.bps')).sort();
  const active = scanSegment(sim.inspect(segs[segs.length - 1]!)!.current, { file: 'active', allowTornTail: true });
  const firstActive = active.frames.find((f) => f.frame.type === 0)?.frame;
  const activeFrom = firstActive?.type === 0 ? firstActive.globalSequence : Number.MAX_SAFE_INTEGER;
  const strategyKind = (['merge', 'retention', 'tombstone'] as const)[rng.below(3)]!;
  const modulus = 2 + rng.below(3);
  const doomed = (n: number) => n % modulus === 0;
  // The events the compaction's predicate judged doomed: only these may be dropped or tombstoned (a segment that
  // rotated out while the compaction waited for its lock is a source too, so the set is not known in advance).
  const judged = new Set<string>();
  const judge = (e: { header: { eventId: string }; payload: unknown }): boolean => {
    const d = doomed((e.payload as { n: number }).n);
    if (d) judged.add(e.header.eventId);
    return d;
  };
  const options: CompactOptions =
    strategyKind === 'merge'
      ? { strategy: 'merge' }
      : strategyKind === 'retention'
        ? { strategy: 'retention', keep: (e) => !judge(e) }
        : { strategy: 'tombstone', drop: (e) => judge(e) };

  // Plant one fault somewhere in the compaction's steps (or none), and maybe crash mid-way.
  const ops: FsOp[] = ['open', 'append', 'fsync', 'rename', 'remove', 'syncDir', 'writeFileAtomic', 'writeAt'];
  const kinds: FaultKind[] = ['EIO', 'ENOSPC', 'short-write'];
  let fault = 'none';
  if (rng.chance(0.75)) {
    const op = ops[rng.below(ops.length)]!;
    const kind = op === 'append' || op === 'writeAt' ? kinds[rng.below(3)]! : kinds[rng.below(2)]!;
    const nth = 1 + rng.below(4);
    sim.failOn(op, nth, kind as never);
    fault = `${op}#${nth}:${kind}`;
  }
  const crash = rng.chance(0.6);

  const during: Promise<AppendReceipt>[] = [];
  const compaction = store.compact(options).then(
    (r) => r.outcome,
    (err: unknown) => {
      if (!(err instanceof BatpakError)) fail(seed, `compact threw an untyped error: ${String(err)}`);
      return `error:${err.code}`;
    },
  );
  for (let i = 0; i < 4; i++) {
    const p = store.append(new Coordinate(`e${i % 3}`, 's'), Item, { n: 1000 + i });
    // Awaited below, after the compaction: a rejection meanwhile (a fault, the kill) is not unhandled.
    p.catch(() => undefined);
    during.push(p);
  }
  const verifying = store.verifyChain().then(
    (r) => r,
    () => undefined,
  );
  let outcome = 'pending';
  if (crash) {
    const turns = rng.below(300);
    for (let t = 0; t < turns; t++) await Promise.resolve();
    proc.kill();
    sim.crash({ tear: true });
    outcome = await compaction;
  } else {
    outcome = await compaction;
    const report = await verifying;
    if (report !== undefined && !report.intact && fault === 'none') fail(seed, `verifyChain during compaction not intact: ${JSON.stringify(report)}`);
  }
  const duringAcked: AppendReceipt[] = [];
  for (const p of during) {
    const r = await p.catch(() => undefined);
    if (r !== undefined) duringAcked.push(r);
  }
  if (!crash) {
    proc.kill();
    sim.crash({ tear: true });
  }
  sim.clearFaults();

  proc = new KillableFs(sim);
  const again = await Store.open({ ...opts, fs: proc }).catch((err: unknown) => fail(seed, `reopen failed (${outcome}, fault ${fault}): ${String(err)}`));
  const seen = new Map<string, { n: number | undefined; tombstone: boolean }>();
  for await (const e of again.query()) {
    if (seen.has(e.header.eventId)) fail(seed, `event ${e.header.eventId} appears twice`);
    seen.set(e.header.eventId, { n: (e.payload as { n?: number } | undefined)?.n, tombstone: e.header.tombstone });
  }
  // Never neither: every event the compaction meant to keep, and every append acknowledged, is there.
  for (const r of [...acked, ...duringAcked]) {
    const ev = await again.get(r.eventId).catch(() => undefined);
    const n = Number(r.globalSequence); // only for messages
    // Lost is allowed only for an event the compaction's predicate judged doomed.
    if (ev === undefined && !judged.has(r.eventId)) fail(seed, `kept event #${n} (${r.eventId}) was lost (${outcome}, fault ${fault})`);
    if (ev !== undefined) {
      const raw = await again.getRaw(r.eventId);
      if (Buffer.compare(raw.header.contentHash, r.contentHash) !== 0) fail(seed, `event ${r.eventId} changed its content hash`);
      const v = await again.verifyReceipt(r);
      if (v.status === 'invalid') fail(seed, `receipt of ${r.eventId} is invalid after compaction: ${v.reason}`);
    }
  }
  // Never both: the doomed events of sealed segments are all in their old form, or all in their new one.
  let state: CompactionOracleResult['state'] = 'no-drops';
  if (strategyKind !== 'merge') {
    const forms = new Set<string>();
    let judgedBefore = 0;
    acked.forEach((r, i) => {
      // Every doomed event of a segment sealed when compact() was called is judged: the predicate never skips one.
      if (doomed(i) && Number(r.globalSequence) < activeFrom) {
        judgedBefore++;
        if (!judged.has(r.eventId) && outcome === 'performed') fail(seed, `doomed event #${r.globalSequence} of a sealed segment was never judged`);
      }
    });
    for (const r of [...acked, ...duringAcked]) {
      // A doomed event the compaction judged (sealed segments when it ran) is all old or all new.
      if (!judged.has(r.eventId)) continue;
      const s = seen.get(r.eventId);
      forms.add(s === undefined ? 'dropped' : s.tombstone ? 'tombstoned' : 'intact');
    }
    if (judgedBefore > 0 && outcome === 'performed' && forms.size === 0) fail(seed, 'a performed compaction judged no doomed event');
    if (forms.size > 1) fail(seed, `doomed events are in mixed forms ${[...forms].join(', ')} (${outcome}, fault ${fault})`);
    state = forms.has('intact') ? 'old' : forms.size === 0 ? 'no-drops' : 'new';
  }
  const report = await again.verifyChain();
  if (!report.intact) fail(seed, `verifyChain after reopen not intact (${outcome}, fault ${fault}): ${JSON.stringify(report)}`);
  // The store still works: a new compaction and an append succeed.
  await again.append(new Coordinate('e0', 's'), Item, { n: 5000 });
  const second = await again.compact({ strategy: 'merge' });
  if (second.outcome === 'failed') fail(seed, `a clean second compaction failed: ${second.reason}`);
  if (!(await again.verifyChain()).intact) fail(seed, 'verifyChain after a second compaction not intact');
  await again.close();
  return { seed, outcome, crashed: crash, fault, state };
}
