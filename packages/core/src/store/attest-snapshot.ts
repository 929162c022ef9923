// Head attestations and snapshots (FORMAT.md § Head attestations, § Snapshot): a signed statement of the
// log as it is now, and a crash-safe copy of a committed prefix that is checked to open and verify.
// Invariant: nothing is attested or published as a snapshot unless the log (or the copy) verifies intact.

import { HeadStream } from '../attest/check.js';
import type { AttestOptions, VerifyChainOptions } from '../attest/options.js';
import { checkLabel, signAttestation, type HeadAttestation } from '../attest/statement.js';
import { encodeCompactionLog, type CompactionEntry } from '../compaction/log.js';
import { BatpakError } from '../errors.js';
import type { Fs } from '../fs/fs.js';
import type { Keyset } from '../keyset/keyset.js';
import type { ReceiptSigner } from '../receipt/sign.js';
import { writeSnapshot, type SnapshotOptions, type SnapshotResult } from '../snapshot/copy.js';
import type { ChainVerificationReport, StoreStats } from '../types.js';
import { describeReport } from './open-checks.js';
import type { SharedExclusiveLock } from './rwlock.js';
import type { CommittedSnapshot, StoreVerifier, VerifyProgress } from './verify.js';

/** What checking a snapshot copy needs of the store it opens as. */
export interface OpenedCopy {
  readonly lastSequence: bigint;
  stats(): StoreStats;
  verifyChain(options: VerifyChainOptions): Promise<ChainVerificationReport>;
  close(): Promise<void>;
}

export interface AttestParts {
  readonly fs: Fs;
  readonly signer: ReceiptSigner | undefined;
  readonly verifier: StoreVerifier;
  readonly maintenance: SharedExclusiveLock;
  readonly now: () => number;
  /** The keyset to copy into a snapshot: only one the store keeps in its own directory. */
  readonly ownKeyset: Keyset | undefined;
  readonly compactionEntries: () => readonly CompactionEntry[];
  readonly idle: () => Promise<void>;
  /** Opens a directory read-only as a store trusting this store's keys (a snapshot copy, for its check). */
  readonly openCopy: (dir: string) => Promise<OpenedCopy>;
}

export class AttestAndSnapshot {
  readonly #p: AttestParts;

  constructor(parts: AttestParts) {
    this.#p = parts;
  }

