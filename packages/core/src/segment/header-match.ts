// Compares the header fields a reader kept (an index entry) with the frame they claim to describe, field by field:
// a derived record (the cold-start checkpoint) is never believed over the frame a read, verify or compaction acts on (INV-DERIVED-NOT-AUTHORITY).

import { bytesEqual } from '../encoding/hex.js';
import type { EventFrame } from './frame.js';
import type { KeptHeaderFields } from './header-fields.js';

function sameBytesMap(a: ReadonlyMap<string, Uint8Array> | undefined, b: ReadonlyMap<string, Uint8Array> | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (w === undefined || !bytesEqual(v, w)) return false;
  }
  return true;
}

/**
 * The first field in which `entry` and `frame` disagree, or undefined when the entry describes the frame
 * exactly (every header field a reader, verifyChain or compaction uses; not the payload, which the
 * content hash and the frame CRC cover).
 */
export function frameMismatch(entry: KeptHeaderFields, frame: EventFrame): string | undefined {
  if (!bytesEqual(entry.idBytes, frame.id)) return 'eventId';
  if (entry.globalSequence !== frame.globalSequence) return 'globalSequence';
  if (entry.entitySequence !== frame.entitySequence) return 'entitySequence';
  if (entry.kind !== frame.kind) return 'kind';
  if (entry.entity !== frame.entity) return 'entity';
  if (entry.scope !== frame.scope) return 'scope';
  if (entry.committedAt !== frame.committedAt) return 'committedAt';
  if (!bytesEqual(entry.prevHash, frame.prevHash)) return 'prevHash';
  if (!bytesEqual(entry.contentHash, frame.contentHash)) return 'contentHash';
  if (entry.payloadVersion !== frame.payloadVersion) return 'payloadVersion';
  if (entry.flags !== frame.flags) return 'flags';
  const b = entry.batch;
  const fb = frame.batch;
  if (b === undefined || fb === undefined ? b !== fb : b.first !== fb.first || b.index !== fb.index || b.count !== fb.count) return 'batch';
  const x = entry.encryption;
  const fx = frame.encryption;
  if (x === undefined || fx === undefined ? x !== fx : x.generation !== fx.generation || !bytesEqual(x.scope, fx.scope) || !bytesEqual(x.nonce, fx.nonce)) {
    return 'encryption';
  }
  if (!sameBytesMap(entry.extensions, frame.extensions)) return 'extensions';
  return undefined;
}
