// Import of a Rust batpak directory into a native store: the plan (what moves, what is skipped, why) and the
// report. Invariant: ids, coordinates, kinds, payload bytes and content hashes cross unchanged, or nothing does.

import { relative, isAbsolute, resolve } from 'node:path';
import type { Coordinate } from '../coordinate.js';
import { blake3 } from '../crypto/blake3.js';
import { BatpakError, ioError } from '../errors.js';
import { bytesEqual, toHex } from '../encoding/hex.js';
import type { Fs } from '../fs/fs.js';
import { RealFs } from '../fs/real.js';
import { formatKind, type EventKind } from '../kind.js';
import { isRustReservedKind } from './format.js';
import { openRustStore, type RustStore } from './store.js';

/** One Rust user event as the native store must receive it: every preserved field, plus where it came from. */
export interface RustImportEvent {
  /** Preserved exactly (32 lowercase hex, big-endian id bytes). */
  readonly eventId: string;
  readonly coordinate: Coordinate;
  readonly kind: EventKind;
  /** The stored payload bytes exactly (Rust's canonical msgpack of the value); never re-encoded. */
  readonly payload: Uint8Array;
  /** blake3(payload): checked by the planner, to be checked again by the target. */
  readonly contentHash: Uint8Array;
  readonly payloadVersion: number;
  /** Rust's `timestamp_us / 1000`. */
  readonly committedAt: bigint;
  /** Receipt extensions Rust persisted with the frame. */
  readonly extensions: ReadonlyMap<string, Uint8Array>;
  /** Provenance, for the report: not something the target must store. */
  readonly source: {
    readonly globalSequence: bigint;
    readonly lane: number;
    readonly depth: number;
    /** Rust's per-(entity, lane) sequence. */
    readonly entitySequence: number;
    readonly prevHash: Uint8Array;
  };
}

/**
 * What a native store must offer for a faithful import (not yet in @batpak/core; see RUST-INTEROP.md):
 * append these events in order with their ids, payload bytes and content hashes as given, and return each
 * committed event's id, new global sequence and content hash.
 */
export interface RustImportTarget {
  importEvents(
    events: readonly RustImportEvent[],
    options?: { readonly signal?: AbortSignal },
  ): Promise<readonly { readonly eventId: string; readonly globalSequence: bigint; readonly contentHash: Uint8Array }[]>;
}

export interface RustImportEntityHead {
  readonly entity: string;
  readonly events: number;
  /** Rust DAG lanes the entity used; more than one means the native per-entity chain links differ from Rust's. */
  readonly lanes: readonly number[];
  readonly headEventId: string;
  readonly headContentHash: string;
  readonly headRustSequence: bigint;
  /** Set after an import: the head's sequence in the native store. */
  readonly headTargetSequence?: bigint;
}

export interface RustImportReport {
  readonly status: 'planned' | 'imported';
  readonly source: {
    readonly dir: string;
    readonly segments: number;
    readonly events: number;
    /** Rust global sequences (0-based) of the first and last event scanned, system events included. */
    readonly firstSequence?: bigint;
    readonly lastSequence?: bigint;
    readonly warnings: readonly string[];
  };
  /** User events to import (planned) or imported. */
  readonly userEvents: number;
  readonly imported: number;
  readonly skipped: {
    /** Category 0x0 (lifecycle, checkpoints, denials, tombstones) and 0xD (effects): store-written. */
    readonly system: number;
    readonly effect: number;
    /** Crypto-shred ciphertext: importing it needs the Rust keyset, which this reader does not read. */
    readonly sealed: number;
    /** Skipped events by kind (`0x0008` style). */
    readonly byKind: Readonly<Record<string, number>>;
  };
  /** First and last Rust sequence among the user events. */
  readonly firstUserSequence?: bigint;
  readonly lastUserSequence?: bigint;
  readonly entities: readonly RustImportEntityHead[];
}

export interface RustImportPlan {
  readonly events: readonly RustImportEvent[];
  readonly report: RustImportReport;
}

export interface RustImportOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (done: number, total: number) => void;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  BatpakError.throwIfAborted(signal, 'the Rust import');
}

