// Builds an index entry from a frame found by recovery. Frames view the whole segment buffer they were
// read from, so everything the entry keeps is copied: the index must not keep segments alive.

import { toHex } from '../encoding/hex.js';
import type { RecoveredEvent } from '../segment/recovery.js';
import type { IndexEntry } from './entry.js';

export function entryFromRecovered(r: RecoveredEvent): IndexEntry {
  const f = r.frame;
  // Frames decoded at recovery view the whole segment buffer: copy what the index keeps, or every
  // segment's bytes would stay in memory for the life of the store.
  const fixed = new Uint8Array(80);
  fixed.set(f.id, 0);
  fixed.set(f.prevHash, 16);
  fixed.set(f.contentHash, 48);
  return {
    eventId: toHex(f.id),
    idBytes: fixed.subarray(0, 16),
    globalSequence: f.globalSequence,
    entitySequence: f.entitySequence,
    kind: f.kind,
    entity: f.entity,
    scope: f.scope,
    committedAt: f.committedAt,
    prevHash: fixed.subarray(16, 48),
    contentHash: fixed.subarray(48, 80),
    payloadVersion: f.payloadVersion,
    flags: f.flags,
    batch: f.batch,
    encryption: f.encryption === undefined ? undefined : { scope: f.encryption.scope.slice(), nonce: f.encryption.nonce.slice(), generation: f.encryption.generation },
    extensions: f.extensions === undefined ? undefined : new Map([...f.extensions].map(([k, v]) => [k, v.slice()])),
    segmentId: r.segmentId,
    offset: r.offset,
    length: r.length,
  };
}

