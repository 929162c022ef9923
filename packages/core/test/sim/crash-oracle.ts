// The crash oracle: drives a store over SimFs with concurrent appends and batches, random faults and
// crashes, then reopens and checks INV-CRASH-ORACLE. Shared by the vitest suite and `pnpm sim`.

import { BatpakError, Coordinate, defineEvent, Store, type AppendReceipt, type StoreOptions } from '../../src/index.js';
import { KillableFs, SeededRng, SimFs, type FaultKind } from '../../src/entry/testing.js';
import { ErasureWitness } from './erasure-oracle.js';
import { BlockCache } from '../../src/event-index/block-cache.js';
import { SegmentIndexFile } from '../../src/event-index/segment-index-file.js';
import { indexFileName, readBinding } from '../../src/event-index/segment-index-write.js';
import { encodeIndexFile } from '../../src/event-index/segment-index-encode.js';
import { indexedFramesOf } from '../../src/event-index/segment-index-scan.js';
import { bytesEqual } from '../../src/encoding/hex.js';
import { crc32 } from 'node:zlib';

/**
 * INV-INDEX-FILE-REBUILT: after a clean close, every sealed segment (all but the newest) has an index file
 * bound to it and no index file outlives its segment, whatever crashes and faults came before.
 */
export async function checkIndexFiles(sim: SimFs, dir: string): Promise<string | undefined> {
  const names = sim.listFiles().filter((p) => p.startsWith(`${dir}/`)).map((p) => p.slice(dir.length + 1));
  const segs = names.flatMap((n) => /^(\d+)\.bps$/.exec(n)?.[1] ?? []).map(Number);
  const indexed = names.flatMap((n) => /^(\d+)\.bpi$/.exec(n)?.[1] ?? []).map(Number);
  const sealed = segs.slice(0, -1);
  if (indexed.join() !== sealed.join()) return `index files for segments [${indexed.join()}], sealed segments [${sealed.join()}]`;
  for (const id of sealed) {
    const seg = await sim.open(`${dir}/${String(id).padStart(6, '0')}.bps`);
    const o = await SegmentIndexFile.open(sim, `${dir}/${indexFileName(id)}`, await readBinding(seg, id, await seg.size()), new BlockCache(0));
    await seg.close();
    await o.file?.close();
    if (o.stale !== undefined) return `the index file of segment ${id} is not usable after a clean close: ${o.stale}`;
    // Exactly its segment's events: byte for byte what a rebuild from the segment alone writes.
    const segBytes = sim.inspect(`${dir}/${String(id).padStart(6, '0')}.bps`)!.current;
    const frames = await indexedFramesOf(sim, `${dir}/${String(id).padStart(6, '0')}.bps`, segBytes.length);
    const expected = await encodeIndexFile({ ...(await readBindingOf(sim, dir, id, segBytes.length)), segmentCrc: crc32(segBytes) }, frames);
    if (!bytesEqual(sim.inspect(`${dir}/${indexFileName(id)}`)!.current, expected)) return `the index file of segment ${id} is not what a rebuild from the segment writes (${frames.length} events in the segment)`;
  }
  return undefined;
}

async function readBindingOf(sim: SimFs, dir: string, id: number, size: number) {
  const seg = await sim.open(`${dir}/${String(id).padStart(6, '0')}.bps`);
  try {
    return await readBinding(seg, id, size);
  } finally {
    await seg.close();
  }
}

/** A process view that shows the erasure oracle every keyset image the store persists. */
class WitnessedFs extends KillableFs {
  constructor(
    inner: SimFs,
    private readonly witness: ErasureWitness,
  ) {
    super(inner);
  }
  override async writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
    if (path.endsWith('/keyset.bpk')) this.witness.record(data);
    return super.writeFileAtomic(path, data);
  }
}

export interface OracleOptions {
  readonly seed: number;
  /** Rounds of concurrent operations between checks. */
  readonly rounds?: number;
  /** Force payload encryption (with random shreds) on or off; default: a seeded 40 %. */
  readonly encrypted?: boolean;
}

export interface OracleResult {
  readonly seed: number;
  readonly crashes: number;
  readonly acked: number;
  readonly recovered: number;
  readonly refusals: number;
  readonly faults: number;
  /** Shreds that completed (key destroyed and flushed). */
  readonly shreds: number;
  readonly encrypted: boolean;
  /** Process deaths without power loss (everything the dead process wrote stays, temp files included). */
  readonly kills: number;
}