/**
 * Reads every user event of an open Rust store and maps it for import. Refuses (ERR_CHAIN_VERIFICATION_FAILED)
 * a source whose chain does not verify: an import must not launder damage into a fresh chain.
 */
export async function planRustImport(source: RustStore, options: RustImportOptions = {}): Promise<RustImportPlan> {
  const { signal, onProgress } = options;
  const chain = await source.verifyChain({ ...(signal === undefined ? {} : { signal }) });
  if (!chain.intact) {
    throw new BatpakError('ERR_CHAIN_VERIFICATION_FAILED', `the Rust store at ${source.dir} does not verify; refusing to import it`, {
      details: {
        contentHashMismatches: chain.contentHashMismatches.length,
        danglingLinks: chain.danglingLinks.length,
        corruptFrames: chain.corruptFrames.length,
        missingEvents: chain.missingEvents.length,
      },
    });
  }
  const stats = source.stats();
  const total = Number(stats.events);
  const events: RustImportEvent[] = [];
  const byKind: Record<string, number> = {};
  let system = 0;
  let effect = 0;
  let sealed = 0;
  let first: bigint | undefined;
  let last: bigint | undefined;
  const heads = new Map<string, { events: number; lanes: Set<number>; head: RustImportEvent }>();
  let done = 0;
  for await (const stored of source.query({ ...(signal === undefined ? {} : { signal }) })) {
    throwIfAborted(signal);
    const id = stored.header.eventId;
    const info = source.rustEvent(id);
    first ??= stored.header.globalSequence;
    last = stored.header.globalSequence;
    const skip = (why: 'system' | 'effect' | 'sealed'): void => {
      const k = formatKind(stored.header.kind);
      byKind[k] = (byKind[k] ?? 0) + 1;
      if (why === 'system') system++;
      else if (why === 'effect') effect++;
      else sealed++;
    };
    if (isRustReservedKind(info.kindRaw)) {
      skip(info.kindRaw >>> 12 === 0xd ? 'effect' : 'system');
    } else if (stored.header.encrypted) {
      skip('sealed');
    } else {
      const raw = await source.getRaw(id);
      // verifyChain proved this already; checked again because the file is not ours and may change under us.
      if (!bytesEqual(blake3(raw.bytes), info.eventHash)) {
        throw new BatpakError('ERR_CHAIN_VERIFICATION_FAILED', `event ${id} changed on disk while planning the import`, { details: { eventId: id } });
      }
      const ev: RustImportEvent = {
        eventId: id,
        coordinate: stored.coordinate,
        kind: stored.header.kind,
        payload: raw.bytes,
        contentHash: info.eventHash,
        payloadVersion: stored.header.payloadVersion,
        committedAt: stored.header.committedAt,
        extensions: info.receiptExtensions,
        source: {
          globalSequence: info.globalSequence,
          lane: info.header.position.lane,
          depth: info.header.position.depth,
          entitySequence: info.header.position.sequence,
          prevHash: info.prevHash,
        },
      };
      events.push(ev);
      const h = heads.get(ev.coordinate.entity);
      if (h === undefined) heads.set(ev.coordinate.entity, { events: 1, lanes: new Set([ev.source.lane]), head: ev });
      else {
        h.events++;
        h.lanes.add(ev.source.lane);
        h.head = ev;
      }
    }
    onProgress?.(++done, total);
  }
  const userFirst = events[0]?.source.globalSequence;
  const userLast = events[events.length - 1]?.source.globalSequence;
  const report: RustImportReport = {
    status: 'planned',
    source: {
      dir: source.dir,
      segments: stats.segments,
      events: total,
      ...(first === undefined ? {} : { firstSequence: first }),
      ...(last === undefined ? {} : { lastSequence: last }),
      warnings: [...source.warnings],
    },
    userEvents: events.length,
    imported: 0,
    skipped: { system, effect, sealed, byKind },
    ...(userFirst === undefined ? {} : { firstUserSequence: userFirst }),
    ...(userLast === undefined ? {} : { lastUserSequence: userLast }),
    entities: [...heads]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([entity, h]) => ({
        entity,
        events: h.events,
        lanes: [...h.lanes].sort((a, b) => a - b),
        headEventId: h.head.eventId,
        headContentHash: toHex(h.head.contentHash),
        headRustSequence: h.head.source.globalSequence,
      })),
  };
  return { events, report };
}

