// Durable consumers: a named subscription whose acknowledged position is kept in a cursor file
// (store/consumer-cursor.ts), held by one process at a time through a lock taken through Fs.
// Invariant: the cursor only moves to a position the consumer acknowledged, after every delivery before it,
// and delivery resumes after it: at-least-once, in commit order, across crashes and restarts.

import { join } from 'node:path';
import { BatpakError } from '../errors.js';
import type { Fs, FsLock } from '../fs/fs.js';
import type { StoredEvent } from '../types.js';
import { checkConsumerName, consumerLockPath, corruptCursor, CONSUMERS_DIR, CURSOR_SUFFIX, cursorNames, cursorPath, ensureConsumersDir, readCursor, writeCursor } from './consumer-cursor.js';
import { removeLeftoverTemps } from './leftovers.js';
import { checkSubscriptionFilter, subscribe, type DeliveryParts, type SubscriptionFilter } from './subscribe.js';

export interface ConsumerOptions extends SubscriptionFilter {
  /** Where a consumer without a cursor starts: 'beginning' (default) or 'end' (only events committed after it is created). */
  readonly from?: 'beginning' | 'end';
}

/** One delivered event; `ack()` acknowledges it and every event delivered before it, durably. */
export interface Delivery<T = unknown> {
  readonly event: StoredEvent<T>;
  /** Resolves once the cursor file holds this event's position (acks coalesce: one write may serve many). */
  ack(): Promise<void>;
}

export interface ConsumerInfo {
  readonly name: string;
  /** Global sequence up to which it acknowledged. */
  readonly position: bigint;
  /** Global sequences committed after `position` (matching its filter or not). */
  readonly lag: bigint;
  /** Store clock (Unix ms) of the last cursor write. */
  readonly updatedAt: bigint;
}

/** What consumers need from the store: what subscriptions read, the disk, the clock, and who is open. */
export interface ConsumerParts extends DeliveryParts {
  readonly fs: Fs;
  readonly dir: string;
  readonly now: () => number;
  /** The consumers open in this store, closed with it. */
  readonly open: Set<Consumer>;
}

