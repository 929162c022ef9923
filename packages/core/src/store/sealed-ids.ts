// The ids an append names (idempotency keys, imported ids), looked up in the sealed tier before its group is
// sequenced: sequencing is one synchronous step and reads only resident entries. Invariant: an intent is
// sequenced only under the index epoch its lookups ran in, so an id a seal moved out of memory meanwhile is
// looked up again, never taken for absent.

import { ioError, type BatpakError } from '../errors.js';
import type { IndexEntry } from '../event-index/entry.js';
import type { EventIndex } from '../event-index/event-index.js';
import type { Intent } from './append-intent.js';

/** What the resolver needs of a two-tier index (TieredIndex). */
export interface SealedIds {
  /** Moves whenever entries change tier or are replaced. */
  readonly epoch: number;
  /** False when no sealed segment can hold the id (Bloom filters): no read needed. */
  mayHoldSealed(eventId: string): boolean;
}

interface Resolution {
  readonly epoch: number;
  /** Ids found outside the resident tier, with their entries. */
  readonly found: ReadonlyMap<string, IndexEntry>;
  /** A lookup that failed (a read error): final, the intent is refused with it. */
  readonly error?: BatpakError;
}

/** Whether `intent` names any id (idsOf is not empty), without building the list: most appends name none. */
function namesIds(intent: Intent): boolean {
  if (intent.type === 'single') return intent.draft.keyed;
  if (intent.type === 'batch') return intent.drafts.some((d) => d.keyed);
  return intent.items.length > 0;
}

/** The ids whose committed entry decides what becomes of `intent` (a keyed append's, a batch's keyed ones, an import's). */
function idsOf(intent: Intent): string[] {
  if (intent.type === 'single') return intent.draft.keyed ? [intent.draft.eventId] : [];
  if (intent.type === 'batch') return intent.drafts.filter((d) => d.keyed).map((d) => d.eventId);
  return intent.items.map((it) => it.draft.eventId);
}

export class SealedIdResolver {
  readonly #index: EventIndex;
  readonly #sealed: SealedIds | undefined;
  /** Called when a lookup finished: the batching queue looks at the intents waiting for it again. */
  readonly #ready: () => void;
  readonly #resolved = new WeakMap<Intent, Resolution>();
  readonly #running = new WeakSet<Intent>();

  /** `sealed` undefined: every entry is resident and nothing needs resolving. */
  constructor(index: EventIndex, sealed: SealedIds | undefined, ready: () => void) {
    this.#index = index;
    this.#sealed = sealed;
    this.#ready = ready;
  }

  /** Starts the lookups of a new intent (at once, and without a read when the Bloom filters rule every id out). */
  start(intent: Intent): void {
    if (this.#sealed === undefined || this.isCurrent(intent)) return;
    const ids = idsOf(intent);
    const epoch = this.#sealed.epoch;
    const sealed = this.#sealed;
    if (ids.every((id) => this.#index.getResident(id) !== undefined || !sealed.mayHoldSealed(id))) {
      this.#resolved.set(intent, { epoch, found: new Map() });
      return;
    }
    if (this.#running.has(intent)) return;
    this.#running.add(intent);
    void this.#lookUp(intent, ids);
  }

  /** Whether `intent` may be sequenced now: it names no id, or its lookups ran under the current epoch. */
  isCurrent(intent: Intent): boolean {
    // An intent that names no id is never resolved (start returns at once for it): no WeakMap lookup needed.
    if (this.#sealed === undefined || !namesIds(intent)) return true;
    const r = this.#resolved.get(intent);
    return r !== undefined && (r.error !== undefined || r.epoch === this.#sealed.epoch);
  }

  /** Why `intent`'s lookups failed, if they did: it is refused with this. */
  failure(intent: Intent): BatpakError | undefined {
    return this.#resolved.get(intent)?.error;
  }

  /** The committed entry of `eventId`, resident or found for `intent` (call only when isCurrent(intent)). */
  committed(intent: Intent, eventId: string): IndexEntry | undefined {
    return this.#index.getResident(eventId) ?? this.#resolved.get(intent)?.found.get(eventId);
  }

  async #lookUp(intent: Intent, ids: readonly string[]): Promise<void> {
    const sealed = this.#sealed!;
    try {
      for (;;) {
        const epoch = sealed.epoch;
        const found = new Map<string, IndexEntry>();
        for (const id of ids) {
          if (this.#index.getResident(id) !== undefined || !sealed.mayHoldSealed(id)) continue;
          const e = await this.#index.get(id);
          if (e !== undefined) found.set(id, e);
        }
        // Entries moved while the lookups ran: an id seen nowhere may have left the resident tier meanwhile.
        if (epoch !== sealed.epoch) continue;
        this.#resolved.set(intent, { epoch, found });
        return;
      }
    } catch (err) {
      // A failed read (a damaged segment behind an untrusted file): the intent is refused when sequenced, never taken as new.
      this.#resolved.set(intent, { epoch: sealed.epoch, found: new Map(), error: ioError(err, 'could not look up the ids this append names') });
    } finally {
      this.#running.delete(intent);
      this.#ready();
    }
  }
}
