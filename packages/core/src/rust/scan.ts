// Cold scan of a Rust data directory into an in-memory index: segments in ascending id, batch state carried
// across them, global sequences synthesized in commit order (0-based) or taken from a trusted SDX3 footer.

import { join } from 'node:path';
import { validateCoordinate } from '../coordinate.js';
import { BatpakError, ioError, isBatpakError } from '../errors.js';
import { bytesEqual, toHex } from '../encoding/hex.js';
import type { Fs } from '../fs/fs.js';
import { RustBatchState } from './batch.js';
import { parseRustSegmentName, RUST_COMPACTION_MARKERS, RUST_VISIBILITY_RANGES, rustCorrupt, RustKinds } from './format.js';
import type { RustHashChain } from './frame.js';
import type { RustEventHeader } from './header.js';
import { readPrefix } from '../segment/read.js';
import { resolveRustSegment, type RustScannedFrame, type RustSegmentRegion, type RustTornTail, type RustTruncationEvidence } from './recovery.js';
import { readRustSegmentHead, type RustSegmentHeader } from './segment.js';
import { checkRustSidecars, type RustSidecarPolicy } from './sidecars.js';
import type { SidxEntry } from './sidx.js';

/** One committed Rust event as indexed: everything but the payload, and where its frame is. */
export interface RustIndexEntry {
  /** 32 lowercase hex characters of the 16 big-endian id bytes. */
  readonly eventId: string;
  readonly idBytes: Uint8Array;
  /** 0-based, as Rust numbers them; from a trusted SDX3 footer or synthesized in commit order. */
  readonly globalSequence: bigint;
  readonly sequenceSource: 'scan' | 'sidx';
  readonly header: RustEventHeader;
  readonly entity: string;
  readonly scope: string;
  readonly hashChain: RustHashChain;
  readonly extensions: ReadonlyMap<string, Uint8Array>;
  readonly segmentId: bigint;
  readonly file: string;
  readonly offset: number;
  /** 8 + body length. */
  readonly length: number;
  /** Set for items published by a BEGIN/COMMIT batch. */
  readonly batch: { readonly first: bigint; readonly index: number; readonly count: number } | undefined;
}

export type RustFooterKind = 'none' | 'SDX2' | 'SDX3';

export interface RustSegmentInfo {
  readonly id: bigint;
  readonly file: string;
  readonly bytes: number;
  /** Undefined only for a newest segment that ends inside its own head (created, never completed). */
  readonly header: RustSegmentHeader | undefined;
  readonly footer: RustFooterKind;
  /** A CRC-valid SDX3 footer: the only kind whose numbers are used. */
  readonly footerTrusted: boolean;
  readonly framesEnd: number;
  /** Frames in the region, batch markers included. */
  readonly frames: number;
  readonly sequenceSource: 'scan' | 'sidx';
  readonly tornTail: RustTornTail | undefined;
  readonly truncationEvidence: RustTruncationEvidence | undefined;
}

export interface RustScanResult {
  /** Ascending global sequence. */
  readonly entries: readonly RustIndexEntry[];
  readonly segments: readonly RustSegmentInfo[];
  /** What Rust would log as warnings: discarded batches, stray markers, torn tails, duplicate ids. */
  readonly warnings: readonly string[];
}

export interface RustScanOptions {
  readonly fs: Fs;
  readonly dir: string;
  readonly signal?: AbortSignal | undefined;
  /** What a damaged store.meta or a future-version sidecar does (default 'refuse', as Rust). */
  readonly sidecars?: RustSidecarPolicy | undefined;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  BatpakError.throwIfAborted(signal, 'opening the Rust store');
}

