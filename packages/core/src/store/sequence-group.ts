// Step 1 of a commit group, sequence and link: gives each accepted draft its global and entity sequence,
// its prev hash (the entity's head) and a commit time; refuses intents that conflict, queues retries.
// Invariant: sequencing reads committed state (plus the group in flight, as if it had landed) and changes
// none of it; commit times never go backwards; an intent that depends on the in-flight group's keys waits for it.
import { BatpakError } from '../errors.js';
import type { IndexEntry } from '../event-index/entry.js';
import type { EventIndex } from '../event-index/event-index.js';
import { ZERO_HASH } from '../chain/links.js';
import type { AppendReceipt } from '../types.js';
import type { EventDraft, Intent, SequencedEvent } from './append-intent.js';

/** The committed state a group is sequenced against. */
export interface CommittedState {
  /** Heads: sequencing is one synchronous step between commit groups, so it reads only what stays resident. */
  readonly index: EventIndex;
  /**
   * The committed event with an id an intent names (idempotency keys, imported ids): resident, or looked up in
   * the sealed tier before the group is sequenced (store/sealed-ids.ts, FORMAT.md "The index in two tiers").
   */
  readonly committed: (intent: Intent, eventId: string) => IndexEntry | undefined;
  /** Why an intent's lookups failed, if they did: it is refused. */
  readonly failure: (intent: Intent) => BatpakError | undefined;
  readonly nextGlobal: number;
  readonly lastCommittedAt: number;
  /** The store clock's reading for this group. */
  readonly now: number;
  /** An idempotent repeat of a committed event: its original receipt, or ERR_IDEMPOTENCY_CONFLICT (store/idempotency.ts). */
  readonly replay: (entry: IndexEntry, draft: EventDraft) => Promise<AppendReceipt>;
  /** The group still being written, if any: this one is sequenced as if it had landed. */
  readonly inFlight?: GroupOutcome | undefined;
}

/** An entity's head: its latest entity sequence and that event's content hash. */
export interface Head {
  readonly seq: number;
  readonly hash: Uint8Array;
}

/** What a sequenced group changes once it lands: the heads of the entities it writes, the ids it adds that a later intent can name. */
export interface GroupOutcome {
  readonly heads: ReadonlyMap<string, Head>;
  /**
   * Ids of its keyed and imported events. An unkeyed event's id is a fresh UUIDv7 (74 random bits) no caller knows
   * before its receipt, so no later intent can name it while it is in flight: it is not listed (one Set insert per event).
   */
  readonly ids: ReadonlySet<string>;
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

/** An intent refused in sequencing; settled once the group is sure to be written (its in-flight predecessor landed). */
export interface RefusedIntent {
  readonly intent: Intent;
  readonly error: BatpakError;
}

export interface SequencedGroup extends GroupOutcome {
  /** How many of the intents handed in it took: the rest wait for the in-flight group to land. */
  readonly taken: number;
  accepted: AcceptedIntent[];
  readonly waiting: readonly WaitingRetry[];
  readonly refused: readonly RefusedIntent[];
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
  // This group's own heads, updated in place as its events are sequenced (the in-flight group's are only read).
  const heads = new Map<string, { seq: number; hash: Uint8Array }>();
  const flying = state.inFlight;
  const head = (entity: string): Head => {
    const h = heads.get(entity) ?? flying?.heads.get(entity);
    if (h !== undefined) return h;
    const e = state.index.headLink !== undefined ? state.index.headLink(entity) : state.index.head(entity);
    return e === undefined ? { seq: 0, hash: ZERO_HASH } : { seq: e.entitySequence, hash: e.contentHash };
  };
  let next = state.nextGlobal;
  // Commit times never go backwards in log order: each event's time is at least the previous one's.
  let clockFloor = state.lastCommittedAt;
  const accepted: AcceptedIntent[] = [];
  const waiting: WaitingRetry[] = [];
  const refused: RefusedIntent[] = [];
  const inGroup = new Set<string>();
  /** A key the in-flight group is writing: answered (or refused) only once that group has landed. */
  const inFlight = (eventId: string) => flying !== undefined && flying.ids.has(eventId);

