// `batpak inspect <dir>`: what is in a store — segments, sizes, events, entities, kinds, keys (counted, never shown), format version, last sequence.
// Our stores and Rust batpak directories alike: one command opens either as an EventLog (openLog); each format's report then adds what only
// its segments record (our seals and damaged frames, read from the files; a Rust segment's footer, trust and torn tail, from core's Rust reader).
// Invariant: read-only and lock-free; no key byte is ever read into the report (our keyset is only counted, Rust's keyset.fbatk never read).

import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { FORMAT_VERSION, type Store } from '@batpak/core';
import type { RustSegmentInfo, RustStore } from '@batpak/core/rust';
import { dirArgument } from '../args.js';
import { formatBytes } from '../bytes.js';
import { entitiesLine, kindsLine, kindTallies, topEntities, type EntityTally, type KindTally } from '../tallies.js';
import { JSON_FLAG, toJson, writeAll, type Command, type CommandContext } from '../command.js';
import { EXIT, type ExitCode } from '../exit.js';
import { KEYSET_FILE_NAME, peekKeyset } from '../keyset-file.js';
import { formatOf, refuseNativeOnlyFlags } from '../rust-dir.js';
import { listSegmentFiles, scanSegmentFile } from '../segments.js';
import { ENCRYPTION_FLAGS, encryptionOf, openLog, requireStoreDir, storeAccess, type StoreAccess } from '../store-open.js';

interface SegmentInfo {
  readonly file: string;
  readonly bytes: number;
  readonly formatVersion: number | null;
  readonly createdAt: string | null;
  readonly events: number;
  /** Signed commit groups (seal frames). */
  readonly seals: number;
  readonly damagedFrames: number;
}

export interface InspectReport {
  readonly command: 'inspect';
  readonly dir: string;
  readonly format: 'native';
  readonly formatVersions: readonly number[];
  readonly libraryFormatVersion: number;
  readonly events: string;
  readonly lastSequence: string;
  readonly bytes: string;
  readonly segments: readonly SegmentInfo[];
  readonly entities: number;
  readonly topEntities: readonly EntityTally[];
  readonly kinds: readonly KindTally[];
  readonly signedGroups: number;
  readonly encryption: { granularity: string; liveKeys: number; destroyedKeys: number | null } | null;
}

/** One Rust segment file as the reader scanned it. */
export interface RustSegmentReport {
  readonly file: string;
  readonly bytes: number;
  readonly formatVersion: number | null;
  readonly createdAt: string | null;
  /** Committed events indexed from this file (batch markers are not events). */
  readonly events: number;
  /** Frames in the accepted region, batch markers included. */
  readonly frames: number;
  /** `none`, `SDX2` or `SDX3`; only a CRC-valid SDX3 footer is trusted (RUST-INTEROP.md). */
  readonly footer: RustSegmentInfo['footer'];
  readonly footerTrusted: boolean;
  /** Where the global sequences came from: synthesized in scan order, or a trusted SDX3 footer. */
  readonly sequenceSource: 'scan' | 'sidx';
  readonly tornTail: { readonly offset: number; readonly bytes: number; readonly reason: string } | null;
  readonly truncationEvidence: { readonly recoveredEnd: number; readonly footerClaimedEnd: bigint } | null;
}

export interface RustInspectReport {
  readonly command: 'inspect';
  readonly dir: string;
  readonly format: 'rust-batpak';
  /** Segment header versions on disk. */
  readonly formatVersions: readonly number[];
  readonly events: string;
  /** Written by the application, and by Rust itself (kind categories 0x0 and 0xD). */
  readonly userEvents: string;
  readonly systemEvents: string;
  /** Crypto-shred ciphertext (the Rust keyset is not read). */
  readonly sealedEvents: number;
  /** Rust's sequences are 0-based: null when there are no events. */
  readonly lastSequence: string | null;
  readonly bytes: string;
  readonly segments: readonly RustSegmentReport[];
  readonly entities: number;
  readonly topEntities: readonly EntityTally[];
  readonly kinds: readonly KindTally[];
  /** Whether keyset.fbatk exists (its keys are never read, counted or shown). */
  readonly keyset: boolean;
  /** What Rust would log while recovering: discarded batches, stray markers, torn tails. */
  readonly warnings: readonly string[];
}

function isoFromNs(ns: bigint): string | null {
  const ms = Number(ns / 1_000_000n);
  const d = new Date(ms);
  return Number.isFinite(d.getTime()) && ms > 0 ? d.toISOString() : null;
}