/** Lists `{id}.fbat` segments ascending; refuses a directory Rust itself would refuse to open read-only. */
async function listSegments(fs: Fs, dir: string, warnings: string[], sidecars: RustSidecarPolicy): Promise<{ id: bigint; file: string }[]> {
  const st = await fs.stat(dir).catch((err: unknown) => {
    throw ioError(err, `cannot stat ${dir}`, { file: dir });
  });
  if (st === null || !st.isDirectory) throw BatpakError.notFound(`no Rust data directory at ${dir}`, { file: dir });
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    throw ioError(err, `cannot list ${dir}`, { file: dir });
  }
  for (const marker of RUST_COMPACTION_MARKERS) {
    if (names.includes(marker)) {
      throw new BatpakError(
        'ERR_COMPACTION_RECOVERY_REFUSED',
        `${join(dir, marker)} exists: a Rust compaction is in flight; open the store with Rust batpak once to finish it`,
        { details: { file: join(dir, marker) } },
      );
    }
  }
  await checkRustSidecars(fs, dir, names, sidecars, warnings);
  if (names.includes(RUST_VISIBILITY_RANGES)) {
    // Rust hides events inside cancelled visibility-fence ranges; this reader does not read that file yet.
    warnings.push(`${join(dir, RUST_VISIBILITY_RANGES)} exists and is not applied: events Rust hides as cancelled may be listed`);
  }
  const segments: { id: bigint; file: string }[] = [];
  const seen = new Map<bigint, string>();
  for (const name of names) {
    const id = parseRustSegmentName(name);
    if (id === undefined) continue; // index.ckpt, index.fbati (judged above, never read), keyset.fbatk, .batpak.lock, ...
    const other = seen.get(id);
    if (other !== undefined) throw rustCorrupt(join(dir, name), 0, `segment id ${id} is also used by ${other}`);
    seen.set(id, name);
    segments.push({ id, file: join(dir, name) });
  }
  segments.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return segments;
}

/** A trusted footer is used for sequences only where Rust's SIDX fast path would use it. */
function footerSequences(region: RustSegmentRegion, batchOpen: boolean): Map<number, SidxEntry> | undefined {
  const footer = region.footer;
  if (footer === undefined || !footer.trusted || batchOpen) return undefined;
  let maxTail = 0n;
  for (const e of footer.entries) {
    const tail = e.frameOffset + BigInt(e.frameLength);
    if (tail > maxTail) maxTail = tail;
  }
  if (maxTail !== footer.stringTableOffset) return undefined;
  const byOffset = new Map<number, SidxEntry>();
  for (const e of footer.entries) byOffset.set(Number(e.frameOffset), e);
  return byOffset;
}

interface Pending {
  readonly frame: RustScannedFrame;
  readonly segmentId: bigint;
  readonly file: string;
}

