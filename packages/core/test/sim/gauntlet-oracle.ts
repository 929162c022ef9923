// The gauntlet oracle: one seeded workload over SimFs that mixes appends, batches, compaction (merge,
// retention, tombstone), shreds, reads, verifyChain and reopens under random crashes and every fault
// kind, and checks after each recovery what GAUNTLET.md § Simulation states (INV-CRASH-ORACLE, INV-COMPACT-SWAP).

import { BatpakError, Coordinate, defineEvent, Store, type AppendReceipt, type CompactOptions, type StoredEvent, type StoreOptions } from '../../src/index.js';
import { FS_OPS, KillableFs, SeededRng, SimFs, type FaultKind, type FsOp, type InjectedFault } from '../../src/entry/testing.js';
import { ProcessFs } from './process-fs.js';
import { ErasureWitness } from './erasure-oracle.js';
import { CHECKPOINT_FILE, decodeCheckpoint } from '../../src/event-index/checkpoint.js';
import { scanSegment } from '../../src/segment/scan.js';

export interface GauntletOptions {
  readonly seed: number;
  /** Keep a step log and return it (printed on failure by the drivers). */
  readonly trace?: boolean;
}

export interface GauntletResult {
  readonly seed: number;
  readonly crashes: number;
  /** Clean close + reopen cycles (no crash). */
  readonly reopens: number;
  readonly faults: number;
  /** Fault kinds that fired, by kind (every kind of FAULT_KINDS shows up across a few hundred seeds). */
  readonly faultKinds: Readonly<Record<string, number>>;
  /** Faults by the Fs op they hit (rename and remove failures are EIO/ENOSPC on those ops). */
  readonly faultOps: Readonly<Record<string, number>>;
  /** Opens or reads refused with a typed error that a corrupting fault (bit flip, lying fsync) explains. */
  readonly refusals: number;
  /** Operations that failed with a typed error (I/O, no space, writer failed…): legal, counted. */
  readonly typedErrors: number;
  readonly acked: number;
  readonly compactions: number;
  readonly compactionsPerformed: number;
  readonly shreds: number;
  readonly reads: number;
  readonly verifies: number;
  /** Events observed dropped or tombstoned by compaction at a check: its legal effects did happen. */
  readonly compactedAway: number;
  readonly encrypted: boolean;
  readonly signed: boolean;
  /** Process deaths without power loss: the next open sees everything the dead process left. */
  readonly kills: number;
  /** Index files deleted, cut, flipped or made stale before a reopen (each rebuilt by it). */
  readonly indexFilesDamaged: number;
}

export class GauntletFailure extends Error {
  constructor(
    readonly seed: number,
    readonly reason: string,
    readonly trace: readonly string[],
  ) {
    super(`gauntlet failed for seed ${seed}: ${reason}\n  replay: pnpm sim --seed ${seed}`);
  }
}

/** Ends a seed early: the store refused to open or to read, and a corrupting fault explains it. */
class ExplainedRefusal extends Error {}

interface ItemPayload {
  readonly op: number;
  readonly i: number;
  readonly pad: string;
  /** The deterministic compaction predicate: retention drops it, tombstone compaction tombstones it. */
  readonly doom: boolean;
}

const Item = defineEvent<ItemPayload>({ category: 6, typeId: 3, name: 'GauntletItem' });
const SIGNING_KEY = new Uint8Array(32).fill(7);
const ENTITIES = 5;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

interface OpRecord {
  readonly id: number;
  readonly tick: number;
  readonly epoch: number;
  readonly batch: boolean;
  readonly items: { readonly entity: string; readonly payload: ItemPayload }[];
  status: 'pending' | 'acked' | 'failed';
  receipts?: AppendReceipt[];
  /** Acknowledged with no lying fsync before it in its epoch: must survive any crash. */
  guaranteed: boolean;
}

interface ShredRecord {
  readonly entity: string;
  readonly tick: number;
  readonly epoch: number;
  status: 'pending' | 'ok' | 'failed';
}

interface CompactionRecord {
  readonly strategy: 'merge' | 'retention' | 'tombstone';
  readonly tick: number;
  /** The launch counter when it settled: ops launched from then on were never judged by it. */
  settled: number;
}

