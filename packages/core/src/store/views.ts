// Builds the public views (receipt, header, stored event, stats) from index entries and frames.
// Payload decoding goes through one path so every reader upcasts and validates the same way.

import { Coordinate } from '../coordinate.js';
import { upcast } from '../event.js';
import { BatpakError } from '../errors.js';
import type { IndexEntry } from '../event-index/entry.js';
import { kindFromRaw, type EventKind } from '../kind.js';
import { decodePayload } from '../payload.js';
import type { EventRegistry } from '../registry.js';
import { EventFlags } from '../segment/frame.js';
import type { EventIndex } from '../event-index/event-index.js';
import type { TieredIndex } from '../event-index/tiered-index.js';
import type { Keyset } from '../keyset/keyset.js';
import type { SegmentSet } from '../segment/set.js';
import { runSchema } from '../standard-schema.js';
import type { AppendReceipt, CommitStats, EventHeader, GroupProof, StoreStats } from '../types.js';
import { causalIdsOf } from './causation.js';

/** The store's counters. */
export function statsOf(index: TieredIndex, segments: SegmentSet, keyset: Keyset | undefined, commits: CommitStats | undefined): StoreStats {
  const r = index.resident();
  return {
    events: BigInt(index.size),
    segments: segments.count,
    bytes: BigInt(segments.totalBytes()),
    ...(keyset === undefined ? {} : { keys: keyset.liveCount }),
    ...(commits === undefined ? {} : { commits }),
    index: { residentEntries: r.activeEntries + r.fallbackEntries, sealedSegments: index.sealedSegmentIds().length, sealedBytes: r.sealedBytes, headEntries: r.headEntries, cachedBytes: r.cachedBytes },
  };
}

/** The header of an entity's latest committed event, if any (from the index, no disk read). */
export function entityHead(index: EventIndex, entity: string): EventHeader | undefined {
  const e = index.head(entity);
  return e === undefined ? undefined : headerOf(e);
}

export function headerOf(e: IndexEntry): EventHeader {
  const h: EventHeader = {
    eventId: e.eventId,
    globalSequence: BigInt(e.globalSequence),
    entitySequence: BigInt(e.entitySequence),
    kind: kindFromRaw(e.kind),
    committedAt: BigInt(e.committedAt),
    prevHash: e.prevHash,
    contentHash: e.contentHash,
    payloadVersion: e.payloadVersion,
    raw: (e.flags & EventFlags.RAW) !== 0,
    encrypted: e.encryption !== undefined,
    tombstone: (e.flags & EventFlags.TOMBSTONE) !== 0,
    ...(e.batch === undefined ? {} : { batch: { first: BigInt(e.batch.first), index: e.batch.index, count: e.batch.count } }),
    ...(e.extensions === undefined ? {} : causalIdsOf(e)),
  };
  return h;
}

/** Coordinates are validated on write; frames re-validate on read so a tampered one cannot slip in. */
export function coordinateOf(e: IndexEntry): Coordinate {
  return new Coordinate(e.entity, e.scope);
}

/** Frozen kinds by raw value, shared by receipts: an append names few kinds, and a frozen object cannot be changed through one receipt. */
const kinds = new Map<number, EventKind>();

function sharedKind(raw: number): EventKind {
  let kind = kinds.get(raw);
  if (kind === undefined) kinds.set(raw, (kind = kindFromRaw(raw)));
  return kind;
}

/** The unsigned receipt fields of a committed event. */
export function baseReceipt(e: IndexEntry, signed?: { readonly signature: Uint8Array; readonly keyId: string; readonly groupProof: GroupProof }): AppendReceipt {
  const r: { -readonly [K in keyof AppendReceipt]: AppendReceipt[K] } = {
    eventId: e.eventId,
    globalSequence: BigInt(e.globalSequence),
    entitySequence: BigInt(e.entitySequence),
    kind: sharedKind(e.kind),
    coordinate: { entity: e.entity, scope: e.scope },
    contentHash: e.contentHash,
    prevHash: e.prevHash,
    committedAt: BigInt(e.committedAt),
  };
  if (e.extensions !== undefined && e.extensions.size > 0) r.extensions = e.extensions;
  // Built in place, not spread: this runs once per event of every signed commit group.
  if (signed !== undefined) {
    r.signature = signed.signature;
    r.keyId = signed.keyId;
    r.groupProof = signed.groupProof;
  }
  return r;
}

/** Decodes plaintext payload bytes: raw bytes as is, msgpack upcast through the registry and validated. */
export function decodeStoredPayload(e: IndexEntry, plaintext: Uint8Array, registry: EventRegistry | undefined): unknown {
  if ((e.flags & EventFlags.RAW) !== 0) return plaintext;
  const value = decodePayload(plaintext, e.eventId);
  const def = registry?.lookup(e.kind);
  if (def === undefined) return value;
  const lifted = upcast(def, e.payloadVersion, value, e.eventId);
  if (def.validate !== undefined && !def.validate(lifted)) {
    throw BatpakError.invalidPayload(`payload of event ${e.eventId} does not satisfy ${def.name}.validate`, { eventId: e.eventId });
  }
  if (def.schema !== undefined && def.validateOnRead === true) return runSchema(def.schema, lifted, `payload of event ${e.eventId} (${def.name})`, { eventId: e.eventId });
  return lifted;
}