export async function scanRustDirectory(options: RustScanOptions): Promise<RustScanResult> {
  const { fs, dir, signal } = options;
  throwIfAborted(signal);
  const warnings: string[] = [];
  const list = await listSegments(fs, dir, warnings, options.sidecars ?? 'refuse');
  const segments: RustSegmentInfo[] = [];
  const entries: RustIndexEntry[] = [];
  const byId = new Set<string>();
  const usedSequences = new Set<bigint>();
  const batch = new RustBatchState<Pending>();
  let maxSeen = -1n;

  for (let i = 0; i < list.length; i++) {
    throwIfAborted(signal);
    const { id, file } = list[i]!;
    const newest = i === list.length - 1;
    const bytes = await readPrefix(fs, file);
    const head = readRustSegmentHead(bytes);
    if (!head.ok) {
      if (newest && head.incomplete) {
        // Rust creates a segment, then fsyncs its head; a crash in between leaves a head with nothing after it.
        warnings.push(`${file}: newest segment ends inside its head (${bytes.length} bytes); it holds no events`);
        segments.push({
          id, file, bytes: bytes.length, header: undefined, footer: 'none', footerTrusted: false, framesEnd: bytes.length,
          frames: 0, sequenceSource: 'scan', tornTail: { offset: 0, bytes: bytes.length, reason: head.reason }, truncationEvidence: undefined,
        });
        continue;
      }
      throw rustCorrupt(file, head.offset, head.reason);
    }
    const region = resolveRustSegment(file, bytes, head.framesStart, newest ? 'recover-torn-tail' : 'fail-closed');
    if (region.tornTail !== undefined) warnings.push(`${file}: torn tail of ${region.tornTail.bytes} bytes at offset ${region.tornTail.offset} ignored (${region.tornTail.reason})`);
    if (region.truncationEvidence !== undefined) {
      warnings.push(
        `${file}: valid frames end at ${region.truncationEvidence.recoveredEnd} but the untrusted footer claims ${region.truncationEvidence.footerClaimedEnd}`,
      );
    }
    if (region.footer !== undefined && !region.footer.trusted && region.footer.distrust !== undefined) {
      warnings.push(`${file}: SDX3 footer not trusted (${region.footer.distrust}); frames were CRC-scanned instead`);
    }
    const fromFooter = footerSequences(region, batch.inBatch);
    const published: { p: Pending; batchOf: { index: number; count: number } | undefined }[] = [];

    for (const frame of region.frames) {
      const h = frame.body.header;
      const kind = h.eventKind;
      const marker = kind === RustKinds.SYSTEM_BATCH_BEGIN || kind === RustKinds.SYSTEM_BATCH_COMMIT;
      if (kind === RustKinds.SYSTEM_BATCH_BEGIN) {
        const bad = RustBatchState.invalidCount(h.payloadSize);
        if (bad !== undefined) throw rustCorrupt(file, frame.offset, bad);
      }
      if (!marker) {
        if (frame.body.hashChain === undefined) throw rustCorrupt(file, frame.offset, 'event frame has no hash_chain', { eventId: toHex(h.eventId) });
        try {
          validateCoordinate(frame.body.entity, frame.body.scope);
        } catch (err) {
          if (!isBatpakError(err)) throw err;
          throw rustCorrupt(file, frame.offset, `frame coordinate is invalid: ${err.message}`, { eventId: toHex(h.eventId), cause: err });
        }
      }
      const step = batch.step(kind, h.payloadSize, { frame, segmentId: id, file });
      if (step.warning !== undefined) warnings.push(`${file} offset ${frame.offset}: ${step.warning}`);
      for (const p of step.publish) published.push({ p, batchOf: step.batchOf?.get(p) });
    }

    if (fromFooter !== undefined) {
      // A trusted footer and the CRC-valid frames must tell the same story; a disagreement is tampering.
      const offsets = new Set(published.map(({ p }) => p.frame.offset));
      const disagree =
        fromFooter.size !== published.length ||
        published.some(({ p }) => {
          const e = fromFooter.get(p.frame.offset);
          return e === undefined || !bytesEqual(e.eventId, p.frame.body.header.eventId) || e.frameLength !== p.frame.length;
        }) ||
        [...fromFooter.keys()].some((o) => !offsets.has(o));
      if (disagree) throw rustCorrupt(file, Number(region.footer!.stringTableOffset), 'the trusted SDX3 footer does not match the committed frames');
    }

    let firstOfBatch: bigint | undefined;
    for (const { p, batchOf } of published) {
      const f = p.frame;
      const h = f.body.header;
      const sidx = fromFooter?.get(f.offset);
      const seq = sidx === undefined ? maxSeen + 1n : sidx.globalSequence;
      if (usedSequences.has(seq)) throw rustCorrupt(file, f.offset, `global sequence ${seq} is used twice`, { eventId: toHex(h.eventId) });
      usedSequences.add(seq);
      if (seq > maxSeen) maxSeen = seq;
      if (batchOf !== undefined && batchOf.index === 0) firstOfBatch = seq;
      const eventId = toHex(h.eventId);
      if (byId.has(eventId)) {
        warnings.push(`${file} offset ${f.offset}: event ${eventId} appears again; the first copy is kept`);
        continue;
      }
      byId.add(eventId);
      entries.push({
        eventId,
        idBytes: h.eventId,
        globalSequence: seq,
        sequenceSource: sidx === undefined ? 'scan' : 'sidx',
        header: h,
        entity: f.body.entity,
        scope: f.body.scope,
        hashChain: f.body.hashChain!,
        extensions: f.body.receiptExtensions,
        segmentId: p.segmentId,
        file: p.file,
        offset: f.offset,
        length: f.length,
        batch: batchOf === undefined ? undefined : { first: firstOfBatch ?? seq, index: batchOf.index, count: batchOf.count },
      });
    }

    const footer = region.footer;
    segments.push({
      id,
      file,
      bytes: bytes.length,
      header: head.header,
      footer: footer === undefined ? 'none' : footer.magic,
      footerTrusted: footer?.trusted === true,
      framesEnd: region.framesEnd,
      frames: region.frames.length,
      sequenceSource: fromFooter === undefined ? 'scan' : 'sidx',
      tornTail: region.tornTail,
      truncationEvidence: region.truncationEvidence,
    });
  }
  const open = batch.finish();
  if (open !== undefined) warnings.push(open);
  entries.sort((a, b) => (a.globalSequence < b.globalSequence ? -1 : a.globalSequence > b.globalSequence ? 1 : 0));
  return { entries, segments, warnings };
}
