// Online snapshot: copies a consistent committed prefix of a live store into a new directory. Crash-safe
// (INV-SNAPSHOT-ATOMIC): built under `<dest>.snapshot-partial`, every file fsynced, then renamed to `dest`
// in one step — after a crash at any point `dest` is either absent or a complete, verifiable store.

import { basename, dirname, join } from 'node:path';
import { BatpakError, ioError } from '../errors.js';
import type { Fs, FsFile } from '../fs/fs.js';
import { COMPACTION_LOG_FILE } from '../compaction/log.js';
import { KEYSET_FILE } from '../keyset/keystore.js';
import { segmentFileName } from '../segment/format.js';
import type { HeadAttestation } from '../attest/statement.js';

/** Suffix of the directory a snapshot is built in before it is published under its name. */
export const SNAPSHOT_PARTIAL_SUFFIX = '.snapshot-partial';
const COPY_WINDOW_BYTES = 4 * 1024 * 1024;

export interface SnapshotOptions {
  readonly signal?: AbortSignal;
  /** Bytes copied so far out of the bytes to copy; called after each window and at the end. */
  readonly onProgress?: (doneBytes: number, totalBytes: number) => void;
  /** Label of the returned attestation (see `store.attest`). */
  readonly label?: string;
}

/** What `store.snapshot` copied. */
export interface SnapshotResult {
  readonly dir: string;
  /** Global sequence of the last event in the copy (0n: empty). */
  readonly globalSequence: bigint;
  /** Committed events in the copy. */
  readonly events: bigint;
  readonly segments: number;
  readonly bytes: bigint;
  /** An attestation of exactly what the copy holds; undefined for a store without a signing key. */
  readonly attestation: HeadAttestation | undefined;
}

export interface SnapshotSource {
  readonly id: number;
  readonly path: string;
  /** Committed length when the snapshot was taken: later appends are not copied. */
  readonly committedEnd: number;
}

export interface SnapshotPlan {
  readonly fs: Fs;
  readonly dest: string;
  readonly segments: readonly SnapshotSource[];
  /** compaction.log's image (undefined: no compaction ever committed). */
  readonly compactionLog: Uint8Array | undefined;
  /** The keyset image, read after the copy so a scope shredded meanwhile stays shredded. */
  readonly keyset: (() => Uint8Array) | undefined;
  /** Verifies the copy (its segments, and `dir` opened as a store); throws when it is not intact. Runs before publishing. */
  readonly check: (copied: readonly SnapshotSource[], dir: string) => Promise<void>;
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((doneBytes: number, totalBytes: number) => void) | undefined;
}

async function exists(fs: Fs, path: string): Promise<boolean> {
  try {
    return (await fs.stat(path)) !== null;
  } catch (err) {
    throw ioError(err, `cannot stat ${path}`, { file: path });
  }
}

/** Empties (or creates) the partial directory a crashed snapshot may have left. */
async function freshPartial(fs: Fs, partial: string): Promise<void> {
  try {
    const st = await fs.stat(partial);
    if (st === null) {
      await fs.mkdir(partial, { recursive: true });
      return;
    }
    if (!st.isDirectory) throw BatpakError.invalidArgument(`${partial} exists and is not a directory`, { file: partial });
    for (const name of await fs.readdir(partial)) await fs.remove(join(partial, name));
    await fs.syncDir(partial);
  } catch (err) {
    throw ioError(err, `cannot prepare ${partial}`, { file: partial });
  }
}

async function writeWhole(fs: Fs, path: string, data: Uint8Array): Promise<void> {
  const f = await fs.open(path, { create: true, exclusive: true });
  try {
    await f.append([data]);
    await f.fsync();
  } finally {
    await f.close();
  }
}

async function copySegment(fs: Fs, src: SnapshotSource, to: string, step: (bytes: number) => void, signal: AbortSignal | undefined): Promise<void> {
  let from: FsFile | undefined;
  let out: FsFile | undefined;
  try {
    from = await fs.open(src.path);
    out = await fs.open(to, { create: true, exclusive: true });
    for (let at = 0; at < src.committedEnd; ) {
      BatpakError.throwIfAborted(signal, 'snapshot');
      const want = Math.min(COPY_WINDOW_BYTES, src.committedEnd - at);
      const bytes = await from.readAt(at, want);
      if (bytes.length !== want) throw new BatpakError('ERR_IO', `short read of ${src.path} at ${at}: the segment is shorter than its committed length`, { details: { file: src.path, offset: at } });
      await out.append([bytes]);
      at += want;
      step(want);
    }
    await out.fsync();
  } finally {
    await from?.close().catch(() => undefined);
    await out?.close().catch(() => undefined);
  }
}

/** Builds the copy and publishes it under `dest`; ERR_INVALID_ARGUMENT when `dest` already exists. */
export async function writeSnapshot(plan: SnapshotPlan): Promise<void> {
  const { fs, dest, signal } = plan;
  const partial = `${dest}${SNAPSHOT_PARTIAL_SUFFIX}`;
  const parent = dirname(dest);
  if (await exists(fs, dest)) throw BatpakError.invalidArgument(`snapshot destination ${dest} already exists`, { field: 'destDir', file: dest });
  BatpakError.throwIfAborted(signal, 'snapshot');
  await freshPartial(fs, partial);
  const total = plan.segments.reduce((n, s) => n + s.committedEnd, 0);
  let done = 0;
  const step = (bytes: number) => {
    done += bytes;
    plan.onProgress?.(done, total);
  };
  const copied: SnapshotSource[] = [];
  try {
    for (const s of plan.segments) {
      const to = join(partial, segmentFileName(s.id));
      await copySegment(fs, s, to, step, signal);
      copied.push({ id: s.id, path: to, committedEnd: s.committedEnd });
    }
    if (plan.compactionLog !== undefined) await writeWhole(fs, join(partial, COMPACTION_LOG_FILE), plan.compactionLog);
    if (plan.keyset !== undefined) {
      const image = plan.keyset();
      try {
        await writeWhole(fs, join(partial, KEYSET_FILE), image);
      } finally {
        image.fill(0);
      }
    }
    await fs.syncDir(partial);
    BatpakError.throwIfAborted(signal, 'snapshot');
    await plan.check(copied, partial);
    // The publishing step: one rename, then the parent's entry made durable.
    if (await exists(fs, dest)) throw BatpakError.invalidArgument(`snapshot destination ${dest} already exists`, { field: 'destDir', file: dest });
    await fs.rename(partial, dest);
    await fs.syncDir(parent);
  } catch (err) {
    throw ioError(err, `snapshot to ${dest} (${basename(partial)} left behind)`, { file: dest });
  }
  plan.onProgress?.(done, total);
}