export class Consumer implements AsyncIterable<Delivery>, AsyncDisposable {
  readonly name: string;
  readonly #p: ConsumerParts;
  readonly #filter: ReturnType<typeof checkSubscriptionFilter>;
  readonly #lock: FsLock;
  /** Ends every iteration at close. */
  readonly #stop = new AbortController();
  /** Highest acknowledged position, and the highest one durable in the cursor file. */
  #acked: number;
  #persisted: number;
  #writing: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(p: ConsumerParts, name: string, filter: ReturnType<typeof checkSubscriptionFilter>, lock: FsLock, position: number) {
    this.#p = p;
    this.name = name;
    this.#filter = filter;
    this.#lock = lock;
    this.#acked = position;
    this.#persisted = position;
  }

  /** Global sequence up to which acknowledgements are durable. */
  get position(): bigint {
    return BigInt(this.#persisted);
  }

  /** True once close() (or the store's close) began. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Global sequences committed after `position` (matching the filter or not). */
  get lag(): bigint {
    return BigInt(Math.max(0, this.#p.index.lastGlobalSequence() - this.#persisted));
  }

  /** Deliveries after the acknowledged position, then live ones; ends at `signal`, close() or the store's close. */
  [Symbol.asyncIterator](): AsyncIterator<Delivery> {
    return this.deliveries()[Symbol.asyncIterator]();
  }

  /** Like iterating the consumer, with a signal that ends this iteration (cleanly). */
  async *deliveries(options: { readonly signal?: AbortSignal } = {}): AsyncGenerator<Delivery, void, undefined> {
    if (this.#closing !== undefined) throw BatpakError.storeClosed(`consumer '${this.name}' is closed`);
    const signal = options.signal === undefined ? this.#stop.signal : AbortSignal.any([options.signal, this.#stop.signal]);
    for await (const event of subscribe(this.#p, { filter: this.#filter, after: this.#acked, signal })) {
      const seq = Number(event.header.globalSequence);
      yield { event, ack: () => this.ack(seq) };
    }
  }

  /** Acknowledges every delivery up to `position` (a global sequence); resolves once that is durable. */
  ack(position: number): Promise<void> {
    if (position <= this.#persisted) return Promise.resolve();
    if (this.#closing !== undefined) return Promise.reject(BatpakError.storeClosed(`consumer '${this.name}' is closed`));
    this.#acked = Math.max(this.#acked, position);
    return this.#flush(position);
  }

  /** Writes the cursor until it holds at least `position`; one write at a time, each with the latest ack. */
  async #flush(position: number): Promise<void> {
    while (this.#persisted < position) {
      if (this.#writing === undefined) {
        const target = this.#acked;
        this.#writing = writeCursor(this.#p.fs, this.#p.dir, { name: this.name, position: target, updatedAt: this.#p.now() })
          .then(() => {
            this.#persisted = Math.max(this.#persisted, target);
          })
          .finally(() => {
            this.#writing = undefined;
          });
      }
      await this.#writing;
    }
  }

  /** Ends its iterations, waits for a cursor write in flight, releases the lock. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#stop.abort();
      this.#p.open.delete(this);
      await this.#writing?.catch(() => undefined);
      await this.#lock.release().catch(() => undefined);
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Validates a consumer's name and options (before anything touches the disk). */
export function checkConsumerOptions(name: unknown, options: ConsumerOptions): { name: string; filter: ReturnType<typeof checkSubscriptionFilter>; from: 'beginning' | 'end' } {
  const checked = checkConsumerName(name);
  const filter = checkSubscriptionFilter(options, 'consumer');
  const from = options.from ?? 'beginning';
  if (from !== 'beginning' && from !== 'end') throw BatpakError.invalidArgument("consumer: from must be 'beginning' or 'end'", { field: 'from' });
  return { name: checked, filter, from };
}

/**
 * Takes the consumer's lock and reads its cursor (writing the first one for a new consumer). A cursor
 * ahead of the log, or damaged, is ERR_CORRUPT_CURSOR: restarting from the beginning would redeliver
 * silently, skipping ahead would lose events. `floorOf` gives a position known acknowledged elsewhere (a
 * reaction's cursor record in the log), which the file may lag after a crash; read under the lock, so no
 * other holder can move it meanwhile.
 */
export async function openConsumer(p: ConsumerParts, c: ReturnType<typeof checkConsumerOptions>, floorOf: () => Promise<number> = async () => 0): Promise<Consumer> {
  await ensureConsumersDir(p.fs, p.dir);
  let lock: FsLock;
  try {
    lock = await p.fs.lock(consumerLockPath(p.dir, c.name));
  } catch (err) {
    if (err instanceof BatpakError && err.code === 'ERR_STORE_LOCKED') {
      throw new BatpakError('ERR_CONSUMER_LOCKED', `consumer '${c.name}' is held by another process or consumer object`, { cause: err, details: { name: c.name } });
    }
    throw err;
  }
  try {
    await removeLeftoverTemps(p.fs, join(p.dir, CONSUMERS_DIR), new Set([`${c.name}${CURSOR_SUFFIX}`]));
    const floor = await floorOf();
    const last = p.index.lastGlobalSequence();
    const cursor = await readCursor(p.fs, p.dir, c.name);
    let position: number;
    if (cursor === undefined) position = Math.max(floor, c.from === 'end' ? last : 0);
    else {
      if (cursor.position > last) throw corruptCursor(cursorPath(p.dir, c.name), `its position ${cursor.position} is ahead of the log (last sequence ${last})`);
      position = Math.max(floor, cursor.position);
    }
    if (cursor === undefined || position !== cursor.position) await writeCursor(p.fs, p.dir, { name: c.name, position, updatedAt: p.now() });
    const consumer = new Consumer(p, c.name, c.filter, lock, position);
    p.open.add(consumer);
    return consumer;
  } catch (err) {
    await lock.release().catch(() => undefined);
    throw err;
  }
}

/** Every consumer with a cursor file, by name, with its durable position. */
export async function listConsumers(p: ConsumerParts): Promise<ConsumerInfo[]> {
  const last = p.index.lastGlobalSequence();
  const out: ConsumerInfo[] = [];
  for (const name of await cursorNames(p.fs, p.dir)) {
    const c = await readCursor(p.fs, p.dir, name);
    if (c === undefined) continue;
    out.push({ name, position: BigInt(c.position), lag: BigInt(Math.max(0, last - c.position)), updatedAt: BigInt(c.updatedAt) });
  }
  return out;
}

/** At store close: every open consumer is closed (its iterations end, its lock is released). */
export async function closeConsumers(open: Set<Consumer>): Promise<void> {
  await Promise.all([...open].map((c) => c.close()));
}
