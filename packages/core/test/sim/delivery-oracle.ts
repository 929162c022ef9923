// The delivery oracle (INV-DELIVERY-ORACLE): a seeded workload over SimFs where a reaction turns source events
// into effects and a durable consumer acknowledges deliveries (one by one, batched, awaited or not) while the
// process dies or loses power at seeded points, with I/O faults. After every recovery it checks: no reaction
// seen committed is lost, none is applied twice, and the consumer's cursor is never ahead of what it
// acknowledged nor behind what an ack confirmed. At the end every source has exactly one effect.

import { BatpakError, Coordinate, defineEvent, Store, type StoreOptions } from '../../src/index.js';
import { KillableFs, SeededRng, SimFs, type FaultKind } from '../../src/entry/testing.js';
import { ProcessFs } from './process-fs.js';

export interface DeliveryResult {
  readonly crashes: number;
  /** Reactions (source → effect) seen committed before a crash or close: each must survive, once. */
  readonly reactions: number;
  /** Consumer acknowledgements confirmed durable (their ack() resolved). */
  readonly acks: number;
}

export class DeliveryFailure extends Error {}

const Source = defineEvent<{ n: number }>({ category: 7, typeId: 1, name: 'DeliverySource' });
const Effect = defineEvent<{ n: number }>({ category: 7, typeId: 2, name: 'DeliveryEffect' });
const Stop = defineEvent<{ round: number }>({ category: 7, typeId: 3, name: 'DeliveryStop' });
const REACTION = 'effects';
const CONSUMER = 'audit';