  /**
   * `originalTime`: an imported event's own commit time, kept unless it would go backwards. `h`: the entity's head,
   * when the caller just read it (a committed head is an index entry built from its record: read it once, not twice).
   */
  const sequence = (d: EventDraft, batch: SequencedEvent['batch'], originalTime?: number, h: Head = head(d.entity)): SequencedEvent => {
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
    const own = heads.get(d.entity);
    if (own === undefined) heads.set(d.entity, { seq: ev.entitySequence, hash: d.contentHash });
    else {
      own.seq = ev.entitySequence;
      own.hash = d.contentHash;
    }
    return ev;
  };

  let taken = 0;
  for (const intent of intents) {
    if (dependsOnInFlight(intent, inFlight)) break;
    taken++;
    const failed = state.failure(intent);
    if (failed !== undefined) {
      refused.push({ intent, error: failed });
      continue;
    }
    const committed = (eventId: string) => state.committed(intent, eventId);
    if (intent.type === 'single') {
      const d = intent.draft;
      if (d.keyed) {
        const existing = committed(d.eventId);
        if (existing !== undefined) {
          settleReplay(intent.settle, state.replay(existing, d));
          continue;
        }
        if (inGroup.has(d.eventId) || inFlight(d.eventId)) {
          waiting.push({ intent, eventId: d.eventId });
          continue;
        }
      }
      const h = head(d.entity);
      const current = h.seq;
      if (intent.expected !== undefined && intent.expected !== current) {
        refused.push({
          intent,
          error: new BatpakError('ERR_SEQUENCE_CONFLICT', `entity ${d.entity} is at sequence ${current}, expected ${intent.expected}`, {
            details: { entity: d.entity, expected: intent.expected, actual: current },
          }),
        });
        continue;
      }
      if (d.keyed) inGroup.add(d.eventId);
      accepted.push({ intent, events: [sequence(d, undefined, undefined, h)] });
    } else if (intent.type === 'import') {
      const clash = intent.items.find((it) => committed(it.draft.eventId) !== undefined || inGroup.has(it.draft.eventId));
      if (clash !== undefined) {
        refused.push({
          intent,
          error: BatpakError.invalidArgument(`event ${clash.draft.eventId} already exists in the store; nothing was imported`, { eventId: clash.draft.eventId }),
        });
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
      const drafts = intent.drafts;
      let keyed = 0;
      for (const d of drafts) if (d.keyed) keyed++;
      if (keyed > 0) {
        const existing = drafts.map((d) => (d.keyed ? committed(d.eventId) : undefined));
        const known = existing.filter((e) => e !== undefined).length;
        if (known === drafts.length) {
          settleReplay(intent.settle, Promise.all(existing.map((e, i) => state.replay(e!, drafts[i]!))));
          continue;
        }
        if (known > 0 || drafts.some((d) => inGroup.has(d.eventId))) {
          refused.push({ intent, error: BatpakError.invalidArgument('a batch repeats some, but not all, idempotency keys of earlier appends') });
          continue;
        }
      }
      const first = next;
      const count = drafts.length;
      const events = new Array<SequencedEvent>(count);
      for (let index = 0; index < count; index++) {
        const d = drafts[index]!;
        if (d.keyed) inGroup.add(d.eventId);
        events[index] = sequence(d, { first, index, count });
      }
      accepted.push({ intent, events });
    }
  }
  return { taken, accepted, waiting, refused, heads, ids: inGroup, nextGlobal: next, lastCommittedAt: clockFloor };
}

/**
 * A batch or import naming a key the in-flight group writes: whether it replays, clashes or half-repeats
 * depends on that group landing, so it (and everything queued behind it) waits. A single keyed retry
 * does not: it waits as a retry of its own key and is answered once its group lands.
 */
function dependsOnInFlight(intent: Intent, inFlight: (eventId: string) => boolean): boolean {
  if (intent.type === 'batch') return intent.drafts.some((d) => d.keyed && inFlight(d.eventId));
  if (intent.type === 'import') return intent.items.some((it) => inFlight(it.draft.eventId));
  return false;
}

/** An idempotent replay settles with the original receipt, read back from disk (async, off the commit path). */
export function settleReplay<T>(settle: { resolve(value: T): void; reject(error: unknown): void }, receipt: Promise<T>): void {
  receipt.then(settle.resolve, settle.reject);
}