/** The report as plain JSON: bigints as decimal strings. */
export function rustImportReportToJSON(report: RustImportReport): string {
  return JSON.stringify(report, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2);
}

function isInside(parent: string, child: string): boolean {
  const rel = relative(resolve(parent), resolve(child));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

export interface ImportRustStoreOptions extends RustImportOptions {
  /** Filesystem of the Rust directory (and of `reportFile`); default RealFs. */
  readonly fs?: Fs;
  /** Writes the report here (atomically) after the import; must not be inside the Rust directory. */
  readonly reportFile?: string;
  /** Events per importEvents call. Default 1024. */
  readonly chunk?: number;
}

/**
 * Copies the user events of the Rust directory `rustDir` into `target`, preserving ids, coordinates, kinds,
 * payload bytes and content hashes, and returns (and optionally writes) the import report.
 * A native `Store` is a target (`Store.importEvents`), as is anything with the same method.
 */
export async function importRustStore(rustDir: string, target: RustImportTarget, options: ImportRustStoreOptions = {}): Promise<RustImportReport> {
  if (typeof (target as { importEvents?: unknown } | null)?.importEvents !== 'function') {
    throw BatpakError.invalidArgument(
      'importRustStore: the target has no importEvents() (a @batpak/core Store has one); use planRustImport for a dry run',
      { field: 'target' },
    );
  }
  if (options.reportFile !== undefined && isInside(rustDir, options.reportFile)) {
    throw BatpakError.invalidArgument('reportFile must not be inside the Rust directory (the import never writes there)', { field: 'reportFile' });
  }
  const chunk = options.chunk ?? 1024;
  if (!Number.isSafeInteger(chunk) || chunk < 1) throw BatpakError.invalidArgument('chunk must be a positive integer', { field: 'chunk' });
  const fs = options.fs ?? new RealFs();
  const source = await openRustStore(rustDir, { fs, ...(options.signal === undefined ? {} : { signal: options.signal }) });
  try {
    const plan = await planRustImport(source, { ...(options.signal === undefined ? {} : { signal: options.signal }) });
    const committed = new Map<string, bigint>();
    for (let i = 0; i < plan.events.length; i += chunk) {
      throwIfAborted(options.signal);
      const slice = plan.events.slice(i, i + chunk);
      const results = await target.importEvents(slice, { ...(options.signal === undefined ? {} : { signal: options.signal }) });
      if (results.length !== slice.length) {
        throw new BatpakError('ERR_WRITER_FAILED', `importEvents returned ${results.length} results for ${slice.length} events`);
      }
      results.forEach((r, j) => {
        const ev = slice[j]!;
        // The whole point of the import: same id, same content hash, or the target broke the contract.
        if (r.eventId !== ev.eventId || !bytesEqual(r.contentHash, ev.contentHash)) {
          throw new BatpakError('ERR_WRITER_FAILED', `importEvents changed event ${ev.eventId} (id or content hash differs)`, { details: { eventId: ev.eventId } });
        }
        committed.set(r.eventId, r.globalSequence);
      });
      options.onProgress?.(Math.min(i + chunk, plan.events.length), plan.events.length);
    }
    const report: RustImportReport = {
      ...plan.report,
      status: 'imported',
      imported: committed.size,
      entities: plan.report.entities.map((e) => {
        const seq = committed.get(e.headEventId);
        return seq === undefined ? e : { ...e, headTargetSequence: seq };
      }),
    };
    if (options.reportFile !== undefined) {
      try {
        await fs.writeFileAtomic(options.reportFile, new TextEncoder().encode(rustImportReportToJSON(report)));
      } catch (err) {
        throw ioError(err, `cannot write the import report ${options.reportFile}`, { file: options.reportFile });
      }
    }
    return report;
  } finally {
    await source.close();
  }
}
