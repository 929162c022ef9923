// verifyChain over a Rust store: re-reads every indexed frame from disk, recomputes blake3 of the stored
// payload, and checks every prev_hash link per (entity, lane). Invariant: damage lands in the report, named.

import { blake3 } from '../crypto/blake3.js';
import { BatpakError } from '../errors.js';
import { bytesEqual, toHex } from '../encoding/hex.js';
import type { Fs } from '../fs/fs.js';
import type { ChainVerificationReport, CorruptFrameReport } from '../types.js';
import { ChainHeads, chainReport, isZeroHash } from '../chain/links.js';
import { decodeRustFrameBody, describeProbe, probeFrame } from './frame.js';
import { readPrefix } from '../segment/read.js';
import type { RustIndexEntry } from './scan.js';

const PROGRESS_EVERY = 4096;

/**
 * `predecessor` (default): each prev_hash must be the event hash of the immediately preceding event of the
 * same (entity, lane), zeros for the first — what our own verifyChain checks per entity.
 * `rust`: Rust's own rule (its store's `verify_chain`): a non-zero prev_hash must equal the hash of *some*
 * verified event. Weaker (it misses reordering and a rewritten parent with a matching twin); offered for parity.
 */
export type RustLinkRule = 'predecessor' | 'rust';

export interface RustVerifyInput {
  readonly fs: Fs;
  readonly entries: readonly RustIndexEntry[];
  readonly links: RustLinkRule;
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((done: number, total: number) => void) | undefined;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  BatpakError.throwIfAborted(signal, 'verifyChain');
}

export async function verifyRustChain(input: RustVerifyInput): Promise<ChainVerificationReport> {
  const { entries, signal, onProgress } = input;
  const total = entries.length;
  const contentHashMismatches: string[] = [];
  const corruptFrames: CorruptFrameReport[] = [];
  const missingEvents: string[] = [];
  /** Hashes of events whose stored payload hashes to their recorded event hash (Rust's verified set). */
  const verifiedHashes = new Set<string>();

  const byFile = new Map<string, RustIndexEntry[]>();
  for (const e of entries) {
    const list = byFile.get(e.file);
    if (list === undefined) byFile.set(e.file, [e]);
    else list.push(e);
  }
  let done = 0;
  for (const [file, list] of byFile) {
    throwIfAborted(signal);
    // A segment that vanished since open: its events are missing, not an I/O failure of the whole check.
    const st = await input.fs.stat(file);
    const bytes = st === null ? new Uint8Array(0) : await readPrefix(input.fs, file);
    for (const e of list) {
      if (e.offset + e.length > bytes.length) {
        missingEvents.push(e.eventId);
        continue;
      }
      const probe = probeFrame(bytes, e.offset, e.offset + e.length);
      if (probe.kind !== 'frame' || probe.length !== e.length) {
        corruptFrames.push({ file, offset: e.offset, reason: probe.kind === 'frame' ? 'frame length changed' : describeProbe(probe), eventId: e.eventId });
        continue;
      }
      let body;
      try {
        body = decodeRustFrameBody(probe.body);
      } catch (err) {
        corruptFrames.push({ file, offset: e.offset, reason: `frame does not decode: ${(err as Error).message}`, eventId: e.eventId });
        continue;
      }
      if (!bytesEqual(body.header.eventId, e.idBytes)) {
        corruptFrames.push({ file, offset: e.offset, reason: `frame now holds event ${toHex(body.header.eventId)}`, eventId: e.eventId });
        continue;
      }
      const recomputed = blake3(body.payload);
      // Rust compares with the index's event_hash; the header keeps a copy that must agree too.
      const headerAgrees = !body.header.wire.contentHash || bytesEqual(body.header.contentHash, e.hashChain.eventHash);
      if (bytesEqual(recomputed, e.hashChain.eventHash) && headerAgrees) {
        verifiedHashes.add(toHex(e.hashChain.eventHash));
      } else {
        contentHashMismatches.push(e.eventId);
      }
      if (++done % PROGRESS_EVERY === 0) {
        onProgress?.(done, total);
        throwIfAborted(signal);
        await new Promise<void>((r) => setImmediate(r));
      }
    }
  }

  const danglingLinks: string[] = [];
  if (input.links === 'rust') {
    for (const e of entries) {
      if (!isZeroHash(e.hashChain.prevHash) && !verifiedHashes.has(toHex(e.hashChain.prevHash))) danglingLinks.push(e.eventId);
    }
  } else {
    // A Rust chain is one (entity, lane): its writer links each event to the lane's previous one.
    const heads = new ChainHeads();
    for (const e of entries) {
      if (!heads.follow(`${e.header.position.lane}\u0000${e.entity}`, e.hashChain.prevHash, e.hashChain.eventHash)) danglingLinks.push(e.eventId);
    }
  }
  onProgress?.(total, total);
  // Rust keeps no compaction record of pruned hashes and persists no signatures: no gaps, nothing signed.
  return chainReport({ eventsChecked: total - missingEvents.length, contentHashMismatches, danglingLinks, corruptFrames, missingEvents });
}
