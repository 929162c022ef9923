// `batpak inspect <dir>` on a Rust batpak directory: segments (with their footer kind and trust), sizes, events, entities, kinds, last sequence, warnings.
// Invariant (INV-RUST-READ-VERIFY): read through core's Rust reader only — no lock, no write; keyset.fbatk is noted, never read.

import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { openRustStore, type RustSegmentInfo } from '@batpak/core';
import { formatBytes } from '../bytes.js';
import { entitiesLine, kindsLine, kindTallies, topEntities, type EntityTally, type KindTally } from '../tallies.js';

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

export async function inspectRustDir(dir: string): Promise<RustInspectReport> {
  const rust = await openRustStore(dir);
  try {
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
  } finally {
    await rust.close();
  }
}

/** The text form: the same layout as for our stores, plus what only a Rust segment has (footer, trust, torn tail). */
export function humanRustInspect(r: RustInspectReport): string {
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
