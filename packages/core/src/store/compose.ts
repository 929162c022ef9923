// Wires a Store's modules over the parts an open recovered: the reader, the verifier, attest/snapshot,
// the append pipeline (writable stores only), the system-event parts and the sequence waiters.
// Invariant: every module shares the same index, segment set and keyset; none owns a copy of them.

import type { CompactionEntry } from '../compaction/log.js';
import type { GroupCache } from '../receipt/original.js';
import type { StoreOptions } from './options.js';
import { Admission } from './admission.js';
import { AppendPipeline } from './append-pipeline.js';
import { AttestAndSnapshot, type OpenedCopy } from './attest-snapshot.js';
import { replayOrConflict } from './idempotency.js';
import type { OpenedStore } from './open.js';
import type { IndexFileKeeper } from './index-files.js';
import { Projector } from './project.js';
import { StoreReader } from './read.js';
import type { SharedExclusiveLock } from './rwlock.js';
import type { SystemEventParts } from './shred.js';
import { onRealFs, StoreVerifier } from './verify.js';
import type { Consumer } from './consumer.js';
import type { ReactParts } from './react.js';
import { SequenceWaiters } from './waiters.js';

export interface StoreModules {
  readonly reader: StoreReader;
  readonly verifier: StoreVerifier;
  readonly attest: AttestAndSnapshot;
  /** Undefined read-only. */
  readonly pipeline: AppendPipeline | undefined;
  readonly system: SystemEventParts;
  readonly waiters: SequenceWaiters;
  /** Backpressure: the appends accepted and waiting (maxQueuedBytes). */
  readonly admission: Admission;
  /** What subscriptions, consumers and reactions read from. */
  readonly delivery: ReactParts;
  readonly projector: Projector;
  /** Keeps the sealed segments' index files (writable stores); runs beside compaction, never during it. */
  readonly indexFiles: IndexFileKeeper | undefined;
}

/** What the modules need from the Store itself: its shared state and lifecycle. */
export interface StoreHooks {
  readonly groups: GroupCache;
  readonly maintenance: SharedExclusiveLock;
  readonly assertOpen: () => void;
  /** compaction.log's entries as they are now (compaction replaces the list). */
  readonly compactionEntries: () => readonly CompactionEntry[];
  readonly openReadOnly: (dir: string, options: Omit<StoreOptions, 'dir' | 'readOnly'>) => Promise<OpenedCopy>;
}

/** Public keys whose signatures a store accepts: its own, then trustedPublicKeys. */
export function verifyKeysOf(o: Pick<OpenedStore, 'signer' | 'opts'>): Uint8Array[] {
  const own = o.signer?.publicKey;
  return own === undefined ? [...o.opts.trustedPublicKeys] : [own, ...o.opts.trustedPublicKeys];
}

export function composeModules(o: OpenedStore, hooks: StoreHooks): StoreModules {
  const { opts, index, segments, removed, keyset, signer } = o;
  const verifyKeys = () => verifyKeysOf(o);
  const waiters = new SequenceWaiters();
  const admission = new Admission(opts.maxQueuedBytes);
  const reader = new StoreReader({ index, segments, removed, keyset, registry: opts.registry, groups: hooks.groups, assertOpen: hooks.assertOpen });
  const pipeline =
    o.writer === undefined
      ? undefined
      : new AppendPipeline(
          {
            dir: opts.dir,
            index,
            keyset,
            keyStore: o.keyStore,
            signer,
            signingDowngradeAllowed: opts.signingDowngradeAllowed,
            writer: o.writer,
            segments,
            now: opts.now,
            onWarning: opts.onWarning,
            replay: (e, draft) => replayOrConflict(draft, e, { original: (x) => reader.originalReceipt(x), plaintext: (x) => reader.plaintext(x) }),
            landed: () => waiters.wake(() => index.lastGlobalSequence()),
            admission,
            sealed: index,
          },
          { nextGlobal: o.nextGlobal, lastCommittedAt: o.lastCommittedAt },
        );
  const idle = () => pipeline?.idle() ?? Promise.resolve();
  // Worker threads hash only bytes read through Fs; a simulated Fs (tests) keeps verification on this thread.
  const verifier = new StoreVerifier({
    index, segments, removed, damage: o.damage, maintenance: hooks.maintenance, verifyKeys, compactionEntries: hooks.compactionEntries, idle,
    mayUseWorkers: onRealFs(opts.fs),
    committedScan: { sealedSegmentIds: () => index.sealedSegmentIds(), scan: (from, leaveOut) => index.scanSkippingDamage(from, leaveOut) },
  });
  const attest = new AttestAndSnapshot({
    fs: opts.fs,
    signer,
    verifier,
    maintenance: hooks.maintenance,
    now: opts.now,
    // Only a keyset kept in the store's own directory travels with a snapshot.
    ownKeyset: opts.encryption?.keyStore === undefined ? keyset : undefined,
    compactionEntries: hooks.compactionEntries,
    idle,
    openCopy: (dir) => {
      const registry = opts.registry;
      return hooks.openReadOnly(dir, { fs: opts.fs, trustedPublicKeys: verifyKeys(), ...(registry === undefined ? {} : { registry }), checkpoint: 'off', onWarning: () => undefined });
    },
  });
  const system: SystemEventParts = { index, keyset, keyStore: o.keyStore, signer, now: opts.now, submit: (draft) => pipeline!.submitOne(draft, undefined) };
  const delivery: ReactParts = {
    ...{ index, reader, waiters, assertOpen: hooks.assertOpen, fs: opts.fs, dir: opts.dir, now: opts.now, open: new Set<Consumer>() },
    appendDrafts: (drafts) => pipeline!.appendBatch(drafts),
    limits: () => ({ payloadMaxBytes: opts.payloadMaxBytes, registry: opts.registry, now: opts.now(), batchMaxEvents: opts.batchMaxEvents, seals: keyset !== undefined }),
  };
  const projector = new Projector({
    index,
    eventsAfter: (entity, after) => reader.query({ entity, after: BigInt(after) }),
    keyset,
    fs: opts.fs,
    dir: opts.dir,
    readOnly: opts.readOnly,
    cacheSize: opts.projectionCacheSize,
    now: opts.now,
    onWarning: opts.onWarning,
    assertOpen: hooks.assertOpen,
    waiters,
  });
  o.indexFiles?.setGuard((job) => hooks.maintenance.shared(job));
  o.indexFiles?.setAppendHold(admission);
  return { reader, verifier, attest, pipeline, system, waiters, admission, delivery, projector, indexFiles: o.indexFiles };
}
