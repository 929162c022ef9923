// Checks one commit group a primary wrote, as frame bytes, before a replica stores it: frames intact,
// sequences continue the replica's log, links and content hashes hold, one trusted seal signs exactly it.
// Invariant: a group passes only if the primary's key signed these exact events (INV-REPLICA-VERIFIED).

import { blake3 } from '../crypto/blake3.js';
import { bytesEqual, toHex } from '../encoding/hex.js';
import { BatpakError } from '../errors.js';
import { ZERO_HASH } from '../chain/links.js';
import type { EventIndex } from '../event-index/event-index.js';
import { SealChecker } from '../receipt/seal-check.js';
import { FRAME_HEADER_BYTES, frameHeaderDamage, readFrameHeader } from '../segment/format.js';
import { decodeFrameBody, EventFlags, FrameDecodeError, isValidFrameAt, type EventFrame, type SealFrame } from '../segment/frame.js';

/** Why a replica refused a group: `details.reason` of ERR_REPLICA_REFUSED. */
export type ReplicaRefusal = 'malformed' | 'unsigned' | 'signature' | 'sequence' | 'chain' | 'content-hash' | 'duplicate' | 'compacted';

export function replicaRefused(reason: ReplicaRefusal, message: string, details: Record<string, unknown> = {}): BatpakError {
  return new BatpakError('ERR_REPLICA_REFUSED', `replica refused the group, nothing was written: ${message}`, { details: { reason, ...details } });
}

/** A group that passed: its event frames decoded (in order) and its seal. */
export interface CheckedGroup {
  readonly events: readonly { readonly frame: EventFrame; readonly eventId: string; readonly bytes: Uint8Array }[];
  readonly seal: SealFrame;
  /** Every frame as given, event frames then the seal: the bytes the replica appends. */
  readonly frames: readonly Uint8Array[];
}

/** What the replica holds: its index (entity heads, known ids) and the next global sequence it expects. */
export interface ReplicaState {
  readonly index: EventIndex;
  readonly nextGlobal: number;
  readonly publicKeys: readonly Uint8Array[];
}

/** One whole frame (header, CRC-checked body, nothing after it), decoded. */
function decodeWhole(bytes: Uint8Array, i: number) {
  const h = bytes.length >= FRAME_HEADER_BYTES ? readFrameHeader(bytes, 0) : undefined;
  if (h === undefined || frameHeaderDamage(h, 0, bytes.length) !== undefined || !isValidFrameAt(bytes, 0) || FRAME_HEADER_BYTES + h.length !== bytes.length) {
    throw replicaRefused('malformed', `frame ${i} is not one intact frame (magic, length or CRC)`, { index: i });
  }
  try {
    return decodeFrameBody(bytes.subarray(FRAME_HEADER_BYTES));
  } catch (err) {
    if (err instanceof FrameDecodeError) throw replicaRefused('malformed', `frame ${i}: ${err.message}`, { index: i });
    throw err;
  }
}

/**
 * Checks a group against the replica's state. Returns undefined when every event of the group is
 * already stored with the same content hash (a repeat after a restart: nothing to do).
 */
export async function checkGroup(state: ReplicaState, frames: readonly Uint8Array[]): Promise<CheckedGroup | undefined> {
  if (!Array.isArray(frames) || frames.length < 2 || !frames.every((f) => f instanceof Uint8Array)) {
    throw replicaRefused('malformed', 'a group is its event frames followed by the seal frame that signs them (at least two Uint8Arrays)');
  }
  const copies = frames.map((f) => f.slice());
  const decoded = copies.map((bytes, i) => decodeWhole(bytes, i));
  const seal = decoded[decoded.length - 1]!;
  if (seal.type !== 1) throw replicaRefused('unsigned', 'the last frame is not a seal: a replica stores signed groups only');
  const events = decoded.slice(0, -1).map((frame, i) => {
    if (frame.type !== 0) throw replicaRefused('malformed', `frame ${i} is a seal before the group's end`, { index: i });
    return { frame, eventId: toHex(frame.id), bytes: copies[i]! };
  });
  const first = events[0]!.frame.globalSequence;
  if (first < state.nextGlobal && (await isRepeat(state, events))) return undefined;
  // Continuity: the group starts right after the replica's last event and has no hole (INV-REPLICA-CONTIGUOUS).
  events.forEach((e, i) => {
    const want = state.nextGlobal + i;
    if (e.frame.globalSequence !== want) {
      throw replicaRefused('sequence', `event ${e.eventId} has global sequence ${e.frame.globalSequence}, the replica expects ${want}`, { eventId: e.eventId, expected: want, actual: e.frame.globalSequence });
    }
  });
  const heads = new Map<string, { seq: number; hash: Uint8Array }>();
  const seen = new Set<string>();
  for (const { frame, eventId } of events) {
    if ((frame.flags & EventFlags.TOMBSTONE) !== 0) {
      throw replicaRefused('compacted', `event ${eventId} is a tombstone: a replica copies events as written, before any compaction`, { eventId });
    }
    if (seen.has(eventId) || (await state.index.has(eventId))) throw replicaRefused('duplicate', `event id ${eventId} is already in the replica`, { eventId });
    seen.add(eventId);
    if (!bytesEqual(blake3(frame.payload), frame.contentHash)) {
      throw replicaRefused('content-hash', `event ${eventId}: the stored bytes do not hash to its content hash`, { eventId });
    }
    const known = heads.get(frame.entity) ?? headOf(state.index, frame.entity);
    if (frame.entitySequence !== known.seq + 1 || !bytesEqual(frame.prevHash, known.hash)) {
      throw replicaRefused('chain', `event ${eventId} does not link to the head of entity ${frame.entity} (sequence ${known.seq})`, { eventId, entity: frame.entity });
    }
    heads.set(frame.entity, { seq: frame.entitySequence, hash: frame.contentHash });
  }
  // One seal over exactly these events, by a key the replica trusts (Merkle root, header digest, Ed25519).
  const checker = new SealChecker({ keys: state.publicKeys, requireSigned: true });
  for (const e of events) checker.event(e.frame, e.eventId);
  checker.seal(seal);
  const verdict = checker.finish();
  if (verdict.failures.length > 0 || verdict.signaturesChecked !== events.length) {
    throw replicaRefused('signature', `the seal over global sequences ${seal.firstSequence}..${seal.lastSequence} does not verify against the primary's public keys for exactly these ${events.length} events`, {
      eventId: verdict.failures[0] ?? events[0]!.eventId,
    });
  }
  return { events, seal, frames: copies };
}

function headOf(index: EventIndex, entity: string): { seq: number; hash: Uint8Array } {
  const e = index.head(entity);
  return e === undefined ? { seq: 0, hash: ZERO_HASH } : { seq: e.entitySequence, hash: e.contentHash };
}

/** Every event already stored at its sequence with the same content hash; a partial overlap is a refusal. */
async function isRepeat(state: ReplicaState, events: CheckedGroup['events']): Promise<boolean> {
  for (const { frame, eventId } of events) {
    const stored = await state.index.get(eventId);
    if (stored === undefined || stored.globalSequence !== frame.globalSequence || !bytesEqual(stored.contentHash, frame.contentHash)) {
      throw replicaRefused('sequence', `event ${eventId} (global sequence ${frame.globalSequence}) is behind the replica's end (${state.nextGlobal - 1}) but is not what the replica holds there`, {
        eventId,
        expected: state.nextGlobal,
        actual: frame.globalSequence,
      });
    }
  }
  return true;
}