  async attest(options: AttestOptions): Promise<HeadAttestation> {
    const signer = this.#p.signer;
    if (signer === undefined) throw new BatpakError('ERR_SIGNING_KEY_REQUIRED', 'attest needs a store opened with a signingKey (or a signer)');
    const label = options.label ?? '';
    checkLabel(label);
    const through = options.through;
    if (through !== undefined && (typeof through !== 'bigint' || through < 0n)) {
      throw BatpakError.invalidArgument('through must be a non-negative bigint', { field: 'through' });
    }
    await this.#p.idle();
    return this.#p.maintenance.shared(async () => {
      const snapshot = this.#p.verifier.committedSnapshot();
      const last = BigInt(snapshot.committed.through);
      if (through !== undefined && through > last) {
        throw BatpakError.invalidArgument(`through ${through} is past the last committed global sequence ${last}`, { field: 'through' });
      }
      return this.#attestSnapshot(signer, snapshot, options, label, through);
    });
  }

  async #attestSnapshot(signer: ReceiptSigner, snapshot: CommittedSnapshot, options: VerifyProgress, label: string, through?: bigint): Promise<HeadAttestation> {
    const last = snapshot.committed.through;
    const stream = new HeadStream(through ?? BigInt(last), this.#p.verifier.trustedRemoved());
    const report = await this.#p.verifier.verifySnapshot(options, stream, snapshot);
    if (!report.intact) {
      throw new BatpakError('ERR_CHAIN_VERIFICATION_FAILED', `refusing to attest a store that does not verify: ${describeReport(report)}`, { details: { report } });
    }
    const c = stream.commitment;
    return signAttestation(signer, { globalSequence: c.globalSequence, eventCount: c.eventCount, head: c.head, attestedAt: BigInt(this.#p.now()), label });
  }

  async snapshot(destDir: string, options: SnapshotOptions): Promise<SnapshotResult> {
    if (typeof destDir !== 'string' || destDir === '') throw BatpakError.invalidArgument('destDir must be a non-empty path', { field: 'destDir' });
    const label = options.label ?? '';
    checkLabel(label);
    // No wait for in-flight appends: the copy is the committed prefix as of now, writers go on.
    // Shared with verifyChain, exclusive with compaction: no segment is swapped or removed mid-copy.
    return this.#p.maintenance.shared(async () => {
      const snap = this.#p.verifier.committedSnapshot();
      const keyset = this.#p.ownKeyset;
      const entries = this.#p.compactionEntries();
      let attestation: HeadAttestation | undefined;
      let bytes = 0;
      for (const s of snap.segments) bytes += s.committedEnd;
      await writeSnapshot({
        fs: this.#p.fs,
        dest: destDir,
        segments: snap.segments,
        compactionLog: entries.length === 0 ? undefined : encodeCompactionLog(entries),
        keyset: keyset === undefined ? undefined : () => keyset.image(),
        signal: options.signal,
        onProgress: options.onProgress,
        check: async (copied, dir) => {
          // 1. The copied bytes hold exactly the committed events of the snapshot (and, signed, attest them).
          const copy = { segments: copied, committed: snap.committed };
          if (this.#p.signer !== undefined) {
            attestation = await this.#attestSnapshot(this.#p.signer, copy, { signal: options.signal }, label);
          } else {
            const report = await this.#p.verifier.verifySnapshot({ signal: options.signal }, undefined, copy);
            if (!report.intact) throw new BatpakError('ERR_CHAIN_VERIFICATION_FAILED', `the snapshot copy does not verify: ${describeReport(report)}`, { details: { report } });
          }
          // 2. The copy opens on its own as that store: a source file another process replaced
          //    mid-copy (a writer's compaction beside a read-only store) cannot publish a broken copy.
          await this.#checkCopyOpens(dir, snap.committed, attestation, options.signal);
        },
      });
      return {
        dir: destDir,
        globalSequence: BigInt(snap.committed.through),
        events: BigInt(snap.committed.count),
        segments: snap.segments.length,
        bytes: BigInt(bytes),
        attestation,
      };
    });
  }

  /** Opens a snapshot copy read-only and checks it is the expected store; ERR_CHAIN_VERIFICATION_FAILED if not. */
  async #checkCopyOpens(dir: string, committed: CommittedSnapshot['committed'], attestation: HeadAttestation | undefined, signal: AbortSignal | undefined): Promise<void> {
    const fail = (why: string, cause?: unknown): never => {
      throw new BatpakError('ERR_CHAIN_VERIFICATION_FAILED', `the snapshot copy ${why}`, cause === undefined ? {} : { cause });
    };
    let copy: OpenedCopy;
    try {
      copy = await this.#p.openCopy(dir);
    } catch (err) {
      return fail(`does not open as a store: ${(err as Error).message}`, err);
    }
    try {
      const last = committed.through;
      if (copy.lastSequence !== BigInt(last) || copy.stats().events !== BigInt(committed.count)) {
        fail(`opens with ${copy.stats().events} events up to ${copy.lastSequence}, not ${committed.count} up to ${last}`);
      }
      const report = await copy.verifyChain({ ...(signal === undefined ? {} : { signal }), ...(attestation === undefined ? {} : { expect: attestation }) });
      if (!report.intact) fail(`opened as a store does not verify: ${describeReport(report)}${report.attestation?.reason === undefined ? '' : ` (${report.attestation.reason})`}`);
    } finally {
      await copy.close();
    }
  }
}
