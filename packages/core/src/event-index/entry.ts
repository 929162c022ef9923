// The in-memory index entry of one committed event: where its frame lives and the header fields
// reads, queries and chain checks need without touching disk.

import type { KeptHeaderFields } from '../segment/header-fields.js';

/** A committed event as the index keeps it: its header fields (KeptHeaderFields), its hex id and where its frame is. */
export interface IndexEntry extends KeptHeaderFields {
  readonly eventId: string;
  /** Where the frame is: segment id, byte offset of the frame magic, header + body length. */
  segmentId: number;
  offset: number;
  readonly length: number;
}

/**
 * A plain copy of an entry with some fields replaced. Entries may be class instances with accessors
 * (checkpoint entries), which an object spread would silently drop: copy field by field.
 */
export function plainEntry(e: IndexEntry, changes: Partial<Pick<IndexEntry, 'flags' | 'segmentId' | 'offset' | 'length'>> = {}): IndexEntry {
  return {
    eventId: e.eventId,
    idBytes: e.idBytes,
    globalSequence: e.globalSequence,
    entitySequence: e.entitySequence,
    kind: e.kind,
    entity: e.entity,
    scope: e.scope,
    committedAt: e.committedAt,
    prevHash: e.prevHash,
    contentHash: e.contentHash,
    payloadVersion: e.payloadVersion,
    flags: changes.flags ?? e.flags,
    batch: e.batch,
    encryption: e.encryption,
    extensions: e.extensions,
    segmentId: changes.segmentId ?? e.segmentId,
    offset: changes.offset ?? e.offset,
    length: changes.length ?? e.length,
  };
}
