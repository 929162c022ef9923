// Step 1 of a commit group, sequence and link: gives each accepted draft its global and entity sequence,
// its prev hash (the entity's head) and a commit time; refuses intents that conflict, queues retries.
// Invariant: sequencing reads committed state and changes none of it; commit times never go backwards.

import { BatpakError } from '../errors.js';
import type { IndexEntry } from '../event-index/entry.js';
import type { MemoryIndex } from '../event-index/memory.js';
import { ZERO_HASH } from '../chain/links.js';
import type { AppendReceipt } from '../types.js';
import type { EventDraft, Intent, SequencedEvent } from './append-intent.js';

/** The committed state a group is sequenced against. */
export interface CommittedState {
  readonly index: MemoryIndex;
  readonly nextGlobal: number;
  readonly lastCommittedAt: number;
  /** The store clock's reading for this group. */
  readonly now: number;
  /** An idempotent repeat of a committed event: its original receipt, or ERR_IDEMPOTENCY_CONFLICT (store/idempotency.ts). */
  readonly replay: (entry: IndexEntry, draft: EventDraft) => Promise<AppendReceipt>;
}

/** An intent that made it into the group, with its events in order. */
export interface AcceptedIntent {
  readonly intent: Intent;
  readonly events: SequencedEvent[];
}

/** A keyed single append whose key another intent of the same group is writing: answered once that lands. */
export interface WaitingRetry {
  readonly intent: Intent & { type: 'single' };
  readonly eventId: string;
}

export interface SequencedGroup {
  accepted: AcceptedIntent[];
  readonly waiting: readonly WaitingRetry[];
  /** The counters once the group lands. */
  readonly nextGlobal: number;
  readonly lastCommittedAt: number;
}

/**
 * Sequences queued intents in order. Refused intents (a sequence conflict, a clashing import, a batch
 * that half-repeats keys) are rejected here; a repeat of a committed key is answered with its original
 * receipt (the requestHash comparison of store/idempotency.ts) and writes nothing.
 */
export function sequenceGroup(state: CommittedState, intents: readonly Intent[]): SequencedGroup {
  const heads = new Map<string, { seq: number; hash: Uint8Array }>();
  const head = (entity: string) => {
    const h = heads.get(entity);
    if (h !== undefined) return h;
    const e = state.index.head(entity);
    return e === undefined ? { seq: 0, hash: ZERO_HASH } : { seq: e.entitySequence, hash: e.contentHash };
  };
  let next = state.nextGlobal;
  // Commit times never go backwards in log order: each event's time is at least the previous one's.
  let clockFloor = state.lastCommittedAt;
  const accepted: AcceptedIntent[] = [];
  const waiting: WaitingRetry[] = [];
  const inGroup = new Set<string>();

  /** `originalTime`: an imported event's own commit time, kept unless it would go backwards. */
  const sequence = (d: EventDraft, batch: SequencedEvent['batch'], originalTime?: number): SequencedEvent => {
    const h = head(d.entity);
    clockFloor = Math.max(clockFloor, originalTime ?? state.now);
    const ev: SequencedEvent = {
      draft: d,
      globalSequence: next++,
      entitySequence: h.seq + 1,
      prevHash: h.hash,
      committedAt: clockFloor,
      batch,
      flags: d.flags,
      extensions: d.extensions,
    };
    heads.set(d.entity, { seq: ev.entitySequence, hash: d.contentHash });
    return ev;
  };

  for (const intent of intents) {
    if (intent.type === 'single') {
      const d = intent.draft;
      if (d.keyed) {
        const existing = state.index.get(d.eventId);
        if (existing !== undefined) {
          settleReplay(intent.settle, state.replay(existing, d));
          continue;
        }
        if (inGroup.has(d.eventId)) {
          waiting.push({ intent, eventId: d.eventId });
          continue;
        }
      }
      const current = head(d.entity).seq;
      if (intent.expected !== undefined && intent.expected !== current) {
        intent.settle.reject(
          new BatpakError('ERR_SEQUENCE_CONFLICT', `entity ${d.entity} is at sequence ${current}, expected ${intent.expected}`, {
            details: { entity: d.entity, expected: intent.expected, actual: current },
          }),
        );
        continue;
      }
      inGroup.add(d.eventId);
      accepted.push({ intent, events: [sequence(d, undefined)] });
    } else if (intent.type === 'import') {
      const clash = intent.items.find((it) => state.index.has(it.draft.eventId) || inGroup.has(it.draft.eventId));
      if (clash !== undefined) {
        intent.settle.reject(
          BatpakError.invalidArgument(`event ${clash.draft.eventId} already exists in the store; nothing was imported`, { eventId: clash.draft.eventId }),
        );
        continue;
      }
      const first = next;
      const count = intent.items.length;
      const events = intent.items.map((it, index) => {
        inGroup.add(it.draft.eventId);
        return sequence(it.draft, count > 1 ? { first, index, count } : undefined, it.committedAt);
      });
      accepted.push({ intent, events });
    } else {
      const existing = intent.drafts.map((d) => (d.keyed ? state.index.get(d.eventId) : undefined));
      const known = existing.filter((e) => e !== undefined).length;
      if (known === intent.drafts.length) {
        settleReplay(intent.settle, Promise.all(existing.map((e, i) => state.replay(e!, intent.drafts[i]!))));
        continue;
      }
      if (known > 0 || intent.drafts.some((d) => inGroup.has(d.eventId))) {
        intent.settle.reject(BatpakError.invalidArgument('a batch repeats some, but not all, idempotency keys of earlier appends'));
        continue;
      }
      const first = next;
      const count = intent.drafts.length;
      const events = intent.drafts.map((d, index) => {
        inGroup.add(d.eventId);
        return sequence(d, { first, index, count });
      });
      accepted.push({ intent, events });
    }
  }
  return { accepted, waiting, nextGlobal: next, lastCommittedAt: clockFloor };
}

/** An idempotent replay settles with the original receipt, read back from disk (async, off the commit path). */
export function settleReplay<T>(settle: { resolve(value: T): void; reject(error: unknown): void }, receipt: Promise<T>): void {
  receipt.then(settle.resolve, settle.reject);
}
