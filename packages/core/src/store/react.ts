// Exactly-once reactions: a durable consumer whose handler's appends commit in ONE commit group with a
// system event recording the consumer's advance past the source event (`batpak:reaction:<name>`).
// Invariant: the log's record is the authority and the cursor file a cache that may lag it, so a crash at any
// point leaves either both the effects and the advance or neither — a reaction is never lost nor applied twice.

import { BatpakError } from '../errors.js';
import type { EventDefinition } from '../event.js';
import type { EventKind } from '../kind.js';
import { SystemKinds } from '../kind.js';
import type { StoredEvent } from '../types.js';
import type { EventDraft } from './append-intent.js';
import { batchDrafts, type BatchItem, type DraftLimits } from './append.js';
import { checkConsumerOptions, openConsumer, type ConsumerOptions, type ConsumerParts } from './consumer.js';
import { systemDraft } from './shred.js';

/** The scope of every reaction's cursor record; the entity is `batpak:reaction:<name>`. */
export const REACTION_SCOPE = 'batpak:reaction';
export const reactionEntity = (name: string): string => `batpak:reaction:${name}`;

/** What a reaction handler appends with: collected, then committed with the consumer's advance. */
export interface ReactionTx {
  append<T>(coord: BatchItem['coord'], event: EventDefinition<T>, payload: T, options?: { readonly idempotencyKey?: string; readonly extensions?: BatchItem['extensions'] }): void;
  /** Application bytes under a user kind, like appendRaw. */
  appendRaw(coord: BatchItem['coord'], kind: EventKind, bytes: Uint8Array, options?: { readonly extensions?: BatchItem['extensions'] }): void;
}

export type ReactionHandler = (event: StoredEvent, tx: ReactionTx) => void | Promise<void>;

/** What reactions need besides a consumer's parts: the batch path of the append pipeline and its limits. */
export interface ReactParts extends ConsumerParts {
  readonly appendDrafts: (drafts: readonly EventDraft[]) => Promise<unknown>;
  readonly limits: () => DraftLimits & { readonly batchMaxEvents: number };
}

/** The position the log records for reaction `name` (0 when none): its latest cursor record. */
export async function recordedPosition(p: ReactParts, name: string): Promise<number> {
  const head = p.index.head(reactionEntity(name));
  if (head === undefined) return 0;
  const record = await p.reader.load(head);
  const v = record.payload as { name?: unknown; position?: unknown } | undefined;
  if (head.kind !== SystemKinds.REACTION_CURSOR || v?.name !== name || typeof v.position !== 'number' || !Number.isSafeInteger(v.position) || v.position < 0) {
    throw new BatpakError('ERR_CORRUPT_SEGMENT', `the reaction cursor record ${head.eventId} of '${name}' does not decode as one`, { details: { eventId: head.eventId } });
  }
  return v.position;
}

/** Checks react's arguments before anything touches the disk. */
export function checkReaction(name: unknown, options: ConsumerOptions, handler: unknown): ReturnType<typeof checkConsumerOptions> {
  if (typeof handler !== 'function') throw BatpakError.invalidArgument('react: handler must be a function', { field: 'handler' });
  return checkConsumerOptions(name, options);
}

/**
 * Runs reaction `name` until `signal` aborts or the store closes (then it resolves). Each delivered event
 * goes to `handler`; what it appended is committed with the cursor record as one batch, causation and
 * correlation set from the source. A handler that appends nothing only moves the cursor file (nothing to
 * apply twice). A handler or commit failure stops the reaction (rejects); the event is retried at the next run.
 */
export async function react(p: ReactParts, checked: ReturnType<typeof checkConsumerOptions>, handler: ReactionHandler, signal: AbortSignal | undefined): Promise<void> {
  const consumer = await openConsumer(p, checked, () => recordedPosition(p, checked.name));
  try {
    for await (const { event } of consumer.deliveries(signal === undefined ? {} : { signal })) {
      const items: BatchItem[] = [];
      const causal = { causationId: event.header.eventId, correlationId: event.header.correlationId ?? event.header.eventId };
      await handler(event, {
        append: (coord, def, payload, o = {}) => void items.push({ ...o, ...causal, coord, kind: def, payload }),
        appendRaw: (coord, kind, bytes, o = {}) => void items.push({ ...o, ...causal, coord, kind, payload: bytes }),
      });
      const position = Number(event.header.globalSequence);
      // The store closed while the handler ran: commit nothing; the event comes again at the next run.
      if (consumer.closed) return;
      if (items.length > 0) {
        const limits = p.limits();
        const drafts = batchDrafts(items, { ...limits, batchMaxEvents: limits.batchMaxEvents - 1 });
        drafts.push(systemDraft({ entity: reactionEntity(checked.name), scope: REACTION_SCOPE }, SystemKinds.REACTION_CURSOR, { name: checked.name, position }, limits.now));
        await p.appendDrafts(drafts);
      }
      try {
        await consumer.ack(position);
      } catch (err) {
        // Closed meanwhile: the log's record (or, for no appends, a harmless redelivery) covers the cache.
        if (!consumer.closed) throw err;
      }
    }
  } finally {
    await consumer.close();
  }
}
