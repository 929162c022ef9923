// Constants of Rust batpak's on-disk format (RUST-INTEROP.md § On-disk format) and the one corruption error.
// Invariant: every refusal of Rust data is ERR_CORRUPT_SEGMENT naming the file and the byte offset.

import { BatpakError } from '../errors.js';

/** "FBAT": first four bytes of every Rust segment file. */
export const RUST_SEGMENT_MAGIC = Uint8Array.of(0x46, 0x42, 0x41, 0x54);
/** Rust rejects a segment header longer than this before allocating it. */
export const RUST_MAX_SEGMENT_HEADER = 64 * 1024;
/** `u32be len | u32be crc32`: a Rust frame has no magic. */
export const RUST_FRAME_HEADER_BYTES = 8;
/** Rust's MAX_FRAME_PAYLOAD: a larger declared length is corruption (or a torn length). */
export const RUST_MAX_FRAME_BODY = 256 * 1024 * 1024;
/** Rust's MAX_BATCH_RECOVERY_ITEMS: a BEGIN marker declaring more items is corrupt. */
export const RUST_MAX_BATCH_ITEMS = 1_000_000;
export const RUST_SEGMENT_VERSION = 1;

/** Reserved kinds the reader must recognise (raw u16; RUST-INTEROP.md § On-disk format, Reserved kinds). */
export const RustKinds = Object.freeze({
  SYSTEM_INIT: 0x0001,
  SYSTEM_SHUTDOWN: 0x0002,
  SYSTEM_HEARTBEAT: 0x0003,
  SYSTEM_CONFIG_CHANGE: 0x0004,
  SYSTEM_CHECKPOINT: 0x0005,
  SYSTEM_BATCH_BEGIN: 0x0006,
  SYSTEM_BATCH_COMMIT: 0x0007,
  SYSTEM_OPEN_COMPLETED: 0x0008,
  SYSTEM_CLOSE_COMPLETED: 0x0009,
  SYSTEM_DENIAL: 0x000f,
  TOMBSTONE: 0x0ffe,
  DATA: 0x1000,
});

/** Category 0x0 (system) and 0xD (effect) are written only by the store itself. */
export function isRustReservedKind(raw: number): boolean {
  const category = raw >>> 12;
  return category === 0x0 || category === 0xd;
}

const U64_MAX = (1n << 64n) - 1n;

/** `{id:06}.fbat` → id. Rust accepts any base-10 u64 stem; anything else is not a segment. */
export function parseRustSegmentName(name: string): bigint | undefined {
  const m = /^([0-9]+)\.fbat$/.exec(name);
  if (m === null) return undefined;
  const id = BigInt(m[1]!);
  return id <= U64_MAX ? id : undefined;
}

export function rustSegmentName(id: bigint): string {
  return `${id.toString().padStart(6, '0')}.fbat`;
}

/** Marker files whose presence means a Rust compaction is in flight: Rust refuses a read-only open then. */
export const RUST_COMPACTION_MARKERS = ['compaction.pending', 'compaction.pending.json'] as const;

/** Cancelled visibility-fence ranges (`FBATVR`): Rust hides the events they cover. Not read here (see RUST-INTEROP.md). */
export const RUST_VISIBILITY_RANGES = 'visibility_ranges.fbv';

/** The single error shape for damaged Rust data: file, offset and a reason a human can act on. */
export function rustCorrupt(file: string, offset: number, reason: string, extra: { eventId?: string; cause?: unknown } = {}): BatpakError {
  return new BatpakError('ERR_CORRUPT_SEGMENT', `Rust segment ${file} is corrupt at offset ${offset}: ${reason}`, {
    ...(extra.cause === undefined ? {} : { cause: extra.cause }),
    details: { file, offset, reason, ...(extra.eventId === undefined ? {} : { eventId: extra.eventId }) },
  });
}