const Item = defineEvent<{ op: number; i: number; pad: string }>({ category: 5, typeId: 1, name: 'Item' });
const SIGNING_KEY = new Uint8Array(32).fill(42);

interface ShredRecord {
  readonly entity: string;
  /** Launch order among all operations (appends and shreds). */
  readonly tick: number;
  readonly epoch: number;
  status: 'pending' | 'ok' | 'failed';
}

interface OpRecord {
  readonly id: number;
  readonly tick: number;
  readonly batch: boolean;
  readonly items: { readonly entity: string; readonly payload: { op: number; i: number; pad: string } }[];
  status: 'pending' | 'acked' | 'failed';
  receipts?: AppendReceipt[];
  /** Acknowledged with no lying fsync before it in this epoch: must survive any crash. */
  guaranteed: boolean;
}

export class OracleFailure extends Error {}

/** A typed refusal the fault log explains (disk lies, flipped bits): legal, and it ends the seed. */
class ExplainedRefusal extends Error {}

/** Waits for every launched op; a verdict an op's settle handler reached is thrown here, not lost with its promise. */
async function settleAll(pending: readonly Promise<unknown>[]): Promise<void> {
  for (const r of await Promise.allSettled(pending)) if (r.status === 'rejected' && r.reason instanceof OracleFailure) throw r.reason;
}

