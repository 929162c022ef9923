// replicate: builds and follows a read replica of an exported store from its JetStream stream — core's
// Store.openReplica fed the primary's own frames and seals, one commit group at a time. Invariant: only
// groups the primary's keys signed are written, in sequence, and a restart resumes after the replica's
// last group with no gap or duplicate (INV-NATSBAT-REPLICA).

import { isBatpakError, Store, verifyAttestation, type Fs, type HeadAttestation, type Replica } from '@batpak/core';
import { decodeFrameBody, EventFlags, FRAME_HEADER_BYTES } from '@batpak/core/format';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { NatsbatError, reasonOf } from './errors.js';
import { decodeExportedMessage, type ExportedEvent, type IncomingMessage } from './message.js';
import { readRange, streamPosition, tailFrom } from './stream.js';

export interface ReplicateOptions {
  /** The export stream (the exporter's `stream`). */
  readonly stream: string;
  /** The replica's directory: created when missing, resumed when it holds a replica. */
  readonly dir: string;
  /** The primary's Ed25519 public keys (current and rotated-out); a group none of them signed is refused. */
  readonly publicKeys: readonly Uint8Array[];
  /** Stops following: the call then resolves with where the replica got to. */
  readonly signal: AbortSignal;
  /** Keep following after the stream's end (default true); false: stop at the end the stream had at the start. */
  readonly follow?: boolean;
  /** Default `RealFs`. */
  readonly fs?: Fs;
  /** Called after each applied group. */
  readonly onProgress?: (progress: ReplicationProgress) => void;
}

export interface ReplicationProgress {
  /** The replica's last global sequence (the end of its last whole group). */
  readonly lastSequence: bigint;
  /** The stream sequence of the last message applied or skipped (0n before any). */
  readonly streamSequence: bigint;
  /** Events appended by this call. */
  readonly applied: number;
  /**
   * The newest head attestation the stream carried (exporter option `attestations`) whose events the
   * replica now holds, its signature checked against `publicKeys`: `verifyChain({ expect })` on the
   * replica proves it holds a copy of what the primary attested.
   */
  readonly attestation?: HeadAttestation;
}

/** A group larger than this many events is no group a store writes: refused rather than buffered without end. */
const MAX_GROUP_EVENTS = 65_536;

/**
 * Opens (or resumes) the replica in `dir` and applies the stream's events to it, group by group, until
 * `signal` aborts (or, with `follow: false`, the stream's end at the start); resolves with the progress
 * then (with `follow: false`, an abort before the end is ERR_ABORTED, as for readExported). A message
 * that is not a format-2 export is ERR_NOT_REPLICABLE; a group the replica refuses (bad signature,
 * broken link or sequence, tampered frame) is ERR_REPLICA_REFUSED — nothing of it is written and
 * replication stops. The replica is closed when the call settles.
 */
export async function replicate(connection: NatsConnection, options: ReplicateOptions): Promise<ReplicationProgress> {
  checkOptions(connection, options);
  const { stream, signal } = options;
  let replica: Replica;
  try {
    replica = await Store.openReplica(options.dir, { publicKeys: options.publicKeys, ...(options.fs === undefined ? {} : { fs: options.fs }) });
  } catch (err) {
    if (isBatpakError(err, 'ERR_INVALID_ARGUMENT')) throw NatsbatError.INVALID_OPTION(err.message, 'publicKeys');
    throw NatsbatError.IO(`cannot open the replica in ${options.dir}: ${reasonOf(err)}`, { cause: err });
  }
  let applied = 0;
  let streamSequence = 0n;
  let attested: HeadAttestation | undefined;
  let awaiting: HeadAttestation | undefined;
  const progress = (): ReplicationProgress => ({ lastSequence: replica.lastSequence, streamSequence, applied, ...(attested === undefined ? {} : { attestation: attested }) });
  try {
    const jsm = await manager(connection);
    const end = (await streamPosition(jsm, stream)).lastSequence;
    const from = await firstAfter(jsm, stream, replica.lastSequence, end);
    const js = jetstream(connection);
    const messages = options.follow === false ? readRange(js, stream, from, end, signal) : tailFrom(js, stream, from, signal);
    let pending: Uint8Array[] = [];
    for await (const m of messages) {
      if (signal.aborted) break;
      const x = decodeExportedMessage(m);
      streamSequence = x.streamSequence;
      if (x.frame === undefined) {
        throw NatsbatError.NOT_REPLICABLE(`stream message ${x.streamSequence} is a format-1 export (no frame): re-export with wireFormat 2 to replicate`, { details: { streamSequence } });
      }
      if (x.attestation !== undefined) {
        // A forged statement is refused like a forged event: nothing after it is applied.
        const verdict = verifyAttestation(x.attestation, options.publicKeys);
        if (verdict.status !== 'valid') throw refused(x, 'attestation', `its attestation does not verify: ${verdict.reason ?? 'invalid'}`);
        awaiting = x.attestation;
      }
      if (pending.length === 0 && x.receipt.globalSequence <= replica.lastSequence) {
        if (awaiting !== undefined && awaiting.globalSequence <= replica.lastSequence) [attested, awaiting] = [awaiting, undefined];
        continue;
      }
      pending.push(x.frame);
      if (pending.length > MAX_GROUP_EVENTS) throw refused(x, 'malformed', `no seal after ${MAX_GROUP_EVENTS} events`);
      const sealed = (frameFlags(x.frame) & EventFlags.SEALED) !== 0;
      // A group ends with its seal; an unsigned event is handed over alone for core to refuse.
      if (x.seal === undefined && sealed) continue;
      const group = x.seal === undefined ? pending : [...pending, x.seal];
      pending = [];
      try {
        applied += (await replica.apply(group)).applied;
      } catch (err) {
        if (isBatpakError(err, 'ERR_REPLICA_REFUSED')) throw refused(x, String(err.details.reason), err.message, err);
        throw NatsbatError.IO(`the replica could not store the group ending at stream message ${x.streamSequence}: ${reasonOf(err)}`, { cause: err });
      }
      if (awaiting !== undefined && awaiting.globalSequence <= replica.lastSequence) [attested, awaiting] = [awaiting, undefined];
      options.onProgress?.(progress());
    }
    return progress();
  } finally {
    await replica.close().catch(() => undefined);
  }
}

