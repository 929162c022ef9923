// @batpak/core/format: the on-disk format's constants, codecs and frame walk (FORMAT.md), for tools that read
// store directories (the batpak CLI among them). Invariant: everything here is pure; no Fs, no store state.

import { KEYSET_MAGIC as STORE_KEYSET_MAGIC } from '../keyset/file.js';
import { ZERO_HASH as CHAIN_ZERO_HASH } from '../chain/links.js';

export {
  FORMAT_VERSION,
  MIN_READ_FORMAT_VERSION,
  SEGMENT_MAGIC,
  FRAME_MAGIC,
  SEGMENT_HEADER_BYTES,
  SegmentFlags,
  FRAME_HEADER_BYTES,
  MAX_FRAME_BODY_BYTES,
  SEGMENT_SUFFIX,
  LOCK_FILE,
  MAX_SEGMENT_ID,
  segmentFileName,
  parseSegmentFileName,
  isStraySegmentName,
  encodeSegmentHeader,
  decodeSegmentHeader,
  readFrameHeader,
  frameHeaderDamage,
  type SegmentHeader,
  type SegmentHeaderResult,
  type FrameHeaderView,
  type FrameDamage,
} from '../segment/format.js';

// Frames: the body codec and the one walk every reader uses.
export {
  FrameType,
  EventFlags,
  FrameDecodeError,
  encodeEventFrame,
  encodeSealFrame,
  decodeFrameBody,
  isValidFrameAt,
  type EventFrame,
  type SealFrame,
  type Frame,
} from '../segment/frame.js';
export type { BatchRef, EncryptionRef, FrameHeaderFields, EventHeaderCore, EventHeaderOptionals } from '../segment/header-fields.js';
export { frameAt, walkFrames, nextValidFrame, isTornTail, isZeroFrom, type FrameStep, type Resync } from '../segment/frames.js';

// The other files of a data directory (FORMAT.md § Data directory).
export { KEYSET_FILE } from '../keyset/keystore.js';
export { KEYSET_VERSION, KEYSET_HEADER_BYTES } from '../keyset/file.js';
/** "BPKEYS", the keyset file's first six bytes: a copy, so a tool cannot change the bytes the store writes. */
export const KEYSET_MAGIC: Uint8Array = STORE_KEYSET_MAGIC.slice();
export { GRANULARITY_CODE, GRANULARITY_OF_CODE } from '../keyset/scope.js';
export { CHECKPOINT_FILE } from '../event-index/checkpoint.js';
export { COMPACTION_LOG_FILE } from '../compaction/log.js';

// The link rule's start (FORMAT.md § Chain): an entity's first event carries this prevHash.
/** 32 zero bytes, the prevHash of an entity's first event: a copy, so a tool cannot change the store's. */
export const ZERO_HASH: Uint8Array = CHAIN_ZERO_HASH.slice();
export { MARKER_FILE as COMPACTION_PENDING_FILE } from '../compaction/marker.js';
