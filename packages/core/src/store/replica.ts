// Replica: a store directory that receives a primary's commit groups as frame bytes and appends them
// verbatim — same event ids, global sequences, hashes, links, encryption headers and seals — after
// store/replica-check.ts verified them. Invariant: a refused group writes nothing, an accepted one is
// durable before apply resolves, and a reopened replica resumes right after its last whole group
// (INV-REPLICA-VERIFIED, INV-REPLICA-CONTIGUOUS, INV-REPLICA-RESUME).

import { BatpakError, ioError } from '../errors.js';
import { entryFromRecovered } from '../event-index/from-frame.js';
import type { Fs } from '../fs/fs.js';
import { writeCheckpoint } from './checkpoint-write.js';
import { openStore, type OpenedStore } from './open.js';
import { checkGroup } from './replica-check.js';

export interface ReplicaOptions {
  /**
   * The primary's Ed25519 public keys (32 bytes each; its current key and any rotated-out ones). At
   * least one: a replica stores only groups one of these keys signed.
   */
  readonly publicKeys: readonly Uint8Array[];
  /** Default `RealFs`. */
  readonly fs?: Fs;
  /** `'always'` (default): each applied group is fsynced before `apply` resolves. */
  readonly sync?: 'always' | 'none';
  /** Recovery notes (a torn tail cut at open). Default: ignored. */
  readonly onWarning?: (message: string) => void;
}

export interface ReplicaApplyResult {
  /** Events appended by this call (0 when the group was already held: a repeat after a restart). */
  readonly applied: number;
  /** The replica's last global sequence after the call. */
  readonly lastSequence: bigint;
}

/**
 * A writable replica directory (it holds the directory's writer lock). Read it with
 * `Store.openReadOnly(dir, { trustedPublicKeys })` beside the replica, or after `close()`.
 */
export class Replica {
  readonly #o: OpenedStore;
  readonly #keys: readonly Uint8Array[];
  #nextGlobal: number;
  #lastCommittedAt: number;
  #queue: Promise<unknown> = Promise.resolve();
  #closing: Promise<void> | undefined;

  private constructor(o: OpenedStore, keys: readonly Uint8Array[]) {
    this.#o = o;
    this.#keys = keys;
    this.#nextGlobal = o.index.lastGlobalSequence() + 1;
    this.#lastCommittedAt = o.lastCommittedAt;
  }

  /** Opens (creating if needed) the replica in `dir`, recovering it like a store (torn tail cut). */
  static async open(dir: string, options: ReplicaOptions): Promise<Replica> {
    const keys = checkKeys(options);
    return openStore(
      {
        dir,
        ...(options.fs === undefined ? {} : { fs: options.fs }),
        ...(options.onWarning === undefined ? {} : { onWarning: options.onWarning }),
        sync: options.sync ?? 'always',
        trustedPublicKeys: keys,
      },
      async (o) => {
        if (o.compactionEntries.length > 0 || o.removed.maxSequence() > 0) {
          await o.writer?.active.file.close().catch(() => undefined);
          await o.segments.closeAll();
          await o.lock?.release().catch(() => undefined);
          throw BatpakError.invalidArgument(`${dir} was compacted: a replica holds every event as the primary wrote it`, { file: dir });
        }
        const replica = new Replica(o, keys);
        await o.indexFiles?.reconcile();
        return replica;
      },
      { replica: true },
    );
  }

  /** The replica's directory. */
  get dir(): string {
    return this.#o.opts.dir;
  }

  /** The last global sequence held (0n for an empty replica): the next group must start right after it. */
  get lastSequence(): bigint {
    return BigInt(this.#nextGlobal - 1);
  }

  /**
   * Verifies and appends one commit group of the primary: its event frames in order, then the seal
   * frame that signs them — the bytes `Store.replicationFrames` returns on the primary. A group the
   * replica already holds is a no-op; anything else that does not verify is ERR_REPLICA_REFUSED
   * (`details.reason`), and nothing is written. Calls are applied one at a time, in call order.
   */
  apply(frames: readonly Uint8Array[]): Promise<ReplicaApplyResult> {
    const run = this.#queue.then(() => this.#apply(frames));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #apply(frames: readonly Uint8Array[]): Promise<ReplicaApplyResult> {
    if (this.#closing !== undefined) throw BatpakError.storeClosed('the replica is closed');
    const o = this.#o;
    const writer = o.writer!;
    const group = await checkGroup({ index: o.index, nextGlobal: this.#nextGlobal, publicKeys: this.#keys }, frames);
    if (group === undefined) return { applied: 0, lastSequence: this.lastSequence };
    // The same write path as an append: one gathered write, cut back on failure, fsynced under sync 'always'.
    let at;
    try {
      at = await writer.writeGroup(group.frames, o.opts.now());
    } catch (err) {
      throw ioError(err, 'the replica could not write the group');
    }
    let offset = at.offset;
    for (const e of group.events) {
      o.index.insert(entryFromRecovered({ frame: e.frame, segmentId: at.segmentId, offset, length: e.bytes.length }));
      offset += e.bytes.length;
      this.#lastCommittedAt = Math.max(this.#lastCommittedAt, e.frame.committedAt);
    }
    o.segments.setSize(at.segmentId, offset + group.frames[group.frames.length - 1]!.length);
    this.#nextGlobal += group.events.length;
    return { applied: group.events.length, lastSequence: this.lastSequence };
  }

  /** Waits for pending applies, syncs, writes the cold-start checkpoint and releases the lock. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const o = this.#o;
    await this.#queue;
    let failure: unknown;
    try {
      // Index files being written finish first: a segment sealed into the index leaves the checkpoint.
      await o.indexFiles?.settle();
      if (o.writer !== undefined && o.writer.failure === undefined) {
        await o.writer.sync();
        await writeCheckpoint({ opts: o.opts, index: o.index, segments: o.segments, removed: o.removed, active: o.writer.active, lastCommittedAt: this.#lastCommittedAt, compactions: 0 });
      }
    } catch (err) {
      failure = err;
    }
    await o.indexFiles?.settle();
    await o.index.close().catch(() => undefined);
    await o.writer?.active.file.close().catch(() => undefined);
    await o.segments.closeAll();
    await o.lock?.release().catch(() => undefined);
    if (failure !== undefined) throw ioError(failure, 'close could not sync the replica');
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function checkKeys(options: ReplicaOptions): Uint8Array[] {
  const keys = (options as { publicKeys?: unknown } | null)?.publicKeys;
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => k instanceof Uint8Array && k.length === 32)) {
    throw BatpakError.invalidArgument('publicKeys must list the primary\'s Ed25519 public keys (32 bytes each), at least one', { field: 'publicKeys' });
  }
  return keys.map((k: Uint8Array) => k.slice());
}