function refused(x: ExportedEvent, reason: string, why: string, cause?: unknown): NatsbatError {
  return NatsbatError.REPLICA_REFUSED(`stream message ${x.streamSequence} (event ${x.receipt.eventId}): ${why}`, {
    details: { reason, streamSequence: x.streamSequence, eventId: x.receipt.eventId, globalSequence: x.receipt.globalSequence },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** The event flags of a frame decodeExportedMessage already checked to be one intact event frame. */
function frameFlags(frame: Uint8Array): number {
  const f = decodeFrameBody(frame.subarray(FRAME_HEADER_BYTES));
  return f.type === 0 ? f.flags : 0;
}

async function manager(connection: NatsConnection): Promise<JetStreamManager> {
  try {
    return await jetstreamManager(connection);
  } catch (err) {
    throw NatsbatError.READ_FAILED(`JetStream is not available on this connection: ${reasonOf(err)}`, { cause: err });
  }
}

/**
 * The first stream sequence whose event comes after global sequence `after` (end + 1 when none):
 * a binary search, since an export stream holds events in global-sequence order.
 */
async function firstAfter(jsm: JetStreamManager, stream: string, after: bigint, end: bigint): Promise<bigint> {
  if (after === 0n) return 1n;
  let lo = 1n;
  let hi = end + 1n;
  while (lo < hi) {
    const mid = (lo + hi) / 2n;
    const g = await globalSequenceAt(jsm, stream, mid);
    if (g > after) hi = mid;
    else lo = mid + 1n;
  }
  return lo;
}

async function globalSequenceAt(jsm: JetStreamManager, stream: string, seq: bigint): Promise<bigint> {
  let sm;
  try {
    sm = await jsm.streams.getMessage(stream, { seq: Number(seq) });
  } catch (err) {
    throw NatsbatError.READ_FAILED(`cannot read message ${seq} of stream ${stream}: ${reasonOf(err)}`, { cause: err, details: { streamSequence: seq } });
  }
  if (sm === null) throw NatsbatError.READ_FAILED(`stream ${stream} has no message ${seq} (deleted?)`, { details: { streamSequence: seq } });
  const m: IncomingMessage = { seq: sm.seq, subject: sm.subject, headers: sm.header, data: sm.data };
  return decodeExportedMessage(m).receipt.globalSequence;
}

function checkOptions(connection: NatsConnection, o: ReplicateOptions): void {
  if (typeof o !== 'object' || o === null) throw NatsbatError.INVALID_OPTION('options are required', 'options');
  if (typeof connection?.request !== 'function') throw NatsbatError.INVALID_OPTION('connection must be a NATS connection', 'connection');
  if (typeof o.stream !== 'string' || o.stream === '') throw NatsbatError.INVALID_OPTION('stream must name the export stream', 'stream');
  if (typeof o.dir !== 'string' || o.dir === '') throw NatsbatError.INVALID_OPTION('dir must be the replica directory', 'dir');
  if (!(o.signal instanceof AbortSignal)) throw NatsbatError.INVALID_OPTION('signal is required: it stops the replication', 'signal');
}
