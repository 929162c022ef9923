// @batpak/core/format: the on-disk format's constants and pure codecs, for tools that read store
// directories (the batpak CLI among them). Invariant: everything here is pure; no Fs, no store state.

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
  type SegmentHeader,
  type SegmentHeaderResult,
} from '../segment/format.js';
