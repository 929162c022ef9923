// @batpak/core/rust: interop with Rust batpak data directories — a read-only reader, the Rust receipt
// cover and verdicts, and import into a native store. RUST-INTEROP.md documents the mapping and divergences.

export { openRustStore, RustStore } from '../rust/store.js';
export type { OpenRustStoreOptions, RustEventInfo, RustStoreStats, RustVerifyChainOptions } from '../rust/store.js';
export type { RustSegmentInfo, RustFooterKind } from '../rust/scan.js';
export type { RustTornTail, RustTruncationEvidence } from '../rust/recovery.js';
export type { RustSidecarPolicy } from '../rust/sidecars.js';
export type { RustLinkRule } from '../rust/chain.js';
export type { RustEventHeader, RustPosition, RustPayloadEncryption } from '../rust/header.js';
export type { RustSegmentHeader } from '../rust/segment.js';
// The frame head and body limit, for tools that look inside a Rust segment themselves (the batpak CLI's
// doctor names the event of a damaged frame); the reader above is the one that decides what is corrupt.
export { RUST_FRAME_HEADER_BYTES, RUST_MAX_FRAME_BODY } from '../rust/format.js';
export {
  RUST_COVER_VERSION,
  rustReceiptCover,
  rustReceiptDigest,
  rustKeyId,
  signRustReceipt,
  verifyRustReceiptClaim,
  type RustReceiptFields,
  type RustReceiptClaim,
} from '../rust/receipt.js';
export {
  planRustImport,
  importRustStore,
  rustImportReportToJSON,
  type RustImportEvent,
  type RustImportTarget,
  type RustImportReport,
  type RustImportPlan,
  type RustImportEntityHead,
  type RustImportOptions,
  type ImportRustStoreOptions,
} from '../rust/import.js';