function humanNative(r: InspectReport): string {
  const enc =
    r.encryption === null
      ? 'off'
      : `on (granularity ${r.encryption.granularity}): ${r.encryption.liveKeys} live keys${r.encryption.destroyedKeys === null ? '' : `, ${r.encryption.destroyedKeys} destroyed (shredded)`}`;
  const lines = [
    `store       ${r.dir}`,
    `format      version ${r.formatVersions.join(', ') || '-'} on disk (this batpak writes ${r.libraryFormatVersion})`,
    `events      ${r.events} (last sequence ${r.lastSequence})`,
    `segments    ${r.segments.length}, ${formatBytes(Number(r.bytes))}`,
    ...r.segments.map(
      (s) =>
        `  ${s.file}  ${formatBytes(s.bytes).padStart(10)}  ${String(s.events).padStart(8)} events  ${String(s.seals).padStart(6)} seals` +
        `${s.damagedFrames > 0 ? `  ${s.damagedFrames} DAMAGED frames` : ''}${s.createdAt === null ? '' : `  created ${s.createdAt}`}`,
    ),
    `entities    ${entitiesLine(r.entities, r.topEntities)}`,
    `kinds       ${kindsLine(r.kinds)}`,
    `signing     ${r.signedGroups > 0 ? `${r.signedGroups} signed commit groups` : 'no signed commit groups'}`,
    `encryption  ${enc}`,
  ];
  return `${lines.join('\n')}\n`;
}

/** The text form: the same layout as for our stores, plus what only a Rust segment has (footer, trust, torn tail). */
function humanRust(r: RustInspectReport): string {
  const lines = [
    `store       ${r.dir} (Rust batpak data directory, read-only)`,
    `format      Rust segment version ${r.formatVersions.join(', ') || '-'}`,
    `events      ${r.events}: ${r.userEvents} user, ${r.systemEvents} written by Rust (last sequence ${r.lastSequence ?? '-'}, 0-based)`,
    `segments    ${r.segments.length}, ${formatBytes(Number(r.bytes))}`,
    ...r.segments.map((s) => {
      const footer = s.footer === 'none' ? 'no footer' : `${s.footer} footer ${s.footerTrusted ? 'trusted' : 'untrusted'}`;
      const notes = [
        s.tornTail === null ? undefined : `torn tail ${s.tornTail.bytes} B at ${s.tornTail.offset}`,
        s.truncationEvidence === null ? undefined : `footer claims frames up to ${s.truncationEvidence.footerClaimedEnd}, recovered to ${s.truncationEvidence.recoveredEnd}`,
        s.createdAt === null ? undefined : `created ${s.createdAt}`,
      ].filter((x) => x !== undefined);
      return `  ${s.file}  ${formatBytes(s.bytes).padStart(10)}  ${String(s.events).padStart(8)} events  ${footer}, sequences from ${s.sequenceSource}${notes.length > 0 ? `  ${notes.join(', ')}` : ''}`;
    }),
    `entities    ${entitiesLine(r.entities, r.topEntities)}`,
    `kinds       ${kindsLine(r.kinds)}`,
    `encryption  ${r.keyset ? `keyset.fbatk present (not read); ${r.sealedEvents} sealed events` : r.sealedEvents > 0 ? `${r.sealedEvents} sealed events, no keyset.fbatk` : 'off'}`,
    ...r.warnings.map((w) => `  note: ${w}`),
  ];
  return `${lines.join('\n')}\n`;
}

/** Our store: counts from the store, per-segment facts (seals, damaged frames) read from the segment files themselves. */
async function describeNative(dir: string, store: Store, access: StoreAccess, encryption: Awaited<ReturnType<typeof encryptionOf>>): Promise<InspectReport> {
  const stats = store.stats();
  const lastSequence = store.lastSequence;

  const segments: SegmentInfo[] = [];
  const entities = new Map<string, number>();
  const kinds = new Map<number, number>();
  const seen = new Set<string>();
  const versions = new Set<number>();
  let signedGroups = 0;
  for (const seg of await listSegmentFiles(dir)) {
    const scan = await scanSegmentFile(seg.path);
    let events = 0;
    let seals = 0;
    let damaged = 0;
    for (const f of scan.frames) {
      if (!f.ok) {
        damaged++;
        continue;
      }
      if (f.type === 1) seals++;
      // Count committed events once: frames past the last committed sequence are an interrupted append.
      if (f.type !== 0 || f.eventId === undefined || seen.has(f.eventId) || (f.globalSequence ?? Infinity) > Number(lastSequence)) continue;
      seen.add(f.eventId);
      events++;
      if (f.entity !== undefined) entities.set(f.entity, (entities.get(f.entity) ?? 0) + 1);
      if (f.kind !== undefined) kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
    }
    signedGroups += seals;
    if (scan.header.ok) versions.add(scan.header.version);
    segments.push({
      file: seg.name,
      bytes: seg.bytes,
      formatVersion: scan.header.ok ? scan.header.version : null,
      createdAt: scan.header.ok ? new Date(scan.header.createdAt).toISOString() : null,
      events,
      seals,
      damagedFrames: damaged,
    });
  }

  const peek = encryption === undefined ? undefined : await peekKeyset(access.keyset ?? join(dir, KEYSET_FILE_NAME));
  return {
    command: 'inspect',
    dir,
    format: 'native',
    formatVersions: [...versions].sort((a, b) => a - b),
    libraryFormatVersion: FORMAT_VERSION,
    events: stats.events.toString(),
    lastSequence: lastSequence.toString(),
    bytes: stats.bytes.toString(),
    segments,
    entities: entities.size,
    topEntities: topEntities(entities),
    kinds: kindTallies(kinds),
    signedGroups,
    encryption:
      encryption === undefined ? null : { granularity: encryption.granularity ?? 'entity', liveKeys: stats.keys ?? 0, destroyedKeys: peek?.destroyed ?? null },
  };
}

