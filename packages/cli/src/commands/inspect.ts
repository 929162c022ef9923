// `batpak inspect <dir>`: what is in a store — segments, sizes, events, entities, kinds, keys (counted, never shown), format version, last sequence.
// A Rust batpak directory is recognised by its segment names and described through core's Rust reader (inspect-rust.ts).
// Invariant: read-only and lock-free; no key byte is ever read into the report (the keyset is only counted).

import { join } from 'node:path';
import { FORMAT_VERSION } from '@batpak/core';
import { dirArgument } from '../args.js';
import { formatBytes } from '../bytes.js';
import { entitiesLine, kindsLine, kindTallies, topEntities, type EntityTally, type KindTally } from '../tallies.js';
import { JSON_FLAG, toJson, writeAll, type Command, type CommandContext } from '../command.js';
import { EXIT, type ExitCode } from '../exit.js';
import { KEYSET_FILE_NAME, peekKeyset } from '../keyset-file.js';
import { formatOf, refuseNativeOnlyFlags } from '../rust-dir.js';
import { listSegmentFiles, scanSegmentFile } from '../segments.js';
import { ENCRYPTION_FLAGS, encryptionOf, openStore, requireStoreDir, storeAccess } from '../store-open.js';
import { humanRustInspect, inspectRustDir } from './inspect-rust.js';

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

function human(r: InspectReport): string {
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

async function run({ args, io, json }: CommandContext): Promise<ExitCode> {
  const dir = dirArgument(args, 'inspect');
  const access = storeAccess(args);
  await requireStoreDir(dir);
  if ((await formatOf(dir)) === 'rust-batpak') {
    refuseNativeOnlyFlags(args, dir);
    const rust = await inspectRustDir(dir);
    await writeAll(io.stdout, json ? `${toJson(rust)}\n` : humanRustInspect(rust));
    return EXIT.OK;
  }
  const encryption = await encryptionOf(dir, access);
  // Opening read-only proves the store is readable (and loads the keyset, which fails closed if corrupt).
  const store = await openStore(dir, { readOnly: true, access });
  let stats;
  let lastSequence: bigint;
  try {
    stats = store.stats();
    lastSequence = store.lastSequence;
  } finally {
    await store.close();
  }

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
  const report: InspectReport = {
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
  await writeAll(io.stdout, json ? `${toJson(report)}\n` : human(report));
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