/** How an appended item was found at a check. */
type Form = 'intact' | 'shredded' | 'tombstone';

/** Faults that can leave damage a recovery must refuse rather than repair (see the crash oracle). */
const corrupting = (f: InjectedFault) => (f.kind === 'bit-flip' && f.op !== 'readAt') || f.kind === 'fsync-lie';

export async function runGauntlet(options: GauntletOptions): Promise<GauntletResult> {
  const { seed } = options;
  const rng = new SeededRng(seed, 0x6a47);
  const sim = new SimFs(seed);
  const trace: string[] = [];
  const log = (line: string) => {
    if (options.trace === true) trace.push(line);
  };
  const fail = (reason: string): never => {
    throw new GauntletFailure(seed, reason, trace);
  };
  /**
   * Waits for every launched op; a verdict an op's own settle handler reached (an untyped error, an
   * acknowledgement the writer must have refused) is thrown here, not lost with the op's promise.
   */
  const settleAll = async (pending: readonly Promise<unknown>[]): Promise<void> => {
    for (const r of await Promise.allSettled(pending)) if (r.status === 'rejected' && r.reason instanceof GauntletFailure) throw r.reason;
  };

  let clock = 1_700_000_000_000;
  const signed = rng.chance(0.3);
  const encrypted = rng.chance(0.4);
  const recompute = rng.chance(0.1);
  const base: StoreOptions = {
    dir: '/db',
    segmentMaxBytes: 300 + rng.below(2500),
    now: () => (clock += 1 + rng.below(3)),
    onWarning: (w: string) => log(`warn ${w}`),
    ...(encrypted ? { payloadEncryption: { granularity: 'entity' as const } } : {}),
    ...(signed ? { signingKey: SIGNING_KEY } : {}),
    ...(recompute ? { chainVerification: 'recompute' as const } : {}),
  };

  // The fault profile: a third of the seeds run clean (so compaction and shreds complete often), the
  // rest draw faults on every Fs op but `lock`, with lies and bit flips in some seeds only.
  const kinds: FaultKind[] = ['EIO', 'ENOSPC', 'short-write', 'short-read'];
  if (rng.chance(0.4)) kinds.push('fsync-lie');
  if (rng.chance(0.15)) kinds.push('bit-flip');
  const probability = rng.chance(0.33) ? 0 : 0.005 + rng.nextFloat() * 0.05;
  const faultOps: FsOp[] = FS_OPS.filter((op) => op !== 'lock');
  const enableFaults = () => sim.setFaultRate(probability === 0 ? null : { probability, kinds, ops: faultOps });
  log(`config signed=${signed} encrypted=${encrypted} recompute=${recompute} segmentMaxBytes=${base.segmentMaxBytes} p=${probability.toFixed(3)} kinds=${kinds.join(',')}`);

  const ops: OpRecord[] = [];
  const shreds: ShredRecord[] = [];
  const compactions: CompactionRecord[] = [];
  const seen = new Map<string, { op: OpRecord; i: number; form: Form }>();
  let tick = 0;
  let crashes = 0;
  let reopens = 0;
  let refusals = 0;
  let typedErrors = 0;
  let reads = 0;
  let verifies = 0;
  let compactedAway = 0;
  let compactionsPerformed = 0;
  let kills = 0;
  let indexFilesDamaged = 0;
  // Its own stream, so the schedules of the seeds stay what they were apart from the kills.
  const killRng = new SeededRng(seed, 0x4b12);
  // Its own stream too: index files damaged before a reopen (INV-INDEX-REBUILT-INLINE).
  const indexRng = new SeededRng(seed, 0x1b9f);

  /** SimFs's epoch (crash count, including the settling crashes), which fault records carry. */
  const epochNow = () => sim.stats().crashes;
  const liesIn = (epoch: number) => sim.faults().some((f) => f.epoch === epoch && f.kind === 'fsync-lie');
  const corruptingFaults = () => sim.faults().some(corrupting);
  const typed = (what: string, err: unknown): void => {
    if (!(err instanceof BatpakError)) fail(`${what} failed with an untyped error: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    typedErrors++;
    log(`  ${what}: ${(err as BatpakError).code}`);
  };

  /** Which forms an item may legally take now, given the shreds and compactions launched after it. */
  const allowed = (op: OpRecord, item: OpRecord['items'][number]) => {
    let shred: 'readable' | 'shredded' | 'either' = 'readable';
    for (const sh of shreds) {
      if (sh.entity !== item.entity || sh.tick < op.tick) continue;
      if (sh.status === 'ok' && !liesIn(sh.epoch)) {
        shred = 'shredded';
        break;
      }
      shred = 'either';
    }
    const later = compactions.filter((c) => c.settled > op.tick);
    return {
      shred,
      // Only the deterministic predicate may remove or tombstone an event, and only a compaction still
      // running when the event's append was launched could have judged it (it judges what is committed
      // and sealed when it builds, which can be after appends issued later than compact()).
      droppable: item.payload.doom && later.some((c) => c.strategy === 'retention'),
      tombstonable: item.payload.doom && later.some((c) => c.strategy === 'tombstone'),
    };
  };

  /** Names the op item an event claims to be, or fails: recovered ⊆ appended. */
  const itemOf = (e: StoredEvent) => {
    const m = /^op(\d+)\.(\d+)$/.exec(e.coordinate.scope);
    const op = m === null ? undefined : ops[Number(m[1])];
    const i = Number(m?.[2]);
    const item = op?.items[i];
    if (op === undefined || item === undefined) return fail(`event ${e.header.eventId} (${e.coordinate.entity}/${e.coordinate.scope}) was never appended`);
    if (item.entity !== e.coordinate.entity) fail(`event ${e.header.eventId} is on entity ${e.coordinate.entity}, appended on ${item.entity}`);
    return { op, i, item };
  };

  /** A read result must be exactly what was appended, or a legal form of it: never a wrong answer. */
  const judge = (e: StoredEvent, where: string): { op: OpRecord; i: number; form: Form } => {
    const { op, i, item } = itemOf(e);
    const may = allowed(op, item);
    let form: Form;
    if (e.header.tombstone) {
      if (!may.tombstonable) fail(`${where}: event ${e.header.eventId} of op ${op.id} is a tombstone, but no tombstone compaction could have judged it (doom=${item.payload.doom})`);
      if (e.payload !== undefined) fail(`${where}: tombstone ${e.header.eventId} still carries a payload`);
      form = 'tombstone';
    } else if (e.shredded) {
      if (may.shred === 'readable') fail(`${where}: event ${e.header.eventId} of op ${op.id} is shredded but no shred could have reached it`);
      form = 'shredded';
    } else {
      if (may.shred === 'shredded') fail(`${where}: event ${e.header.eventId} of op ${op.id} is still readable after a completed shred`);
      const p = e.payload as Partial<ItemPayload> | undefined;
      if (p?.op !== op.id || p.i !== i || p.pad !== item.payload.pad || p.doom !== item.payload.doom) {
        fail(`${where}: event ${e.header.eventId} differs from what was appended: ${JSON.stringify(p)} vs ${JSON.stringify(item.payload)}`);
      }
      form = 'intact';
    }
    const receipt = op.receipts?.[i];
    if (receipt !== undefined) {
      const h = e.header;
      if (h.eventId !== receipt.eventId || h.globalSequence !== receipt.globalSequence || h.entitySequence !== receipt.entitySequence || hex(h.contentHash) !== hex(receipt.contentHash) || hex(h.prevHash) !== hex(receipt.prevHash) || h.committedAt !== receipt.committedAt) {
        fail(`${where}: event ${h.eventId} is not byte-identical to its receipt`);
      }
    }
    return { op, i, form };
  };

  // ---- the workload ------------------------------------------------------------------------------

  const launchAppend = (s: Store): Promise<unknown> => {
    const batch = rng.chance(0.3);
    const n = batch ? 2 + rng.below(4) : 1;
    const rec: OpRecord = { id: ops.length, tick: tick++, epoch: epochNow(), batch, items: [], status: 'pending', guaranteed: false };
    for (let i = 0; i < n; i++) {
      rec.items.push({ entity: `e${rng.below(ENTITIES)}`, payload: { op: rec.id, i, pad: 'x'.repeat(rng.below(160)), doom: rng.chance(0.35) } });
    }
    ops.push(rec);
    log(`op ${rec.id} ${batch ? 'batch' : 'append'} ${rec.items.map((it) => `${it.entity}${it.payload.doom ? '!' : ''}`).join(' ')}`);
    // The scope carries the op marker in plaintext, so a shredded or tombstoned event is still traceable.
    const coord = (it: OpRecord['items'][number]) => new Coordinate(it.entity, `op${rec.id}.${it.payload.i}`);
    // A group write that failed with an I/O error may have failed writing back (O_DSYNC): the writer must refuse
    // every later group until a reopen, as after a failed fsync. Out of space is refused before write-back.
    const failedDurableWrite = sim
      .faults()
      .slice(faultsAtOpen.get(s) ?? 0)
      .find((f) => f.durableAppend === true && (f.kind === 'EIO' || f.kind === 'short-write'));
    const p = batch
      ? s.appendBatch(rec.items.map((it) => ({ coord: coord(it), kind: Item, payload: it.payload })))
      : s.append(coord(rec.items[0]!), Item, rec.items[0]!.payload).then((r) => [r]);
    return p.then(
      (receipts) => {
        if (failedDurableWrite !== undefined) {
          fail(`op ${rec.id} was acknowledged after a failed durable group write (${failedDurableWrite.op} ${failedDurableWrite.kind} on ${failedDurableWrite.path}) without a reopen`);
        }
        rec.status = 'acked';
        rec.receipts = receipts;
        rec.guaranteed = !liesIn(rec.epoch);
        log(`  op ${rec.id} acked seq ${receipts.map((r) => r.globalSequence).join(',')}${rec.guaranteed ? '' : ' (after a lie)'}`);
      },
      (err: unknown) => {
        rec.status = 'failed';
        typed(`op ${rec.id}`, err);
      },
    );
  };

  const launchShred = (s: Store): Promise<unknown> => {
    const rec: ShredRecord = { entity: `e${rng.below(ENTITIES)}`, tick: tick++, epoch: epochNow(), status: 'pending' };
    shreds.push(rec);
    log(`shred ${rec.entity}`);
    return s.shredScope({ entity: rec.entity }).then(
      () => {
        rec.status = 'ok';
      },
      (err: unknown) => {
        rec.status = 'failed';
        typed(`shred ${rec.entity}`, err);
      },
    );
  };

  const launchCompaction = (s: Store): Promise<unknown> => {
    const strategy = (['merge', 'retention', 'tombstone'] as const)[rng.below(3)]!;
    const rec: CompactionRecord = { strategy, tick: tick++, settled: Number.POSITIVE_INFINITY };
    compactions.push(rec);
    const doomed = (e: StoredEvent) => (e.payload as Partial<ItemPayload> | undefined)?.doom === true;
    const opts: CompactOptions =
      strategy === 'merge' ? { strategy } : strategy === 'retention' ? { strategy, keep: (e) => !doomed(e) } : { strategy, drop: doomed };
    log(`compact ${strategy}`);
    return s.compact(opts).then(
      (r) => {
        rec.settled = tick;
        if (r.outcome === 'performed') compactionsPerformed++;
        if (strategy !== 'retention' && r.eventsDropped !== 0) fail(`a ${strategy} compaction dropped ${r.eventsDropped} events`);
        log(`  compact ${strategy}: ${r.outcome} removed ${r.segmentsRemoved} dropped ${r.eventsDropped} ${r.reason ?? ''}`);
      },
      (err: unknown) => {
        rec.settled = tick;
        typed(`compact ${strategy}`, err);
      },
    );
  };

  /** A read of an acknowledged event (or the whole log) under live faults: exact data or a typed error. */
  const launchRead = (s: Store): Promise<unknown> => {
    reads++;
    const acked = ops.filter((o) => o.status === 'acked');
    const op = acked[rng.below(Math.max(1, acked.length))];
    if (op === undefined || rng.chance(0.3)) {
      return (async () => {
        try {
          for await (const e of s.query({ limit: 50 })) {
            if (e.coordinate.entity !== 'batpak:store') judge(e, 'query');
          }
        } catch (err) {
          typed('query', err);
        }
      })();
    }
    const i = rng.below(op.items.length);
    const id = op.receipts![i]!.eventId;
    return s.get(id).then(
      (e) => judge(e, `get ${id}`),
      (err: unknown) => {
        // Shredded, dropped by retention, or a fault on the read path: typed, never a wrong answer.
        typed(`get ${id}`, err);
      },
    );
  };

  const launchVerify = (s: Store): Promise<unknown> => {
    verifies++;
    return s.verifyChain().then(
      (report) => {
        // Live faults may flip a bit on the way in; otherwise the chain must be intact.
        const explained = sim.faults().some((f) => f.op === 'readAt' || corrupting(f) || f.kind === 'short-write');
        if (!report.intact && !explained) fail(`verifyChain during the workload not intact with no fault to explain it: ${JSON.stringify(report)}`);
      },
      (err: unknown) => typed('verifyChain', err),
    );
  };

  const launchOne = (s: Store): Promise<unknown> => {
    const r = rng.nextFloat();
    if (r < 0.5) return launchAppend(s);
    if (r < 0.6) return encrypted ? launchShred(s) : launchAppend(s);
    // Several compactions and verifications issued in one tick are part of the workload: they found
    // GAUNTLET-BUG-2 (the maintenance lock let two through).
    if (r < 0.7) return launchCompaction(s);
    if (r < 0.9) return launchRead(s);
    return launchVerify(s);
  };

  // ---- recovery and the check ------------------------------------------------------------------------

  const witness = new ErasureWitness('/db');
  const processView = () => new ProcessFs(new KillableFs(sim), (path, data) => path.endsWith('/keyset.bpk') && witness.record(data));
  let proc = processView();
  // Faults logged before each store instance finished opening: its writer answers for the ones after (launchAppend).
  const faultsAtOpen = new WeakMap<Store, number>();
  const open = async () => {
    const s = await Store.open({ ...base, fs: (proc = processView()) });
    faultsAtOpen.set(s, sim.faults().length);
    return s;
  };

  /**
   * INV-INDEX-REBUILT-INLINE: index files are derived data. Before some reopens, some of them are deleted, cut,
   * flipped or made stale (another version): the open rebuilds each from its segment, and the check that follows
   * must find exactly what it would have found without the damage (never a refusal, never a wrong answer).
   */
  const damageIndexFiles = async (): Promise<void> => {
    if (!indexRng.chance(0.3)) return;
    for (const p of sim.listFiles().filter((f) => /^\/db\/\d{6,10}\.bpi$/.test(f))) {
      if (!indexRng.chance(0.6)) continue;
      const bytes = sim.inspect(p)!.current;
      const how = (['delete', 'cut', 'flip', 'stale'] as const)[indexRng.below(4)]!;
      log(`index file ${how}: ${p}`);
      indexFilesDamaged++;
      if (how === 'delete') await sim.remove(p);
      else if (how === 'cut') sim.putFile(p, bytes.slice(0, indexRng.below(bytes.length)));
      else if (how === 'flip' && bytes.length > 0) sim.corrupt(p, indexRng.below(bytes.length), 1 << indexRng.below(8));
      else if (bytes.length > 4) {
        const older = bytes.slice();
        older[4] = 2;
        sim.putFile(p, older);
      }
    }
    await sim.syncDir('/db');
  };

  /** Reopens after a crash with faults off; a typed refusal is legal only when a corrupting fault explains it. */
  const reopen = async (): Promise<Store | undefined> => {
    sim.setFaultRate(null);
    await damageIndexFiles();
    if (rng.chance(0.25)) {
      // A short read or a flipped bit while recovering must be an error, never a reason to cut data.
      const kind = rng.chance(0.5) ? 'short-read' : 'bit-flip';
      sim.failOn('readAt', 1 + rng.below(4), kind);
      log(`probe open with ${kind}`);
      try {
        const s = await open();
        await s.close();
      } catch (err) {
        if (!(err instanceof BatpakError)) fail(`an open under a ${kind} threw an untyped error: ${String(err)}`);
      }
      sim.clearFaults();
    }
    try {
      return await open();
    } catch (err) {
      const refusable = ['ERR_CORRUPT_SEGMENT', 'ERR_CORRUPT_KEYSET', 'ERR_CORRUPT_MARKER', 'ERR_COMPACTION_RECOVERY_REFUSED', 'ERR_CHAIN_VERIFICATION_FAILED'];
      if (err instanceof BatpakError && refusable.includes(err.code) && corruptingFaults()) {
        log(`reopen refused (explained): ${err.code} ${err.message}`);
        return undefined;
      }
      return fail(`reopen failed: ${err instanceof BatpakError ? `${err.code} ${err.message}` : String(err)}`);
    }
  };

  /** After a recovery: acknowledged-durable ⊆ recovered ⊆ appended, byte-identical, legal forms only. */
  const check = async (s: Store): Promise<void> => {
    // INV-SHRED-NO-COPIES: no destroyed key and no plaintext of a surely shredded item in any file.
    const erased = ops.flatMap((op) => op.items.filter((it) => allowed(op, it).shred === 'shredded').map((it) => it.payload));
    const violation = witness.check(sim, erased);
    if (violation !== undefined) fail(violation);
    const found = new Map<string, { op: OpRecord; i: number; form: Form }>();
    let system = 0;
    try {
      for await (const e of s.query()) {
        if (e.coordinate.entity === 'batpak:store') {
          system++;
          continue;
        }
        if (found.has(e.header.eventId)) fail(`event ${e.header.eventId} recovered twice`);
        found.set(e.header.eventId, judge(e, 'recovered'));
      }
    } catch (err) {
      // A key lost to a lying keyset fsync surfaces per event as a typed error, never as ciphertext.
      if (err instanceof BatpakError && (err.code === 'ERR_KEYSET_MISSING' || err.code === 'ERR_PAYLOAD_DECRYPT_FAILED') && corruptingFaults()) {
        throw new ExplainedRefusal(err.message);
      }
      if (err instanceof GauntletFailure) throw err;
      fail(`reading the recovered store failed: ${err instanceof BatpakError ? `${err.code} ${err.message}` : String(err)}`);
    }
    const byOp = new Map<number, number>();
    for (const v of found.values()) byOp.set(v.op.id, (byOp.get(v.op.id) ?? 0) + 1);
    for (const op of ops) {
      const n = byOp.get(op.id) ?? 0;
      const missing = op.items.filter((_, i) => op.receipts === undefined || !found.has(op.receipts[i]?.eventId ?? ''));
      const lostKept = op.receipts === undefined ? [] : op.items.filter((it, i) => !found.has(op.receipts![i]!.eventId) && !allowed(op, it).droppable);
      if (op.batch && n > 0 && op.receipts !== undefined && lostKept.length > 0) {
        fail(`batch op ${op.id} recovered ${n} of ${op.items.length} items (${lostKept.length} of the missing ones not droppable)`);
      }
      if (op.batch && n > 0 && op.receipts === undefined && n !== op.items.length) {
        // A batch whose outcome is unknown (failed or crashed): all or nothing, barring retention drops.
        const anyDroppable = op.items.some((it) => allowed(op, it).droppable);
        if (!anyDroppable) fail(`unacknowledged batch op ${op.id} is half visible (${n} of ${op.items.length})`);
      }
      if (op.status === 'acked' && op.guaranteed && lostKept.length > 0) {
        fail(`acknowledged op ${op.id} lost ${lostKept.length} event(s) (missing ${missing.length})`);
      }
    }
    // What a check observed was durable: it never comes back changed, and never vanishes unless a
    // retention compaction launched after it could drop it (no resurrection, no silent loss).
    for (const [id, was] of seen) {
      const now = found.get(id);
      const item = was.op.items[was.i]!;
      if (now === undefined) {
        if (!allowed(was.op, item).droppable) fail(`event ${id} of op ${was.op.id} was recovered before and is gone now`);
        compactedAway++;
        seen.delete(id);
        continue;
      }
      if (was.form !== 'intact' && now.form === 'intact') fail(`event ${id} of op ${was.op.id} was ${was.form} and is readable again`);
      if (was.form === 'intact' && now.form === 'tombstone') compactedAway++;
      if (was.form === 'tombstone' && now.form !== 'tombstone') fail(`tombstone ${id} became ${now.form}`);
      if (was.form === 'shredded' && now.form === 'tombstone') fail(`shredded event ${id} was tombstoned: compaction judged an unreadable event`);
    }
    for (const [id, v] of found) seen.set(id, v);
    // Receipts of acknowledged events that are still there verify, tombstoned or not.
    for (const op of ops) {
      if (op.status !== 'acked') continue;
      for (const r of op.receipts!) {
        if (!found.has(r.eventId)) continue;
        const verdict = await s.verifyReceipt(r);
        if (verdict.status !== (signed ? 'signed' : 'unsigned-accepted')) fail(`receipt of ${r.eventId}: ${verdict.status} ${verdict.reason ?? ''}`);
      }
    }
    const report = await s.verifyChain();
    if (!report.intact) fail(`verifyChain not intact after recovery: ${JSON.stringify(report)}`);
    if (report.eventsChecked !== found.size + system) fail(`verifyChain checked ${report.eventsChecked} of ${found.size + system} events`);
    if (system > shreds.length) fail(`${system} shred receipts for ${shreds.length} shreds`);
    log(`check ok: ${found.size} events, ${system} shred receipts, gaps ${report.gaps.length}`);
  };

  /**
   * INV-DIRECTORY-EVIDENCE at a clean stop: the operator (or an attacker) deletes the newest segment or cuts
   * it to its header. When the checkpoint recorded that segment, a read-only verifyChain must say so and
   * a writable open must refuse — never open over the loss. The file is then put back as it was.
   */
  const lossProbe = async (): Promise<void> => {
    const ckpt = sim.inspect(`/db/${CHECKPOINT_FILE}`);
    const c = ckpt === null ? undefined : decodeCheckpoint(ckpt.current);
    const segs = sim.listFiles().filter((f) => /^\/db\/\d{6,10}\.bps$/.test(f)).sort();
    const newest = segs[segs.length - 1];
    if (c === undefined || newest === undefined) return;
    const id = Number(/(\d+)\.bps$/.exec(newest)![1]);
    if (c.segments[c.segments.length - 1]?.id !== id) return;
    const recorded = c.entries.some((e) => e.segmentId === id);
    const how = rng.chance(0.5) ? 'delete' : 'truncate';
    if (how === 'truncate' && !recorded) return;
    const bytes = sim.inspect(newest)!.current.slice();
    if (how === 'delete') await sim.remove(newest);
    else sim.putFile(newest, bytes.slice(0, 32));
    log(`loss probe: ${how} ${newest}`);
    try {
      let ro: Store;
      try {
        ro = await Store.open({ ...base, fs: new KillableFs(sim), readOnly: true });
      } catch (err) {
        // 'recompute' refuses at open on the very damage: the report it carries must name it. Earlier
        // corrupting faults may refuse too; either way nothing opened over the loss.
        const report = err instanceof BatpakError ? (err.details.report as { directoryDamage?: unknown[] } | undefined) : undefined;
        if (!(err instanceof BatpakError) || ((report?.directoryDamage?.length ?? 0) === 0 && !corruptingFaults())) throw err;
        sim.putFile(newest, bytes);
        return;
      }
      try {
        const report = await ro.verifyChain();
        if (report.intact || report.directoryDamage.length === 0) fail(`${how} of ${newest} (recorded by the checkpoint) verifies intact`);
      } finally {
        await ro.close();
      }
      const w = await Store.open({ ...base, fs: new KillableFs(sim) }).then(
        async (opened) => {
          await opened.close();
          return 'opened';
        },
        (err: unknown) => (err instanceof BatpakError && err.code === 'ERR_CORRUPT_SEGMENT' ? 'refused' : fail(`a writable open over the ${how} threw ${String(err)}`)),
      );
      if (w !== 'refused') fail(`a writable open over the ${how} of ${newest} was not refused`);
    } catch (err) {
      if (err instanceof GauntletFailure) throw err;
      fail(`the loss probe (${how}) threw ${String(err)}`);
    }
    sim.putFile(newest, bytes);
  };

  /** Crash (or cleanly reopen), recover and check; undefined when the seed ends in a refusal. */
  const recover = async (): Promise<Store | undefined> => {
    const s = await reopen();
    if (s === undefined) {
      refusals++;
      return undefined;
    }
    try {
      await check(s);
    } catch (err) {
      if (!(err instanceof ExplainedRefusal)) throw err;
      log(`read refused (explained): ${err.message}`);
      refusals++;
      await s.close().catch(() => undefined);
      return undefined;
    }
    return s;
  };

  let store: Store | undefined = await open().catch((err: unknown) => fail(`the first open failed: ${String(err)}`));
  enableFaults();
  const rounds = 4 + rng.below(8);
  for (let round = 0; round < rounds && store !== undefined; round++) {
    const s: Store = store;
    const pending: Promise<unknown>[] = [];
    const n = 1 + rng.below(8);
    for (let k = 0; k < n; k++) pending.push(launchOne(s));
    const r = rng.nextFloat();
    const crash = async (turns: number) => {
      // Power loss after a seeded number of scheduler turns: mid-append, mid-compaction, mid-flush.
      for (let t = 0; t < turns; t++) await Promise.resolve();
      proc.kill();
      if (killRng.chance(0.25)) {
        // Only the process dies: its temp files, unsynced writes and landed namespace ops all stay.
        kills++;
        log(`kill after ${turns} turns (no power loss)`);
        await settleAll(pending);
        return recover();
      }
      if (options.trace === true) {
        for (const f of sim.faults().filter((x) => x.epoch === epochNow())) log(`  fault ${f.op}#${f.call} ${f.kind} ${f.path}${f.bytes === undefined ? '' : ` bytes=${f.bytes}`}`);
      }
      const report = sim.crash({ tear: true });
      crashes++;
      log(`crash #${crashes} after ${turns} turns: ${report.files.map((f) => `${f.path} ${f.currentLength}->${f.keptLength}`).join(', ')}`);
      await settleAll(pending);
      // Namespace ops the dead process had in flight landed after the crash (HARNESS-1): the power is
      // still off, so roll the tree back to what was durable at the crash.
      sim.crash({ tear: false });
      return recover();
    };
    if (r < 0.4 || round === rounds - 1) {
      store = await crash(rng.below(60));
    } else if (r < 0.5) {
      await settleAll(pending);
      // A clean reopen (close with faults off, open, check) — also after a failed fsync, where close
      // cannot sync and the open must make what it serves durable first (it found GAUNTLET-BUG-3).
      sim.setFaultRate(null);
      await s.close().catch((err: unknown) => typed('close', err));
      reopens++;
      if (rng.chance(0.3)) await lossProbe();
      log('clean reopen');
      store = await recover();
    } else {
      await settleAll(pending);
    }
    if (store !== undefined) enableFaults();
  }
  if (store !== undefined) {
    // The recovered store keeps working: append, compact, close cleanly, reopen, check once more.
    sim.setFaultRate(null);
    await launchAppend(store);
    await launchCompaction(store);
    await store.close();
    // A cleanly closed store keeps no preallocated zeros: every segment ends at its last frame (FORMAT.md §
    // Preallocated tail). Earlier injected damage may leave a segment that does not scan; that is checked elsewhere.
    for (const path of sim.listFiles().filter((f) => f.endsWith('.bps'))) {
      const bytes = sim.inspect(path)!.current;
      let end: number;
      try {
        end = scanSegment(bytes, { file: path, allowTornTail: true }).validEnd;
      } catch {
        continue;
      }
      if (end < bytes.length && bytes.subarray(end).every((b) => b === 0)) fail(`${path} keeps ${bytes.length - end} zero bytes after a clean close`);
    }
    const last = await recover();
    await last?.close();
  }
  const faults = sim.faults();
  const faultKinds: Record<string, number> = {};
  const faultOpCounts: Record<string, number> = {};
  for (const f of faults) {
    faultKinds[f.kind] = (faultKinds[f.kind] ?? 0) + 1;
    faultOpCounts[f.op] = (faultOpCounts[f.op] ?? 0) + 1;
  }
  return {
    seed,
    crashes,
    reopens,
    faults: faults.length,
    faultKinds,
    faultOps: faultOpCounts,
    refusals,
    typedErrors,
    acked: ops.filter((o) => o.status === 'acked').length,
    compactions: compactions.length,
    compactionsPerformed,
    shreds: shreds.filter((x) => x.status === 'ok').length,
    reads,
    verifies,
    compactedAway,
    encrypted,
    signed,
    kills,
    indexFilesDamaged,
  };
}