function fail(seed: number, message: string): never {
  throw new OracleFailure(`crash oracle failed for seed ${seed}: ${message}\n  replay: BATPAK_SIM_SEED=${seed} npx vitest run packages/core/test/store.sim.test.ts`);
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

export async function runCrashOracle(options: OracleOptions): Promise<OracleResult> {
  const { seed } = options;
  const rng = new SeededRng(seed, 0x5eed);
  const sim = new SimFs(seed);
  let clock = 1_700_000_000_000;
  const signed = rng.chance(0.3);
  const encrypted = options.encrypted ?? rng.chance(0.4);
  const base: StoreOptions = {
    ...(encrypted ? { payloadEncryption: { granularity: 'entity' as const } } : {}),
    dir: '/db',
    segmentMaxBytes: 400 + rng.below(3000),
    now: () => (clock += 1 + rng.below(3)),
    ...(process.env.BATPAK_SIM_DEBUG === '1' ? { onWarning: (w: string) => console.log('WARN', w) } : {}),
    ...(signed ? { signingKey: SIGNING_KEY } : {}),
  };
  const faultKinds: FaultKind[] = ['EIO', 'ENOSPC', 'short-write', 'fsync-lie'];
  const bitFlips = rng.chance(0.1);
  if (bitFlips) faultKinds.push('bit-flip');
  const faultProbability = rng.chance(0.3) ? 0 : 0.02 + rng.nextFloat() * 0.1;
  // With encryption, keyset flushes (temp file, write, fsync, rename, dir fsync) are hit too.
  const faultOps = ['append', 'fsync', 'truncate', 'open', 'syncDir', 'writeAt', ...(encrypted ? (['rename', 'writeFileAtomic'] as const) : [])] as const;
  const enableFaults = () =>
    sim.setFaultRate(faultProbability === 0 ? null : { probability: faultProbability, kinds: faultKinds, ops: [...faultOps] });

  const ops: OpRecord[] = [];
  const shreds: ShredRecord[] = [];
  let nextOp = 0;
  let tick = 0;
  let crashes = 0;
  let refusals = 0;
  const witness = new ErasureWitness('/db');
  const view = () => new WitnessedFs(sim, witness);
  // Its own stream, so the schedules of seeds that never kill stay what they were.
  const killRng = new SeededRng(seed, 0x4b11);
  let kills = 0;
  let proc = view();
  let store: Store | undefined = await Store.open({ ...base, fs: proc });
  // Faults logged before each store instance finished opening: its writer answers for the ones after.
  const faultsAtOpen = new WeakMap<Store, number>([[store, sim.faults().length]]);
  enableFaults();

  const liesIn = (epoch: number) => sim.faults().filter((f) => f.epoch === epoch && f.kind === 'fsync-lie').length;
  // Faults that can leave damage recovery must refuse rather than repair: a flipped bit on disk, or a
  // lying fsync under a segment that rotation then sealed (Rust refuses that case too) or under a
  // keyset image that a rename then published.
  const corruptingFaults = () => sim.faults().some((f) => (f.kind === 'bit-flip' && f.op !== 'readAt') || f.kind === 'fsync-lie');

  const launch = (s: Store): Promise<unknown> => {
    const id = nextOp++;
    // The epoch the op runs in: its acknowledgement may be observed only after a crash that followed it.
    const epoch = crashes;
    const batch = rng.chance(0.25);
    const n = batch ? 2 + rng.below(3) : 1;
    const rec: OpRecord = { id, tick: tick++, batch, items: [], status: 'pending', guaranteed: false };
    for (let i = 0; i < n; i++) {
      rec.items.push({ entity: `e${rng.below(4)}`, payload: { op: id, i, pad: 'x'.repeat(rng.below(120)) } });
    }
    ops.push(rec);
    // A group write that failed with an I/O error may have failed writing back (O_DSYNC): the writer must refuse
    // every later group until a reopen, as after a failed fsync. Out of space is refused before write-back.
    const failedDurableWrite = sim
      .faults()
      .slice(faultsAtOpen.get(s) ?? 0)
      .find((f) => f.durableAppend === true && (f.kind === 'EIO' || f.kind === 'short-write'));
    const settle = (receipts: AppendReceipt[]) => {
      if (failedDurableWrite !== undefined) {
        fail(seed, `op ${id} was acknowledged after a failed durable group write (${failedDurableWrite.op} ${failedDurableWrite.kind} on ${failedDurableWrite.path}) without a reopen`);
      }
      rec.status = 'acked';
      rec.receipts = receipts;
      rec.guaranteed = liesIn(epoch) === 0;
    };
    // The scope carries the op marker in plaintext, so even a shredded event can be traced to its op.
    const coord = (it: OpRecord['items'][number]) => new Coordinate(it.entity, `op${id}.${it.payload.i}`);
    const p = batch
      ? s.appendBatch(rec.items.map((it) => ({ coord: coord(it), kind: Item, payload: it.payload })))
      : s.append(coord(rec.items[0]!), Item, rec.items[0]!.payload).then((r) => [r]);
    return p.then(settle, (err: unknown) => {
      rec.status = 'failed';
      if (!(err instanceof BatpakError)) fail(seed, `op ${id} failed with an untyped error: ${String(err)}`);
    });
  };

  const launchShred = (s: Store): Promise<unknown> => {
    const rec: ShredRecord = { entity: `e${rng.below(4)}`, tick: tick++, epoch: crashes, status: 'pending' };
    shreds.push(rec);
    return s.shredScope({ entity: rec.entity }).then(
      () => void (rec.status = 'ok'),
      (err: unknown) => {
        rec.status = 'failed';
        if (!(err instanceof BatpakError)) fail(seed, `shred of ${rec.entity} failed with an untyped error: ${String(err)}`);
      },
    );
  };

  /**
   * Whether an op's events must read back as plaintext ('readable'), must be shredded, or may be
   * either: a shred launched after the op (which sealed under the old key) that completed without a
   * lying fsync in its epoch must have destroyed it durably; one that failed or raced a crash may not.
   */
  const expectation = (op: OpRecord, entity: string): 'readable' | 'shredded' | 'either' => {
    let verdict: 'readable' | 'shredded' | 'either' = 'readable';
    for (const sh of shreds) {
      if (sh.entity !== entity || sh.tick < op.tick) continue;
      if (sh.status === 'ok' && liesIn(sh.epoch) === 0) return 'shredded';
      verdict = 'either';
    }
    return verdict;
  };

  /** Reopens after a crash; a typed refusal is legal only when a corrupting fault could explain it. */
  const reopen = async (): Promise<Store | undefined> => {
    sim.setFaultRate(null);
    if (rng.chance(0.2)) {
      // A short read during recovery must be an error, never a reason to cut acknowledged data.
      sim.failOn('readAt', 1 + rng.below(3), 'short-read');
      try {
        const s = await Store.open({ ...base, fs: (proc = view()) });
        await s.close();
      } catch (err) {
        if (!(err instanceof BatpakError)) fail(seed, `reopen under a short read threw an untyped error: ${String(err)}`);
      }
      sim.clearFaults();
    }
    proc = view();
    try {
      const s = await Store.open({ ...base, fs: proc });
      faultsAtOpen.set(s, sim.faults().length);
      return s;
    } catch (err) {
      if (err instanceof BatpakError && (err.code === 'ERR_CORRUPT_SEGMENT' || err.code === 'ERR_CORRUPT_KEYSET') && corruptingFaults()) {
        refusals++;
        return undefined;
      }
      fail(seed, `reopen failed: ${err instanceof Error ? `${(err as BatpakError).code ?? ''} ${err.message}` : String(err)}`);
    }
  };

  const check = async (s: Store): Promise<number> => {
    // INV-SHRED-NO-COPIES at every crash point: no destroyed key, no shredded plaintext, in any file.
    const erased = ops.flatMap((op) => op.items.filter((it) => expectation(op, it.entity) === 'shredded').map((it) => it.payload));
    const violation = witness.check(sim, erased);
    if (violation !== undefined) fail(seed, violation);
    const recovered = new Map<string, { op: number; i: number }>();
    const seenMarkers = new Set<string>();
    let shredReceipts = 0;
    const events = [];
    try {
      for await (const e of s.query()) events.push(e);
    } catch (err) {
      // A key lost to a lying keyset fsync surfaces per event as a typed error, never as ciphertext.
      if (err instanceof BatpakError && (err.code === 'ERR_KEYSET_MISSING' || err.code === 'ERR_PAYLOAD_DECRYPT_FAILED') && corruptingFaults()) {
        throw new ExplainedRefusal(err.message);
      }
      fail(seed, `reading the recovered store failed: ${String(err)}`);
    }
    for (const e of events) {
      if (e.coordinate.entity === 'batpak:store') {
        shredReceipts++;
        continue;
      }
      const m = /^op(\d+)\.(\d+)$/.exec(e.coordinate.scope);
      const op = m === null ? undefined : ops[Number(m[1])];
      const item = op?.items[Number(m?.[2])];
      if (op === undefined || item === undefined) fail(seed, `recovered event ${e.header.eventId} was never appended`);
      if (item.entity !== e.coordinate.entity) fail(seed, `recovered event ${e.header.eventId} is on the wrong entity`);
      const want = expectation(op, item.entity);
      if (e.shredded) {
        if (want === 'readable') fail(seed, `event ${e.header.eventId} of op ${op.id} is shredded but no shred could have reached it`);
      } else {
        if (want === 'shredded') fail(seed, `event ${e.header.eventId} of op ${op.id} is still readable after a completed shred`);
        const p = e.payload as { op?: unknown; i?: unknown; pad?: unknown };
        if (p.op !== op.id || p.i !== item.payload.i || p.pad !== item.payload.pad) fail(seed, `recovered event ${e.header.eventId} differs from what was appended`);
      }
      const marker = `${op.id}/${item.payload.i}`;
      if (seenMarkers.has(marker)) fail(seed, `op ${marker} recovered twice`);
      seenMarkers.add(marker);
      recovered.set(e.header.eventId, { op: op.id, i: item.payload.i });
    }
    if (shredReceipts > shreds.length) fail(seed, `${shredReceipts} shred receipts for ${shreds.length} shreds`);
    for (const op of ops) {
      const n = op.items.filter((it) => seenMarkers.has(`${op.id}/${it.payload.i}`)).length;
      if (op.batch && n !== 0 && n !== op.items.length) fail(seed, `batch op ${op.id} recovered ${n} of ${op.items.length} items`);
      if (op.status === 'failed' && op.batch && n !== 0 && n !== op.items.length) fail(seed, `failed batch ${op.id} half visible`);
      if (op.status !== 'acked' || !op.guaranteed) continue;
      if (n !== op.items.length) {
        if (process.env.BATPAK_SIM_DEBUG === '1') {
          console.log(JSON.stringify(ops.map((o) => ({ id: o.id, b: o.batch, st: o.status, g: o.guaranteed, seqs: o.receipts?.map((r) => Number(r.globalSequence)) }))));
        }
        fail(seed, `acknowledged op ${op.id} lost ${op.items.length - n} event(s)`);
      }
      for (const r of op.receipts!) {
        if (expectation(op, r.coordinate.entity) !== 'readable') continue;
        const ev = await s.get(r.eventId).catch((err: unknown) => fail(seed, `acknowledged event ${r.eventId} unreadable: ${String(err)}`));
        const h = ev.header;
        if (h.globalSequence !== r.globalSequence || h.entitySequence !== r.entitySequence || hex(h.contentHash) !== hex(r.contentHash) || hex(h.prevHash) !== hex(r.prevHash) || h.committedAt !== r.committedAt) {
          fail(seed, `acknowledged event ${r.eventId} is not byte-identical to its receipt`);
        }
        const verdict = await s.verifyReceipt(r);
        if (verdict.status !== (signed ? 'signed' : 'unsigned-accepted')) fail(seed, `receipt of ${r.eventId}: ${verdict.status} ${verdict.reason ?? ''}`);
      }
    }
    const report = await s.verifyChain();
    if (!report.intact) {
      if (process.env.BATPAK_SIM_DEBUG === '1') {
        for await (const e of s.query()) {
          console.log('EV', e.header.eventId.slice(-6), e.coordinate.entity, Number(e.header.globalSequence), Number(e.header.entitySequence), hex(e.header.prevHash).slice(0, 8), hex(e.header.contentHash).slice(0, 8), JSON.stringify(e.header.batch ? [Number(e.header.batch.first), e.header.batch.index, e.header.batch.count] : null));
        }
      }
      if (process.env.BATPAK_SIM_DEBUG === '1') {
        const { scanSegment } = await import('../../src/segment/scan.js');
        for (const f of sim.listFiles()) {
          const info = sim.inspect(f)!;
          const scan = scanSegment(info.current, { file: f, allowTornTail: true });
          console.log('FILE', f, info.current.length, scan.frames.map((x) => (x.frame.type === 0 ? x.frame.globalSequence : `seal${x.frame.firstSequence}-${x.frame.lastSequence}`)).join(','));
        }
      }
      fail(seed, `verifyChain not intact after recovery: ${JSON.stringify(report)}`);
    }
    if (report.eventsChecked !== recovered.size + shredReceipts) fail(seed, `verifyChain checked ${report.eventsChecked} of ${recovered.size + shredReceipts} events`);
    return recovered.size;
  };

  const rounds = options.rounds ?? 3 + rng.below(6);
  let lastRecovered = 0;
  for (let round = 0; round < rounds && store !== undefined; round++) {
    const pending: Promise<unknown>[] = [];
    const n = 1 + rng.below(8);
    for (let k = 0; k < n; k++) pending.push(encrypted && rng.chance(0.15) ? launchShred(store) : launch(store));
    const crashNow = rng.chance(0.35) || round === rounds - 1;
    if (crashNow) {
      // Crash mid-flight after a seeded number of scheduler turns.
      const turns = rng.below(40);
      for (let t = 0; t < turns; t++) await Promise.resolve();
      proc.kill();
      if (encrypted && killRng.chance(0.3)) {
        // The process dies, the machine does not: its temp files and unsynced writes all stay visible.
        kills++;
      } else {
        sim.crash({ tear: true });
        crashes++;
      }
      await settleAll(pending);
      store = await reopen();
      if (store !== undefined) {
        try {
          lastRecovered = await check(store);
        } catch (err) {
          if (!(err instanceof ExplainedRefusal)) throw err;
          refusals++;
          store = undefined;
          break;
        }
        enableFaults();
      }
    } else {
      await settleAll(pending);
      if (rng.chance(0.2)) {
        // A clean close writes the cold-start checkpoint, so later crashes reopen beside one: what it
        // recorded must never make a crash look like a loss (INV-DIRECTORY-EVIDENCE) — reopen refuses
        // only when a corrupting fault explains it, and check() finds verifyChain intact, damage included.
        try {
          await store.close();
        } catch (err) {
          if (!(err instanceof BatpakError)) fail(seed, `close failed with an untyped error: ${String(err)}`);
        }
        store = await reopen();
        if (store !== undefined) {
          try {
            lastRecovered = await check(store);
          } catch (err) {
            if (!(err instanceof ExplainedRefusal)) throw err;
            refusals++;
            store = undefined;
            break;
          }
          enableFaults();
        }
      }
    }
  }
  if (store !== undefined) {
    // The recovered store keeps working: append, close cleanly, reopen, check once more.
    sim.setFaultRate(null);
    await launch(store);
    await store.close();
    proc = view();
    const final = await Store.open({ ...base, fs: proc });
    lastRecovered = await check(final);
    await final.close();
    const indexProblem = await checkIndexFiles(sim, '/db');
    if (indexProblem !== undefined) fail(seed, indexProblem);
  }
  return {
    seed,
    crashes,
    acked: ops.filter((o) => o.status === 'acked').length,
    recovered: lastRecovered,
    refusals,
    faults: sim.faults().length,
    shreds: shreds.filter((x) => x.status === 'ok').length,
    encrypted,
    kills,
  };
}
