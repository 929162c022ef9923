// The commit group's pure half: sequences queued intents against committed state (ids, sequences,
// prev hashes, commit times), encodes their frames and seal, and says how to publish or abort them.

import { BatpakError, ioError } from '../errors.js';
import type { IndexEntry } from '../event-index/entry.js';
import type { MemoryIndex } from '../event-index/memory.js';
import { ZERO_HASH } from '../chain/verify.js';
import { receiptCoverOf } from '../receipt/cover.js';
import { headerLeaf } from '../receipt/headers.js';
import { sealedProof, signGroup, type ReceiptSigner, type SignedGroup } from '../receipt/sign.js';
import { encodeEventFrame, encodeSealFrame, EventFlags } from '../segment/frame.js';
import type { PreparedGroup } from '../segment/group-commit.js';
import type { AppendReceipt } from '../types.js';
import type { EventDraft, ImportDraft, SequencedEvent } from './append.js';
import { baseReceipt } from './views.js';

const DOWNGRADE_EXTENSION = 'batpak.signing.downgrade';

/** What a group needs from the store: committed state in, the new state out when the group lands. */
export interface GroupContext {
  readonly index: MemoryIndex;
  readonly nextGlobal: number;
  readonly lastCommittedAt: number;
  /** The store clock's reading for this group. */
  readonly now: number;
  readonly signer: ReceiptSigner | undefined;
  readonly signingDowngradeAllowed: boolean;
  readonly onWarning: (message: string) => void;
  /** An idempotent repeat of a committed event: its original receipt, or ERR_IDEMPOTENCY_CONFLICT (store/idempotency.ts). */
  readonly replay: (entry: IndexEntry, draft: EventDraft) => Promise<AppendReceipt>;
  /** The group is on disk: the segment's committed end and the store's counters move. */
  readonly published: (state: { segmentId: number; end: number; nextGlobal: number; lastCommittedAt: number }) => void;
}

export interface Settle<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

export type Intent =
  | { readonly type: 'single'; readonly draft: EventDraft; readonly expected: number | undefined; readonly settle: Settle<AppendReceipt> }
  | { readonly type: 'batch'; readonly drafts: readonly EventDraft[]; readonly settle: Settle<AppendReceipt[]> }
  | { readonly type: 'import'; readonly items: readonly ImportDraft[]; readonly settle: Settle<AppendReceipt[]> };

