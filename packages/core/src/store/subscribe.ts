// Live subscriptions: replay the committed events after a position in commit order, then follow new commits.
// Invariant: the position only moves forward over events already committed (so durable under sync 'always'),
// so the hand-over from replay to live has no gap and no duplicate; the consumer pulls, nothing is buffered
// for it beyond one read-ahead window, and the writer never waits for it.

import { BatpakError } from '../errors.js';
import type { EventIndex } from '../event-index/event-index.js';
import { checkKind, kindToRaw, type EventKind } from '../kind.js';
import type { CheckedFilter } from '../query-filter.js';
import type { StoredEvent } from '../types.js';
import type { StoreReader } from './read.js';
import type { SequenceWaiters } from './waiters.js';

/** A kind to deliver: an event definition (its kind), a kind, or `{ category }` for a whole category. */
export type KindSelector = EventKind | { readonly kind: EventKind } | { readonly category: number };

/** What a subscription delivers; every given field must match. */
export interface SubscriptionFilter {
  /** Exact entity. */
  readonly entity?: string;
  /** Exact scope. */
  readonly scope?: string;
  /** Only these kinds (event definitions or kinds). Without it, every event, the store's system events included (like query). */
  readonly kinds?: readonly KindSelector[];
}

export interface SubscribeOptions extends SubscriptionFilter {
  /** Deliver events with a global sequence strictly greater than this (default 0n: from the first). */
  readonly after?: bigint;
  /** Ends the iteration (cleanly, without an error) when it aborts. */
  readonly signal?: AbortSignal;
  /**
   * Called when every matching event up to `position` (a global sequence, the last committed when the round
   * started) has been delivered and the subscription is about to wait for new commits: "caught up".
   */
  readonly onCaughtUp?: (position: bigint) => void;
}

/** The parts of a store a subscription reads from. */
export interface DeliveryParts {
  readonly index: EventIndex;
  readonly reader: StoreReader;
  readonly waiters: SequenceWaiters;
  /** Throws ERR_STORE_CLOSED once the store is closing: checked before sleeping, since close wakes only sleepers. */
  readonly assertOpen: () => void;
}

/** A validated subscription filter, as the reader's scan takes it (no limit). */
export function checkSubscriptionFilter(o: SubscriptionFilter, what: string): Omit<CheckedFilter, 'after'> {
  if (typeof o !== 'object' || o === null) throw BatpakError.invalidArgument(`${what} options must be an object`);
  const { entity, scope, kinds } = o;
  if (entity !== undefined && typeof entity !== 'string') throw BatpakError.invalidArgument(`${what}: entity must be a string`, { field: 'entity' });
  if (scope !== undefined && typeof scope !== 'string') throw BatpakError.invalidArgument(`${what}: scope must be a string`, { field: 'scope' });
  let kind: CheckedFilter['kind'];
  if (kinds !== undefined) {
    if (!Array.isArray(kinds) || kinds.length === 0) throw BatpakError.invalidArgument(`${what}: kinds must be a non-empty array`, { field: 'kinds' });
    const raws = new Set<number>();
    const categories = new Set<number>();
    kinds.forEach((k: KindSelector, i) => {
      if (typeof k === 'object' && k !== null && 'category' in k && !('typeId' in k)) categories.add(checkKind({ category: k.category, typeId: 0 }, { user: false, index: i }).category);
      else raws.add(kindToRaw(checkKind(typeof k === 'object' && k !== null && 'kind' in k ? k.kind : k, { user: false, index: i })));
    });
    kind = (raw) => raws.has(raw) || categories.has(raw >>> 12);
  }
  return { entity, scope, kind, limit: Number.MAX_SAFE_INTEGER };
}

/** Validates subscribe's options; the iteration itself starts on the first pull. */
export function checkSubscribeOptions(o: SubscribeOptions): { filter: Omit<CheckedFilter, 'after'>; after: number; signal: AbortSignal | undefined; onCaughtUp?: (position: bigint) => void } {
  const filter = checkSubscriptionFilter(o, 'subscribe');
  const { after, signal, onCaughtUp } = o;
  if (onCaughtUp !== undefined && typeof onCaughtUp !== 'function') throw BatpakError.invalidArgument('subscribe: onCaughtUp must be a function', { field: 'onCaughtUp' });
  if (after !== undefined && (typeof after !== 'bigint' || after < 0n)) throw BatpakError.invalidArgument('subscribe: after must be a non-negative bigint', { field: 'after' });
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw BatpakError.invalidArgument('subscribe: signal must be an AbortSignal', { field: 'signal' });
  return { filter, after: Number(after ?? 0n), signal, ...(onCaughtUp === undefined ? {} : { onCaughtUp }) };
}

/** True for the errors that end a subscription cleanly: its signal fired, or the store closed. */
function endsCleanly(err: unknown, signal: AbortSignal | undefined): boolean {
  if (!(err instanceof BatpakError)) return false;
  return err.code === 'ERR_STORE_CLOSED' || (err.code === 'ERR_ABORTED' && signal?.aborted === true);
}

/**
 * The subscription loop. Each round fixes `upto`, the last committed sequence, replays the matching events
 * in (position, upto], moves the position to `upto` and sleeps until a later commit. Events committed
 * during a round are left to the next one, so each committed event is considered exactly once.
 */
export async function* subscribe(p: DeliveryParts, checked: ReturnType<typeof checkSubscribeOptions>): AsyncGenerator<StoredEvent, void, undefined> {
  const { filter, signal } = checked;
  let position = checked.after;
  try {
    for (;;) {
      if (signal?.aborted === true) return;
      const upto = p.index.lastGlobalSequence();
      if (upto > position) {
        for await (const event of p.reader.scan({ ...filter, after: BigInt(position) }, signal)) {
          if (Number(event.header.globalSequence) > upto) break;
          yield event;
        }
        position = upto;
        continue;
      }
      p.assertOpen();
      checked.onCaughtUp?.(BigInt(position));
      // The callback may have aborted the signal (TypeScript narrowed it above, hence the cast).
      if ((signal as AbortSignal | undefined)?.aborted === true) return;
      await p.waiters.wait(BigInt(position), p.index.lastGlobalSequence(), signal);
    }
  } catch (err) {
    if (endsCleanly(err, signal)) return;
    throw err;
  }
}