/** A Rust directory through its reader: the EventLog's events (query), plus each segment's footer and trust. */
async function describeRust(dir: string, rust: RustStore): Promise<RustInspectReport> {
  const stats = rust.stats();
  const perFile = new Map<string, number>();
  const entities = new Map<string, number>();
  const kinds = new Map<number, number>();
  let sealed = 0;
  let last: bigint | undefined;
  // query() re-reads each frame (CRC-checked); the header alone would do, but it is the one listing the reader offers.
  for await (const e of rust.query()) {
    const info = rust.rustEvent(e.header.eventId);
    perFile.set(info.location.file, (perFile.get(info.location.file) ?? 0) + 1);
    entities.set(e.coordinate.entity, (entities.get(e.coordinate.entity) ?? 0) + 1);
    kinds.set(info.kindRaw, (kinds.get(info.kindRaw) ?? 0) + 1);
    if (e.header.encrypted) sealed++;
    last = e.header.globalSequence;
  }
  const segments = rust.segments().map(
    (s): RustSegmentReport => ({
      file: basename(s.file),
      bytes: s.bytes,
      formatVersion: s.header?.version ?? null,
      createdAt: s.header === undefined ? null : isoFromNs(s.header.createdNs),
      events: perFile.get(s.file) ?? 0,
      frames: s.frames,
      footer: s.footer,
      footerTrusted: s.footerTrusted,
      sequenceSource: s.sequenceSource,
      tornTail: s.tornTail === undefined ? null : { offset: s.tornTail.offset, bytes: s.tornTail.bytes, reason: s.tornTail.reason },
      truncationEvidence: s.truncationEvidence === undefined ? null : { ...s.truncationEvidence },
    }),
  );
  const keyset = (await stat(join(dir, 'keyset.fbatk')).catch(() => undefined)) !== undefined;
  return {
    command: 'inspect',
    dir,
    format: 'rust-batpak',
    formatVersions: [...new Set(segments.flatMap((s) => (s.formatVersion === null ? [] : [s.formatVersion])))].sort((a, b) => a - b),
    events: stats.events.toString(),
    userEvents: stats.userEvents.toString(),
    systemEvents: stats.systemEvents.toString(),
    sealedEvents: sealed,
    lastSequence: last === undefined ? null : last.toString(),
    bytes: stats.bytes.toString(),
    segments,
    entities: entities.size,
    topEntities: topEntities(entities),
    kinds: kindTallies(kinds),
    keyset,
    warnings: [...rust.warnings],
  };
}

async function run({ args, io, json }: CommandContext): Promise<ExitCode> {
  const dir = dirArgument(args, 'inspect');
  const access = storeAccess(args);
  await requireStoreDir(dir);
  const format = await formatOf(dir);
  if (format === 'rust-batpak') refuseNativeOnlyFlags(args, dir);
  const encryption = format === 'native' ? await encryptionOf(dir, access) : undefined;
  // Opening read-only proves the store is readable (ours loads the keyset, which fails closed if corrupt).
  const opened = await openLog(dir, format, { access });
  let text: string;
  try {
    if (opened.format === 'native') {
      const report = await describeNative(dir, opened.log, access, encryption);
      text = json ? `${toJson(report)}\n` : humanNative(report);
    } else {
      const report = await describeRust(dir, opened.log);
      text = json ? `${toJson(report)}\n` : humanRust(report);
    }
  } finally {
    await opened.log.close();
  }
  await writeAll(io.stdout, text);
  return EXIT.OK;
}

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'Describe a store: segments, sizes, events, entities, kinds, keys (counted only), format version, last sequence.',
  usage: 'batpak inspect <dir> [--json] [--encrypted] [--granularity <g>]',
  description: [
    'Read-only and lock-free. An encrypted store is detected by its keyset.bpk (or pass --encrypted, and',
    '--keyset for a keyset kept elsewhere); keys are counted, never shown.',
    'A Rust batpak data directory ({id:06}.fbat segments) is described read-only, without its lock: each',
    "segment's footer kind (none, SDX2, SDX3) and whether it is trusted, torn tails, where sequences came",
    'from (Rust sequences are 0-based), user and Rust-written events, and what the reader warned about.',
  ].join('\n'),
  examples: ['batpak inspect ./data', 'batpak inspect ./data --json | jq .kinds', 'batpak inspect /var/lib/rust-service/data'],
  flags: [JSON_FLAG, ...ENCRYPTION_FLAGS],
  run,
};