/** Sequences a commit group against committed state and encodes its frames (and its seal). */
export function prepareGroup(ctx: GroupContext, intents: readonly Intent[]): PreparedGroup {
  const heads = new Map<string, { seq: number; hash: Uint8Array }>();
  const head = (entity: string) => {
    const h = heads.get(entity);
    if (h !== undefined) return h;
    const e = ctx.index.head(entity);
    return e === undefined ? { seq: 0, hash: ZERO_HASH } : { seq: e.entitySequence, hash: e.contentHash };
  };
  let next = ctx.nextGlobal;
  const now = ctx.now;
  // Commit times never go backwards in log order: each event's time is at least the previous one's.
  let clockFloor = ctx.lastCommittedAt;
  const frames: Uint8Array[] = [];
  let accepted: { intent: Intent; events: SequencedEvent[]; frames: Uint8Array[] }[] = [];
  const waiting: { intent: Intent & { type: 'single' }; eventId: string }[] = [];
  const inGroup = new Set<string>();

  /** `originalTime`: an imported event's own commit time, kept unless it would go backwards. */
  const sequence = (d: EventDraft, batch: SequencedEvent['batch'], originalTime?: number): SequencedEvent => {
    const h = head(d.entity);
    clockFloor = Math.max(clockFloor, originalTime ?? now);
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
        const existing = ctx.index.get(d.eventId);
        if (existing !== undefined) {
          settleReplay(intent.settle, ctx.replay(existing, d));
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
      accepted.push({ intent, events: [sequence(d, undefined)], frames: [] });
    } else if (intent.type === 'import') {
      const clash = intent.items.find((it) => ctx.index.has(it.draft.eventId) || inGroup.has(it.draft.eventId));
      if (clash !== undefined) {
        intent.settle.reject(
          new BatpakError('ERR_INVALID_ARGUMENT', `event ${clash.draft.eventId} already exists in the store; nothing was imported`, {
            details: { eventId: clash.draft.eventId },
          }),
        );
        continue;
      }
      const first = next;
      const count = intent.items.length;
      const events = intent.items.map((it, index) => {
        inGroup.add(it.draft.eventId);
        return sequence(it.draft, count > 1 ? { first, index, count } : undefined, it.committedAt);
      });
      accepted.push({ intent, events, frames: [] });
    } else {
      const existing = intent.drafts.map((d) => (d.keyed ? ctx.index.get(d.eventId) : undefined));
      const known = existing.filter((e) => e !== undefined).length;
      if (known === intent.drafts.length) {
        settleReplay(intent.settle, Promise.all(existing.map((e, i) => ctx.replay(e!, intent.drafts[i]!))));
        continue;
      }
      if (known > 0 || intent.drafts.some((d) => inGroup.has(d.eventId))) {
        intent.settle.reject(new BatpakError('ERR_INVALID_ARGUMENT', 'a batch repeats some, but not all, idempotency keys of earlier appends'));
        continue;
      }
      const first = next;
      const count = intent.drafts.length;
      const events = intent.drafts.map((d, index) => {
        inGroup.add(d.eventId);
        return sequence(d, { first, index, count });
      });
      accepted.push({ intent, events, frames: [] });
    }
  }

  const signed = sealGroup(ctx, accepted.flatMap((a) => a.events));
  if (signed instanceof BatpakError) {
    for (const a of accepted) a.intent.settle.reject(signed);
    accepted = [];
  }
  const group = signed instanceof BatpakError ? undefined : signed;

  for (const a of accepted) {
    for (const ev of a.events) {
      const d = ev.draft;
      const frame = encodeEventFrame({
        type: 0,
        id: d.id,
        globalSequence: ev.globalSequence,
        entitySequence: ev.entitySequence,
        kind: d.kind,
        entity: d.entity,
        scope: d.scope,
        committedAt: ev.committedAt,
        prevHash: ev.prevHash,
        contentHash: d.contentHash,
        payloadVersion: d.payloadVersion,
        flags: ev.flags,
        batch: ev.batch,
        encryption: d.encryption,
        extensions: ev.extensions,
        payload: d.payload,
      });
      a.frames.push(frame);
      frames.push(frame);
    }
  }
  if (group !== undefined) {
    const all = accepted.flatMap((a) => a.events);
    frames.push(
      encodeSealFrame({
        type: 1,
        firstSequence: all[0]!.globalSequence,
        lastSequence: all[all.length - 1]!.globalSequence,
        count: all.length,
        keyId: group.keyId,
        root: group.tree.root,
        headerDigest: group.headerDigest,
        signature: group.signature,
      }),
    );
  }

  return {
    frames,
    commit: ({ segmentId, offset }) => {
      let at = offset;
      let leaf = 0;
      for (const a of accepted) {
        const receipts: AppendReceipt[] = [];
        a.events.forEach((ev, i) => {
          const frame = a.frames[i]!;
          const d = ev.draft;
          const entry: IndexEntry = {
            eventId: d.eventId,
            idBytes: d.id,
            globalSequence: ev.globalSequence,
            entitySequence: ev.entitySequence,
            kind: d.kind,
            entity: d.entity,
            scope: d.scope,
            committedAt: ev.committedAt,
            prevHash: ev.prevHash,
            contentHash: d.contentHash,
            payloadVersion: d.payloadVersion,
            flags: ev.flags,
            batch: ev.batch,
            encryption: d.encryption,
            extensions: ev.extensions,
            segmentId,
            offset: at,
            length: frame.length,
          };
          at += frame.length;
          ctx.index.insert(entry);
          receipts.push(
            group === undefined
              ? baseReceipt(entry)
              : baseReceipt(entry, { signature: group.signature, keyId: group.keyIdHex, groupProof: sealedProof(group.tree, group.headerDigest, leaf) }),
          );
          leaf++;
        });
        if (a.intent.type === 'single') a.intent.settle.resolve(receipts[0]!);
        else a.intent.settle.resolve(receipts);
      }
      if (frames.length > 0) {
        for (let i = frames.length - (group === undefined ? 0 : 1); i < frames.length; i++) at += frames[i]!.length;
        ctx.published({ segmentId, end: at, nextGlobal: next, lastCommittedAt: clockFloor });
      }
      for (const w of waiting) {
        const e = ctx.index.get(w.eventId);
        if (e === undefined) w.intent.settle.reject(new BatpakError('ERR_IO', 'the append this idempotent retry waited for failed'));
        else settleReplay(w.intent.settle, ctx.replay(e, w.intent.draft));
      }
    },
    abort: (error) => {
      const err = ioError(error, 'append failed');
      for (const a of accepted) a.intent.settle.reject(err);
      for (const w of waiting) w.intent.settle.reject(err);
    },
  };
}


/**
 * Seals a group's events: marks them, builds the Merkle tree of their covers and signs its root once.
 * A failing signer fails the group closed (nothing written) unless downgrade is allowed, in which
 * case the events are written unsigned with a `batpak.signing.downgrade` extension saying why.
 */
export function sealGroup(ctx: GroupContext, events: readonly SequencedEvent[]): SignedGroup | BatpakError | undefined {
  if (ctx.signer === undefined || events.length === 0) return undefined;
  for (const ev of events) ev.flags |= EventFlags.SEALED;
  try {
    return signGroup(ctx.signer, events.map(coverBytesOf), events.map(headerLeafOf));
  } catch (err) {
    const failure = err instanceof BatpakError ? err : new BatpakError('ERR_SIGNING_FAILED', String(err), { cause: err });
    if (!ctx.signingDowngradeAllowed) return failure;
    const note = new TextEncoder().encode(failure.message);
    for (const ev of events) {
      ev.flags &= ~EventFlags.SEALED;
      ev.extensions = new Map([...(ev.extensions ?? new Map<string, Uint8Array>()), [DOWNGRADE_EXTENSION, note]]);
    }
    ctx.onWarning(`signing downgraded for ${events.length} event(s): ${failure.message}`);
    return undefined;
  }
}

function coverBytesOf(ev: SequencedEvent): Uint8Array {
  const d = ev.draft;
  return receiptCoverOf({
    idBytes: d.id,
    globalSequence: ev.globalSequence,
    entitySequence: ev.entitySequence,
    kind: d.kind,
    committedAt: ev.committedAt,
    entity: d.entity,
    scope: d.scope,
    prevHash: ev.prevHash,
    contentHash: d.contentHash,
    extensions: ev.extensions,
  });
}

/** The header leaf of an event as its frame will record it (flags already carry SEALED). */
function headerLeafOf(ev: SequencedEvent): Uint8Array {
  const d = ev.draft;
  return headerLeaf({ id: d.id, globalSequence: ev.globalSequence, flags: ev.flags, payloadVersion: d.payloadVersion, batch: ev.batch, encryption: d.encryption });
}

/** An idempotent replay settles with the original receipt, read back from disk (async, off the commit path). */
function settleReplay<T>(settle: Settle<T>, receipt: Promise<T>): void {
  receipt.then(settle.resolve, settle.reject);
}