export async function runDeliveryGauntlet(options: { readonly seed: number; readonly trace?: boolean; readonly log?: (line: string) => void }): Promise<DeliveryResult> {
  const { seed } = options;
  const rng = new SeededRng(seed, 0x2dc1);
  const sim = new SimFs(seed ^ 0x5eed);
  const log = (line: string) => options.log?.(`delivery: ${line}`);
  const fail = (reason: string): never => {
    throw new DeliveryFailure(`delivery oracle, seed ${seed}: ${reason}`);
  };
  let clock = 1_700_000_000_000;
  const base: StoreOptions = {
    dir: '/dq',
    segmentMaxBytes: 400 + rng.below(2000),
    now: () => (clock += 1 + rng.below(3)),
    ...(rng.chance(0.4) ? { payloadEncryption: { granularity: 'entity' as const } } : {}),
    ...(rng.chance(0.3) ? { signingKey: new Uint8Array(32).fill(9) } : {}),
  };
  // Faults that make operations fail (typed); no lying fsync or bit flip, under which a confirmed write may be lost.
  const kinds: FaultKind[] = ['EIO', 'ENOSPC', 'short-write', 'short-read'];
  const probability = rng.chance(0.4) ? 0 : 0.002 + rng.nextFloat() * 0.02;
  const faultsOn = () => sim.setFaultRate(probability === 0 ? null : { probability, kinds, ops: ['open', 'readAt', 'append', 'writeAt', 'fsync', 'rename', 'syncDir'] });
  log(`config p=${probability.toFixed(4)} ${JSON.stringify(Object.keys(base))}`);

  let sources = 0;
  let crashes = 0;
  /** Source event id → effect event id, for every effect seen committed (by a live subscriber). */
  const effects = new Map<string, string>();
  /** The highest position the consumer ever passed to ack(), and the highest one an ack confirmed. */
  let ackCalled = 0;
  let ackDurable = 0;
  let acks = 0;
  const quiet = (p: Promise<unknown>) => p.catch((err: unknown) => {
    if (!(err instanceof BatpakError)) fail(`an operation failed with an untyped error: ${String(err)}`);
  });

  let proc: ProcessFs = new ProcessFs(new KillableFs(sim));
  const open = () => Store.open({ ...base, fs: (proc = new ProcessFs(new KillableFs(sim))) });

  /** What must hold after every recovery. */
  const check = async (store: Store) => {
    const bySource = new Map<string, string>();
    for await (const e of store.query({ kind: Effect.kind })) {
      const cause = e.header.causationId ?? fail(`effect ${e.header.eventId} has no causationId`);
      if (bySource.has(cause)) fail(`source ${cause} was reacted to twice (effects ${bySource.get(cause)} and ${e.header.eventId})`);
      if (e.header.correlationId !== cause) fail(`effect ${e.header.eventId} has correlationId ${e.header.correlationId}, expected ${cause}`);
      bySource.set(cause, e.header.eventId);
      if (store.head(`src:${(e.payload as { n?: number } | undefined)?.n ?? -1}`) === undefined && !e.shredded) fail(`effect ${e.header.eventId} names a source that is not in the log`);
    }
    for (const [src, eff] of effects) if (bySource.get(src) !== eff) fail(`the reaction to ${src} (effect ${eff}) was seen committed and is gone`);
    const cursor = (await store.consumers()).find((c) => c.name === CONSUMER);
    const position = Number(cursor?.position ?? 0n);
    if (position > ackCalled) fail(`consumer position ${position} is ahead of every acknowledgement (${ackCalled})`);
    if (position < ackDurable) fail(`consumer position ${position} is behind a confirmed acknowledgement (${ackDurable})`);
    return bySource;
  };

  /** One live round: the reaction, the consumer and a subscriber watching effects, while sources are appended. */
  const startWork = (store: Store) => {
    const work: Promise<unknown>[] = [];
    work.push(
      quiet(
        store.react(REACTION, { kinds: [Source] }, (event, tx) => {
          tx.append(new Coordinate(`effect:${(event.payload as { n: number }).n}`, 'fx'), Effect, { n: (event.payload as { n: number }).n });
        }),
      ),
    );
    work.push(
      quiet(
        (async () => {
          for await (const e of store.subscribe({ kinds: [Effect] })) if (e.header.causationId !== undefined) effects.set(e.header.causationId, e.header.eventId);
        })(),
      ),
    );
    work.push(
      quiet(
        (async () => {
          const consumer = await store.consumer(CONSUMER, { kinds: [Source, Effect] });
          for await (const { event, ack } of consumer) {
            if (!rng.chance(0.6)) continue; // unacknowledged for now: acknowledged with a later one, or redelivered
            const at = Number(event.header.globalSequence);
            ackCalled = Math.max(ackCalled, at);
            const confirmed = ack().then(() => {
              ackDurable = Math.max(ackDurable, at);
              acks++;
            });
            if (rng.chance(0.5)) await confirmed;
            else void quiet(confirmed);
          }
        })(),
      ),
    );
    const n = 1 + rng.below(6);
    for (let k = 0; k < n; k++) {
      const i = ++sources;
      work.push(quiet(store.append(new Coordinate(`src:${i}`, 'src'), Source, { n: i })));
    }
    return work;
  };

  let store = await open();
  const rounds = 2 + rng.below(4);
  for (let round = 0; round < rounds; round++) {
    faultsOn();
    const work = startWork(store);
    if (rng.chance(0.7)) {
      // Death after a seeded number of turns: mid-reaction, mid-ack, mid-append.
      const turns = rng.below(120);
      for (let t = 0; t < turns; t++) await new Promise((r) => setImmediate(r));
      proc.kill();
      const powerLoss = rng.chance(0.75);
      if (powerLoss) sim.crash({ tear: true });
      crashes++;
      log(`round ${round}: ${powerLoss ? 'power loss' : 'kill'} after ${turns} turns`);
      await store.close().catch(() => undefined);
      await Promise.allSettled(work);
      if (powerLoss) sim.crash({ tear: false });
    } else {
      for (let t = 0; t < 20; t++) await new Promise((r) => setImmediate(r));
      sim.setFaultRate(null);
      await store.close().catch((err: unknown) => quiet(Promise.reject(err)));
      await Promise.allSettled(work);
      log(`round ${round}: clean close`);
    }
    sim.setFaultRate(null);
    store = await open().catch((err: unknown) => fail(`reopen failed: ${String(err)}`));
    await check(store);
  }
  // Faults off: the reaction catches up to a Stop marker (delivered in order), then every source has one effect.
  const ac = new AbortController();
  await store.append(new Coordinate('stop', 'src'), Stop, { round: rounds });
  await store.react(REACTION, { kinds: [Source, Stop] }, (event, tx) => {
    if (event.header.kind.typeId === Stop.kind.typeId) return ac.abort();
    tx.append(new Coordinate(`effect:${(event.payload as { n: number }).n}`, 'fx'), Effect, { n: (event.payload as { n: number }).n });
  }, { signal: ac.signal });
  const final = await check(store);
  let inLog = 0;
  for await (const e of store.query({ kind: Source.kind })) {
    inLog++;
    if (!final.has(e.header.eventId)) fail(`source ${e.header.eventId} was never reacted to`);
  }
  if (final.size !== inLog) fail(`${final.size} effects for ${inLog} sources`);
  await store.close();
  return { crashes, reactions: effects.size, acks };
}
